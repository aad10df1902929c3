// JSON forms of the simulator's settings, shared by the config file, the /sim/ control surface
// and scenario files. Durations are integer milliseconds in fields named *_ms.
//
//   ASSIGN_OR_RETURN(metasim::SimOptions options, metasim::ParseSimConfig(file_text));
#pragma once

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tools/meta-sim/sim.h"

namespace switchboard::metasim {

// A config file: {"host", "port", "ring_timeout_ms", "numbers": [{phone_number_id,
// display_phone_number, waba_id, access_token, app_secret, callback_url}], "permissions":
// {...}, "default_behaviour": {...}, "webhooks": {...}, ...}. Fields not given keep `base`'s.
absl::StatusOr<SimOptions> ParseSimConfig(absl::string_view text, SimOptions base = {});

// {"name", "on_call": "answer"|"reject"|"no_answer", "ring_after_ms", "answer_after_ms",
//  "hang_up_after_ms" (-1: never), "on_permission_request": "ignore"|"accept_temporary"|
//  "accept_permanent"|"reject", "permission_reply_after_ms"}; absent fields are left as is.
absl::Status ApplyBehaviour(const nlohmann::json& json, UserBehaviour* behaviour);
nlohmann::json BehaviourJson(const UserBehaviour& behaviour);

// {"duplicates", "hold_connect_until_terminate", "batch_size"}.
absl::StatusOr<WebhookFaults> ParseWebhookFaults(const nlohmann::json& json);
// {"action", "http_status", "meta_code", "count", "delay_ms"}.
absl::StatusOr<GraphFault> ParseGraphFault(const nlohmann::json& json);

nlohmann::json StatsJson(const SimStats& stats);

}  // namespace switchboard::metasim

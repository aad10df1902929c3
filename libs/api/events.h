// The header every event of the suite carries (events.v1.EventHeader): tenant, the entity it
// is about (the Kafka key), its per-entity sequence, when it happened and what caused it.
//
//   *changed.mutable_header() = api::Header(call.tenant_id(), call.call_id(), call.sequence(),
//                                           cause.at, cause.correlation_id, cause.causation_id);
#pragma once

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "switchboard/events/v1/envelope.pb.h"

namespace switchboard::api {

events::v1::EventHeader Header(absl::string_view tenant, absl::string_view entity, int64_t sequence,
                               absl::Time occurred, absl::string_view correlation_id = "",
                               absl::string_view causation_id = "");

}  // namespace switchboard::api

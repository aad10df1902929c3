// The eligibility service's Redis keys. Every key carries the tenant; the keys of one business
// number share a hash tag ({tenant|number}) so its Lua scripts touch a single slot. Ids are
// validated before they become part of a key (no ':', '{', '}' or spaces can get in).
//
//   ASSIGN_OR_RETURN(store::NumberKeys k, store::NumberKeys::For(tenant, number_id));
//   k.calls   // "sb:elig:{acme|1065...}:calls"
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchboard::eligibility::store {

// [A-Za-z0-9._-]{1,64}: tenant ids, phone number ids, wa_ids, user ids, agent ids, request ids.
bool IsSafeId(absl::string_view id);

struct NumberKeys {
  std::string calls;   // ZSET reservation id -> start (ms): the sliding rate windows
  std::string missed;  // ZSET call id -> time (ms): missed calls, for suspensions
  std::string number;  // HASH quality
  std::string prefix;  // for contact and request keys

  static absl::StatusOr<NumberKeys> For(absl::string_view tenant, absl::string_view number_id);
  std::string Contact(absl::string_view contact_key) const;  // HASH of ContactFacts
  std::string Request(absl::string_view request_id) const;   // STRING: a granted reservation
  // ZSET call id -> time (ms): connected outbound calls to the contact, for Meta's daily cap.
  std::string Connected(absl::string_view contact_key) const;
};

std::string UsageKey(absl::string_view tenant);                              // HASH
std::string AgentKey(absl::string_view tenant, absl::string_view agent_id);  // HASH state

}  // namespace switchboard::eligibility::store

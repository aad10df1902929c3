// The key a contact is stored and looked up under: wa_id, else user_id (Meta may omit the phone
// number of a user with a username, so a contact is never keyed on the phone alone).
//
//   std::string key = api::ContactKey(call.contact());
#pragma once

#include <string>

#include "switchboard/events/v1/envelope.pb.h"

namespace switchboard::api {

inline std::string ContactKey(const events::v1::ContactRef& c) {
  return c.wa_id().empty() ? c.user_id() : c.wa_id();
}

}  // namespace switchboard::api

// Who is on the other end of a call: validating the contact a request names, and the region of
// their number (billing rates and analytics group by it, so it is derived once, here).
//
//   RETURN_IF_ERROR(ValidateContact(req.contact(), "contact"));
//   call.set_contact_region_code(RegionOf(call.contact().phone_e164()));   // "BR"
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "switchboard/events/v1/envelope.pb.h"

namespace switchboard::calls {

// ISO 3166-1 alpha-2 region of an E.164 number ("+5511966881746" -> "BR"), or "" when the
// number is empty or not a valid number.
std::string RegionOf(absl::string_view phone_e164);

// A contact a request names: wa_id or user_id (1-64 of [A-Za-z0-9._-]); phone_e164, when
// given, a valid E.164 number; display_name at most 256 bytes. INVALID_ARGUMENT with reason
// MISSING_CONTACT, INVALID_CONTACT or INVALID_PHONE_NUMBER and metadata "field" (`field` is the
// request's field name, e.g. "contact").
absl::Status ValidateContact(const events::v1::ContactRef& contact, absl::string_view field);

// 1-64 characters of [A-Za-z0-9._-]: the ids this API accepts from callers (request ids, agent
// ids, contact ids, Meta's numeric ids).
bool IsSafeId(absl::string_view id);

}  // namespace switchboard::calls

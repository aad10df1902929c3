// What makes a business number's registration and calling settings acceptable, before anything
// is stored or sent to Meta. Pure: no I/O.
//
//   RETURN_IF_ERROR(rules::ValidateRegistration(req));
//   RETURN_IF_ERROR(rules::ValidateCallingSettings(merged));
//   graph.UpdateSettings(id, rules::ToGraph(merged));
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "libs/whatsapp/graph_client.h"
#include "switchboard/webhooks/v1/webhooks_service.pb.h"

namespace switchboard::webhooks::rules {

// Ids Meta gives (phone_number_id, waba_id, app id): digits, 1-32 characters.
bool IsMetaId(absl::string_view id);
// The digits of a display number ("+1 631-555-3601" -> "16315553601").
std::string Digits(absl::string_view text);

// INVALID_PHONE_NUMBER_ID / INVALID_WABA_ID unless Meta's numeric ids (empty included: a field
// with a format of its own is INVALID_<FIELD>), INVALID_DISPLAY_PHONE_NUMBER (6-15 digits, at
// most 32 characters), INVALID_ID for app_id, INVALID_REQUEST_ID.
absl::Status ValidateRegistration(const v1::RegisterPhoneNumberRequest& req);
// A phone_number_id a request names: INVALID_PHONE_NUMBER_ID unless Meta's numeric id.
absl::Status ValidatePhoneNumberId(absl::string_view id, absl::string_view field);

// INVALID_ARGUMENT unless Meta would take them: INVALID_ENUM for a day_of_week the API does not
// define, MISSING_DAY_OF_WEEK, and INVALID_CALL_HOURS for a zone that is not IANA (when
// enabled), times not HHMM with open < close, more than 2 or overlapping ranges per weekday,
// more than 20 holidays or a date that is not YYYY-MM-DD.
absl::Status ValidateCallingSettings(const v1::CallingSettings& settings);

// The settings as the Graph API client sends them. `settings` passed ValidateCallingSettings.
whatsapp::CallingSettings ToGraph(const v1::CallingSettings& settings);

}  // namespace switchboard::webhooks::rules

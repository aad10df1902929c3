// The checks every handler makes on what a caller sent, with the reasons of reasons.h: ids,
// text, contacts and phone numbers, enums, times, roles. Each returns INVALID_ARGUMENT (or
// PERMISSION_DENIED) with the field's name in the metadata, and never a partial answer: a
// handler validates everything before it touches a store or Meta.
//
//   RETURN_IF_ERROR(api::RequireId(req.call_id(), "call_id"));
//   RETURN_IF_ERROR(api::Text(req.text(), "text", {.max_chars = 4000, .required = true}));
//   RETURN_IF_ERROR(api::Contact(req.contact(), "contact"));
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "libs/api/contact.h"
#include "libs/auth/token.h"
#include "switchboard/events/v1/envelope.pb.h"

namespace switchboard::api {

// ---- ids --------------------------------------------------------------------------------------

// 1-64 characters of [A-Za-z0-9._-]: every id the API takes from callers (request ids, agent
// ids, contact ids, Meta's numeric ids, ours).
bool IsId(absl::string_view id);

// MISSING_<FIELD> when empty, else INVALID_ID (INVALID_REQUEST_ID for a request_id) unless IsId.
absl::Status RequireId(absl::string_view value, absl::string_view field);
// Empty is fine; otherwise as RequireId.
absl::Status OptionalId(absl::string_view value, absl::string_view field);

// The reason for a required field left empty: "call_id" -> "MISSING_CALL_ID",
// "contact.wa_id" -> "MISSING_WA_ID".
std::string MissingReason(absl::string_view field);
absl::Status Missing(absl::string_view field, absl::string_view message = "");

// ---- text -------------------------------------------------------------------------------------

// Well-formed UTF-8 (no overlong forms, no surrogates); with `allow_controls` false, also no C0/C1
// control character or DEL (tab and newline count as controls too).
bool IsValidUtf8(absl::string_view text, bool allow_controls = true);
// Characters (code points), not bytes: the limit a user sees. Counts lead bytes only, so it is
// meant for text IsValidUtf8 accepted.
int64_t Utf8Chars(absl::string_view text);
// The longest prefix of `text` with at most `max_chars` characters, cut at a character boundary
// (never inside a multi-byte sequence). `text` must be valid UTF-8.
std::string CutUtf8(absl::string_view text, int64_t max_chars);

struct TextRule {
  int64_t max_chars = 1000;
  bool required = false;
  bool single_line = false;  // refuse control characters, tab and newline included
};
// MISSING_<FIELD> (required and empty), INVALID_TEXT (not UTF-8, or a control character in a
// single-line field), TEXT_TOO_LONG (metadata max_chars).
absl::Status Text(absl::string_view value, absl::string_view field, TextRule rule);

// ---- contacts and numbers ---------------------------------------------------------------------

// A contact a request names: wa_id or user_id (each IsId); phone_e164, when given, a valid
// E.164 number; display_name at most 256 characters of UTF-8. MISSING_CONTACT, INVALID_CONTACT,
// INVALID_PHONE_NUMBER, TEXT_TOO_LONG; metadata field ("contact", "contact.phone_e164", ...).
absl::Status Contact(const events::v1::ContactRef& contact, absl::string_view field);

// A valid number in E.164 ("+5511966881746"), checked with libphonenumber.
bool IsE164(absl::string_view phone);
absl::Status PhoneE164(absl::string_view phone, absl::string_view field, bool required = false);
// ISO 3166-1 alpha-2 region of an E.164 number ("+5511966881746" -> "BR"), or "" when the number
// is empty or invalid.
std::string RegionOf(absl::string_view phone_e164);

// ---- enums ------------------------------------------------------------------------------------

// MISSING_<FIELD> for the zero value (every enum's UNSPECIFIED), INVALID_ENUM for a number the
// enum does not define (protobuf keeps unknown numbers of open enums as they are).
absl::Status RequireEnum(int value, const google::protobuf::EnumDescriptor* type,
                         absl::string_view field);
// The same, where UNSPECIFIED means "the default" and only unknown numbers are refused.
absl::Status OptionalEnum(int value, const google::protobuf::EnumDescriptor* type,
                          absl::string_view field);

// ---- times ------------------------------------------------------------------------------------

// What a timestamp may hold (google.protobuf.Timestamp's own range; absl::Time beyond it would
// overflow the conversions). INVALID_TIME outside it or with nanos outside 0..999 999 999.
absl::StatusOr<absl::Time> Time(const google::protobuf::Timestamp& t, absl::string_view field);
// A time reported as when something happened: not before 2015, not more than `skew` after
// `now`. INVALID_TIME otherwise.
absl::StatusOr<absl::Time> PastTime(const google::protobuf::Timestamp& t, absl::Time now,
                                    absl::string_view field,
                                    absl::Duration skew = absl::Minutes(5));
// An IANA zone name ("Europe/Berlin"). INVALID_TIME_ZONE otherwise.
absl::StatusOr<absl::TimeZone> TimeZone(absl::string_view name, absl::string_view field);

// ---- settings ----------------------------------------------------------------------------------

// SETTING_OUT_OF_RANGE "<field> must be <bounds>" (field: its full name, "settings.x").
absl::Status SettingOutOfRange(absl::string_view field, absl::string_view bounds);
// A duration setting from `min` to `max`, both included, in whole milliseconds;
// SETTING_OUT_OF_RANGE otherwise.
absl::StatusOr<absl::Duration> DurationSetting(const google::protobuf::Duration& d,
                                               absl::string_view field, absl::Duration min,
                                               absl::Duration max);

// ---- who may -----------------------------------------------------------------------------------

// PERMISSION_DENIED <ROLE>_ROLE_REQUIRED unless the caller holds `role`.
absl::Status RequireRole(const auth::Principal& caller, absl::string_view role,
                         absl::string_view action = "");
// The agent a command acts for: the caller, unless `agent_id` names another agent, which only
// callers holding one of `roles` may do (the gateway acting for a signed-in agent, a
// supervisor). INVALID_ID for a malformed id, PERMISSION_DENIED NOT_CALLER_AGENT otherwise.
absl::StatusOr<std::string> ActingAgent(const auth::Principal& caller, absl::string_view agent_id,
                                        absl::string_view field,
                                        std::initializer_list<absl::string_view> roles);

// ---- not found --------------------------------------------------------------------------------

// NOT_FOUND <ENTITY>_NOT_FOUND: "call" -> CALL_NOT_FOUND, "phone number" ->
// PHONE_NUMBER_NOT_FOUND.
absl::Status NotFound(absl::string_view entity);

}  // namespace switchboard::api

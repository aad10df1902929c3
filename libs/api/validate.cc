#include "libs/api/validate.h"

#include <phonenumbers/phonenumberutil.h>
#include <unicode/utf8.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "libs/api/reasons.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"

namespace switchboard::api {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

absl::Status Invalid(absl::string_view reason, absl::string_view message, absl::string_view field,
                     core::ErrorMetadata md = {}) {
  md["field"] = std::string(field);
  return core::InvalidArgument(reason, message, md);
}

std::optional<PhoneNumber> ParseE164(absl::string_view phone) {
  if (!absl::StartsWith(phone, "+") || phone.size() > 32) return std::nullopt;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber parsed;
  if (util->Parse(std::string(phone), "ZZ", &parsed) != PhoneNumberUtil::NO_PARSING_ERROR ||
      !util->IsValidNumber(parsed)) {
    return std::nullopt;
  }
  return parsed;
}

// google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;
const absl::Time kEarliestBelievable =
    absl::FromCivil(absl::CivilDay(2015, 1, 1), absl::UTCTimeZone());

}  // namespace

// ---- ids --------------------------------------------------------------------------------------

bool IsId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok =
        absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string MissingReason(absl::string_view field) {
  size_t dot = field.rfind('.');
  absl::string_view leaf = dot == absl::string_view::npos ? field : field.substr(dot + 1);
  // "weekly_operating_hours[0].day_of_week" -> DAY_OF_WEEK; "items[]" -> ITEMS
  if (size_t bracket = leaf.find('['); bracket != absl::string_view::npos) {
    leaf = leaf.substr(0, bracket);
  }
  return absl::StrCat(kMissingPrefix, absl::AsciiStrToUpper(leaf));
}

absl::Status Missing(absl::string_view field, absl::string_view message) {
  return Invalid(MissingReason(field),
                 message.empty() ? absl::StrCat(field, " is required") : message, field);
}

absl::Status RequireId(absl::string_view value, absl::string_view field) {
  if (value.empty()) return Missing(field);
  if (IsId(value)) return absl::OkStatus();
  const bool request_id = field == "request_id";
  return Invalid(request_id ? kInvalidRequestId : kInvalidId,
                 absl::StrCat(field, " must be 1-64 characters of [A-Za-z0-9._-]"), field);
}

absl::Status OptionalId(absl::string_view value, absl::string_view field) {
  return value.empty() ? absl::OkStatus() : RequireId(value, field);
}

// ---- text -------------------------------------------------------------------------------------

bool IsValidUtf8(absl::string_view text, bool allow_controls) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  if (text.size() > static_cast<size_t>(INT32_MAX)) return false;
  const auto length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return false;
    if (!allow_controls && (c < 0x20 || (c >= 0x7F && c <= 0x9F))) return false;
  }
  return true;
}

int64_t Utf8Chars(absl::string_view text) {
  int64_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string CutUtf8(absl::string_view text, int64_t max_chars) {
  if (max_chars <= 0) return "";
  int64_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return std::string(text.substr(0, i));
      ++chars;
    }
  }
  return std::string(text);
}

absl::Status Text(absl::string_view value, absl::string_view field, TextRule rule) {
  if (value.empty()) return rule.required ? Missing(field) : absl::OkStatus();
  if (!IsValidUtf8(value, /*allow_controls=*/!rule.single_line)) {
    return Invalid(kInvalidText,
                   rule.single_line ? absl::StrCat(field, " must be UTF-8 text on one line")
                                    : absl::StrCat(field, " must be UTF-8 text"),
                   field);
  }
  if (Utf8Chars(value) > rule.max_chars) {
    return Invalid(kTextTooLong,
                   absl::StrCat(field, " is longer than ", rule.max_chars, " characters"), field,
                   {{"max_chars", absl::StrCat(rule.max_chars)}});
  }
  return absl::OkStatus();
}

// ---- contacts and numbers ---------------------------------------------------------------------

absl::Status Contact(const events::v1::ContactRef& contact, absl::string_view field) {
  if (contact.wa_id().empty() && contact.user_id().empty()) {
    return Invalid(MissingReason(field),
                   absl::StrCat(field, ".wa_id or ", field, ".user_id is required"), field);
  }
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"wa_id", &contact.wa_id()},
        {"user_id", &contact.user_id()}}) {
    if (!value->empty() && !IsId(*value)) {
      return Invalid(kInvalidContact, "contact ids are 1-64 characters of [A-Za-z0-9._-]",
                     absl::StrCat(field, ".", name));
    }
  }
  RETURN_IF_ERROR(Text(contact.display_name(), absl::StrCat(field, ".display_name"),
                       {.max_chars = 256, .single_line = true}));
  return PhoneE164(contact.phone_e164(), absl::StrCat(field, ".phone_e164"));
}

bool IsE164(absl::string_view phone) { return ParseE164(phone).has_value(); }

absl::Status PhoneE164(absl::string_view phone, absl::string_view field, bool required) {
  if (phone.empty()) return required ? Missing(field) : absl::OkStatus();
  if (IsE164(phone)) return absl::OkStatus();
  core::ErrorMetadata md;
  if (IsValidUtf8(phone, false) && phone.size() <= 32) md["phone_e164"] = std::string(phone);
  return Invalid(kInvalidPhoneNumber, absl::StrCat(field, " is not a valid E.164 number"), field,
                 md);
}

std::string RegionOf(absl::string_view phone_e164) {
  std::optional<PhoneNumber> parsed = ParseE164(phone_e164);
  if (!parsed.has_value()) return "";
  std::string region;
  PhoneNumberUtil::GetInstance()->GetRegionCodeForNumber(*parsed, &region);
  return region == "ZZ" ? "" : region;
}

// ---- enums ------------------------------------------------------------------------------------

absl::Status OptionalEnum(int value, const google::protobuf::EnumDescriptor* type,
                          absl::string_view field) {
  if (type->FindValueByNumber(value) != nullptr) return absl::OkStatus();
  return Invalid(
      kInvalidEnum,
      absl::StrCat(field, " holds ", value, ", which ", type->name(), " does not define"), field,
      {{"value", absl::StrCat(value)}});
}

absl::Status RequireEnum(int value, const google::protobuf::EnumDescriptor* type,
                         absl::string_view field) {
  if (value == 0) return Missing(field);
  return OptionalEnum(value, type, field);
}

// ---- times ------------------------------------------------------------------------------------

absl::StatusOr<absl::Time> Time(const google::protobuf::Timestamp& t, absl::string_view field) {
  if (t.seconds() < kMinSeconds || t.seconds() > kMaxSeconds || t.nanos() < 0 ||
      t.nanos() > 999999999) {
    return Invalid(kInvalidTime, absl::StrCat(field, " is not a valid time"), field);
  }
  return core::FromProto(t);
}

absl::StatusOr<absl::Time> PastTime(const google::protobuf::Timestamp& t, absl::Time now,
                                    absl::string_view field, absl::Duration skew) {
  ASSIGN_OR_RETURN(absl::Time value, Time(t, field));
  if (value < kEarliestBelievable || value > now + skew) {
    return Invalid(kInvalidTime, absl::StrCat(field, " is not a believable time"), field);
  }
  return value;
}

absl::StatusOr<absl::TimeZone> TimeZone(absl::string_view name, absl::string_view field) {
  absl::TimeZone zone;
  if (name.empty() || name.size() > 64 || !IsValidUtf8(name, false) ||
      !absl::LoadTimeZone(std::string(name), &zone)) {
    return Invalid(kInvalidTimeZone, absl::StrCat(field, " is not an IANA time zone"), field);
  }
  return zone;
}

// ---- settings ----------------------------------------------------------------------------------

absl::Status SettingOutOfRange(absl::string_view field, absl::string_view bounds) {
  return Invalid(kSettingOutOfRange, absl::StrCat(field, " must be ", bounds), field);
}

absl::StatusOr<absl::Duration> DurationSetting(const google::protobuf::Duration& d,
                                               absl::string_view field, absl::Duration min,
                                               absl::Duration max) {
  const absl::Duration v = core::FromProto(d);
  if (v < min || v > max || d.nanos() % 1000000 != 0) {
    return SettingOutOfRange(
        field, absl::StrCat("from ", absl::FormatDuration(min), " to ", absl::FormatDuration(max),
                            ", in whole milliseconds"));
  }
  return v;
}

// ---- who may -----------------------------------------------------------------------------------

absl::Status RequireRole(const auth::Principal& caller, absl::string_view role,
                         absl::string_view action) {
  if (caller.HasRole(role)) return absl::OkStatus();
  return core::Error(absl::StatusCode::kPermissionDenied,
                     absl::StrCat(absl::AsciiStrToUpper(role), kRoleRequiredSuffix),
                     action.empty() ? absl::StrCat("this needs the ", role, " role")
                                    : absl::StrCat(action, " needs the ", role, " role"),
                     {{"role", std::string(role)}});
}

absl::StatusOr<std::string> ActingAgent(const auth::Principal& caller, absl::string_view agent_id,
                                        absl::string_view field,
                                        std::initializer_list<absl::string_view> roles) {
  if (agent_id.empty() || agent_id == caller.subject) {
    RETURN_IF_ERROR(RequireId(caller.subject, field));
    return caller.subject;
  }
  RETURN_IF_ERROR(RequireId(agent_id, field));
  for (absl::string_view role : roles) {
    if (caller.HasRole(role)) return std::string(agent_id);
  }
  return core::Error(absl::StatusCode::kPermissionDenied, kNotCallerAgent,
                     absl::StrCat(field, " must be the caller unless it has the ",
                                  absl::StrJoin(roles, " or "), " role"),
                     {{"field", std::string(field)}});
}

// ---- not found --------------------------------------------------------------------------------

absl::Status NotFound(absl::string_view entity) {
  std::string reason = absl::StrCat(
      absl::AsciiStrToUpper(absl::StrReplaceAll(entity, {{" ", "_"}})), kNotFoundSuffix);
  return core::Error(absl::StatusCode::kNotFound, reason, absl::StrCat(entity, " not found"));
}

}  // namespace switchboard::api

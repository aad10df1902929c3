#include "services/calls/contact.h"

#include <phonenumbers/phonenumberutil.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"

namespace switchboard::calls {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

std::optional<PhoneNumber> ParseE164(absl::string_view phone) {
  if (!absl::StartsWith(phone, "+")) return std::nullopt;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber parsed;
  if (util->Parse(std::string(phone), "ZZ", &parsed) != PhoneNumberUtil::NO_PARSING_ERROR ||
      !util->IsValidNumber(parsed)) {
    return std::nullopt;
  }
  return parsed;
}

}  // namespace

std::string RegionOf(absl::string_view phone_e164) {
  std::optional<PhoneNumber> parsed = ParseE164(phone_e164);
  if (!parsed.has_value()) return "";
  std::string region;
  PhoneNumberUtil::GetInstance()->GetRegionCodeForNumber(*parsed, &region);
  return region == "ZZ" ? "" : region;
}

bool IsSafeId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status ValidateContact(const events::v1::ContactRef& contact, absl::string_view field) {
  std::string key = contact.wa_id().empty() ? contact.user_id() : contact.wa_id();
  if (key.empty()) {
    return core::InvalidArgument("MISSING_CONTACT",
                                 absl::StrCat(field, ".wa_id or ", field, ".user_id is required"),
                                 {{"field", std::string(field)}});
  }
  if (!IsSafeId(contact.wa_id().empty() ? "x" : contact.wa_id()) ||
      !IsSafeId(contact.user_id().empty() ? "x" : contact.user_id())) {
    return core::InvalidArgument("INVALID_CONTACT",
                                 "contact ids are 1-64 characters of [A-Za-z0-9._-]",
                                 {{"field", std::string(field)}});
  }
  if (contact.display_name().size() > 256) {
    return core::InvalidArgument("INVALID_CONTACT", "display_name is longer than 256 bytes",
                                 {{"field", absl::StrCat(field, ".display_name")}});
  }
  if (!contact.phone_e164().empty() && !ParseE164(contact.phone_e164()).has_value()) {
    return core::InvalidArgument(
        "INVALID_PHONE_NUMBER", absl::StrCat(field, ".phone_e164 is not a valid E.164 number"),
        {{"field", absl::StrCat(field, ".phone_e164")}, {"phone_e164", contact.phone_e164()}});
  }
  return absl::OkStatus();
}

}  // namespace switchboard::calls

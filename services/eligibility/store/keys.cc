#include "services/eligibility/store/keys.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"

namespace switchboard::eligibility::store {

bool IsSafeId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<NumberKeys> NumberKeys::For(absl::string_view tenant, absl::string_view number_id) {
  if (!IsSafeId(tenant) || !IsSafeId(number_id)) {
    return core::InvalidArgument("INVALID_ID", "tenant and phone number ids are [A-Za-z0-9._-]",
                                 {{"business_phone_number_id", std::string(number_id)}});
  }
  NumberKeys k;
  k.prefix = absl::StrCat("sb:elig:{", tenant, "|", number_id, "}:");
  k.calls = absl::StrCat(k.prefix, "calls");
  k.missed = absl::StrCat(k.prefix, "missed");
  k.number = absl::StrCat(k.prefix, "number");
  return k;
}

std::string NumberKeys::Contact(absl::string_view contact_key) const {
  return absl::StrCat(prefix, "contact:", contact_key);
}

std::string NumberKeys::Connected(absl::string_view contact_key) const {
  return absl::StrCat(prefix, "connected:", contact_key);
}

std::string NumberKeys::Request(absl::string_view request_id) const {
  return absl::StrCat(prefix, "req:", request_id);
}

std::string UsageKey(absl::string_view tenant) {
  return absl::StrCat("sb:elig:{", tenant, "}:usage");
}

std::string AgentKey(absl::string_view tenant, absl::string_view agent_id) {
  return absl::StrCat("sb:elig:{", tenant, "}:agent:", agent_id);
}

}  // namespace switchboard::eligibility::store

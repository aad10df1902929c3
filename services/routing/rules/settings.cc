#include "services/routing/rules/settings.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"

namespace switchboard::routing::rules {
namespace {

constexpr char kCooldown[] = "agent_cooldown";
constexpr char kPresenceTtl[] = "presence_ttl";
constexpr char kMaxUnanswered[] = "max_unanswered_offers";

// The request's field: "settings.<path>".
std::string Field(absl::string_view path) { return absl::StrCat("settings.", path); }

}  // namespace

Policy Resolve(const TenantSettings& set, const Policy& defaults) {
  return {
      .cooldown = set.cooldown.value_or(defaults.cooldown),
      .presence_ttl = set.presence_ttl.value_or(defaults.presence_ttl),
      .max_unanswered_offers = set.max_unanswered_offers.value_or(defaults.max_unanswered_offers)};
}

v1::RoutingSettings ToProto(const Policy& policy) {
  v1::RoutingSettings out;
  *out.mutable_agent_cooldown() = core::ToProto(policy.cooldown);
  *out.mutable_presence_ttl() = core::ToProto(policy.presence_ttl);
  out.set_max_unanswered_offers(policy.max_unanswered_offers);
  return out;
}

absl::StatusOr<TenantSettings> Update(TenantSettings set,
                                      const v1::UpdateRoutingSettingsRequest& req) {
  const v1::RoutingSettings& given = req.settings();
  std::vector<std::string> paths(req.update_mask().paths().begin(),
                                 req.update_mask().paths().end());
  if (paths.empty()) {
    if (given.has_agent_cooldown()) paths.push_back(kCooldown);
    if (given.has_presence_ttl()) paths.push_back(kPresenceTtl);
    if (given.has_max_unanswered_offers()) paths.push_back(kMaxUnanswered);
  }
  for (const std::string& path : paths) {
    if (path == kCooldown) {
      set.cooldown.reset();
      if (given.has_agent_cooldown()) {
        ASSIGN_OR_RETURN(set.cooldown, api::DurationSetting(given.agent_cooldown(), Field(path),
                                                            absl::ZeroDuration(), kMaxCooldown));
      }
    } else if (path == kPresenceTtl) {
      set.presence_ttl.reset();
      if (given.has_presence_ttl()) {
        ASSIGN_OR_RETURN(set.presence_ttl, api::DurationSetting(given.presence_ttl(), Field(path),
                                                                kMinPresenceTtl, kMaxPresenceTtl));
      }
    } else if (path == kMaxUnanswered) {
      set.max_unanswered_offers.reset();
      if (given.has_max_unanswered_offers()) {
        const int n = given.max_unanswered_offers();
        if (n < 0 || n > kMaxUnansweredOffers) {
          return api::SettingOutOfRange(Field(path),
                                        absl::StrCat("from 0 (never) to ", kMaxUnansweredOffers));
        }
        set.max_unanswered_offers = n;
      }
    } else {
      return core::InvalidArgument(api::kInvalidUpdateMask,
                                   absl::StrCat("unknown update_mask path: ", path),
                                   {{"path", path}});
    }
  }
  return set;
}

}  // namespace switchboard::routing::rules

// A tenant's routing settings: what the tenant set, each field optional, and the policy the
// rules use, the process's defaults (its flags) filling in what the tenant did not set.
//
//   rules::TenantSettings set = ...;                         // from the store
//   rules::Policy policy = rules::Resolve(set, defaults);    // what availability.h uses
//   ASSIGN_OR_RETURN(set, rules::Update(set, req));          // UpdateRoutingSettings
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/routing/rules/availability.h"
#include "switchboard/routing/v1/routing_service.pb.h"

namespace switchboard::routing::rules {

// What a tenant set; nullopt takes the default.
struct TenantSettings {
  std::optional<absl::Duration> cooldown;
  std::optional<absl::Duration> presence_ttl;
  std::optional<int> max_unanswered_offers;
  bool operator==(const TenantSettings&) const = default;
};

// The bounds a tenant may set (the process's flags are not bound by them).
inline constexpr absl::Duration kMaxCooldown = absl::Minutes(10);
// Clients send a heartbeat every 30 s: below two of them one late heartbeat takes an agent
// offline.
inline constexpr absl::Duration kMinPresenceTtl = absl::Minutes(1);
inline constexpr absl::Duration kMaxPresenceTtl = absl::Hours(24);
inline constexpr int kMaxUnansweredOffers = 20;

// The policy for a tenant that set `set`.
Policy Resolve(const TenantSettings& set, const Policy& defaults);

// The API's view of `policy` (every field filled in).
v1::RoutingSettings ToProto(const Policy& policy);

// `set` changed as UpdateRoutingSettings asks: the fields named in the update mask (unset ones
// back to the default), or the fields that are set when the mask is empty. INVALID_ARGUMENT
// INVALID_UPDATE_MASK or SETTING_OUT_OF_RANGE (metadata "field"); nothing changes on error.
absl::StatusOr<TenantSettings> Update(TenantSettings set,
                                      const v1::UpdateRoutingSettingsRequest& req);

}  // namespace switchboard::routing::rules

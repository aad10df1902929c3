// Rate plans: the defaults (DESIGN §4: $0.005 per minute, whole minutes, UTC months, warning at
// 80 %, no limit), what a plan may say, and UpdateRatePlan's field mask. A tenant's stored plan
// is sparse (only what it set); Effective() fills in the rest.
//
//   v1::RatePlan plan = rules::Effective(stored);
//   ASSIGN_OR_RETURN(v1::RatePlan next, rules::Update(stored, req));   // validated
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "switchboard/billing/v1/billing_service.pb.h"

namespace switchboard::billing::rules {

inline constexpr int64_t kDefaultPriceMicros = 5'000;  // $0.005 per minute
inline constexpr char kDefaultCurrency[] = "USD";
inline constexpr absl::Duration kDefaultIncrement = absl::Seconds(60);
inline constexpr int kDefaultWarningPercent = 80;
// Bounds a plan must keep.
inline constexpr absl::Duration kMinIncrement = absl::Seconds(1);
inline constexpr absl::Duration kMaxIncrement = absl::Seconds(3600);
inline constexpr int64_t kMaxPriceMicros = 1'000'000'000;   // 1 000 a minute
inline constexpr int64_t kMaxMinutesLimit = 1'000'000'000;  // about 1 900 years of talk
inline constexpr int kMaxCountryRates = 500;
inline constexpr int kMaxTiers = 20;

// The plan with every default filled in.
v1::RatePlan Effective(v1::RatePlan stored);

// Checks an effective plan. INVALID_ARGUMENT, metadata "field", with reason:
// INVALID_CURRENCY (not an ISO 4217 code in use), CURRENCY_MISMATCH (an override or tier in
// another currency than the plan's), INVALID_PRICE (negative, or above 1 000 a minute),
// INVALID_BILLING_INCREMENT (not whole seconds from 1 s to 3 600 s), INVALID_COUNTRY_RATE (no
// or both of region and prefix, an unknown region, a prefix that is not 1-15 digits),
// OVERLAPPING_COUNTRY_RATES (two rates for one region or one prefix), INVALID_VOLUME_TIERS (not
// ascending from distinct minutes), INVALID_MINUTES_LIMIT, INVALID_WARNING_PERCENT (1-99),
// INVALID_TIME_ZONE.
absl::Status Validate(const v1::RatePlan& plan);

// UpdateRatePlan: the stored plan with the fields named in the mask replaced (a named field
// left unset goes back to its default), validated as a whole. INVALID_UPDATE_MASK for an empty
// mask or an unknown path.
absl::StatusOr<v1::RatePlan> Update(v1::RatePlan stored, const v1::UpdateRatePlanRequest& req);

// An ISO 4217 code in use today (ICU's list).
bool KnownCurrency(absl::string_view code);

// The plan's zone (Validate() has checked it).
absl::TimeZone ZoneOf(const v1::RatePlan& plan);

}  // namespace switchboard::billing::rules

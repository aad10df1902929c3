// Rating one finished call under a plan: which calls are rated, the billed duration (rounded
// up to the increment once, never per increment), the price (country and volume tier), the
// cost in micro-units and the minutes it counts. Pure: no clock, no I/O.
//
//   if (!rules::Rateable(call)) return;                      // not answered, or no talk time
//   ASSIGN_OR_RETURN(rules::Rating r, rules::Rate(plan, call, minutes_used_before));
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "switchboard/billing/v1/billing_service.pb.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::billing::rules {

// The longest talk time billing accepts from an event; longer is INVALID_DURATION.
inline constexpr absl::Duration kMaxDuration = absl::Hours(24);

struct Rating {
  absl::Duration duration;
  absl::Duration billed;  // duration rounded up to the increment
  int64_t usage_minutes = 0;
  int64_t price_micros = 0;  // per minute
  std::string currency;
  int64_t cost_micros = 0;
  std::string region;  // the contact's, "" when unknown
  bool free = false;
  bool operator==(const Rating&) const = default;
};

// A call billing rates: it ended (ENDED, or FAILED after it was answered) with talk time
// reported. MISSED, REJECTED and calls never answered are not.
bool Rateable(const calls::v1::Call& call);

// `duration` rounded up to a whole number of `increment`s (> 0).
absl::Duration Billed(absl::Duration duration, absl::Duration increment);

// ceil(billed × price per minute / 1 min), in micro-units: rounded once, for the whole call.
int64_t CostMicros(absl::Duration billed, int64_t price_per_minute_micros);

// Rates `call` (Rateable) under the effective `plan`, with `minutes_used_before` minutes
// already used in the call's month (for volume tiers). INVALID_ARGUMENT INVALID_DURATION for a
// negative talk time or one over kMaxDuration.
absl::StatusOr<Rating> Rate(const v1::RatePlan& plan, const calls::v1::Call& call,
                            int64_t minutes_used_before);

}  // namespace switchboard::billing::rules

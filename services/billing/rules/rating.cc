#include "services/billing/rules/rating.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/core/error.h"
#include "libs/core/money.h"
#include "libs/core/proto_time.h"

namespace switchboard::billing::rules {
namespace {

using calls::v1::Call;

// The contact's number as E.164 digits without "+": the phone Meta gave, else the wa_id (the
// same digits for phone users).
std::string DigitsOf(const Call& call) {
  const std::string& phone = call.contact().phone_e164();
  if (!phone.empty()) return std::string(absl::StripPrefix(phone, "+"));
  return call.contact().wa_id();
}

// The country rate for the contact: the longest matching prefix, else the region's; null
// when none applies.
const v1::CountryRate* RateFor(const v1::RatePlan& plan, const Call& call) {
  const std::string digits = DigitsOf(call);
  const v1::CountryRate* by_prefix = nullptr;
  const v1::CountryRate* by_region = nullptr;
  for (const v1::CountryRate& r : plan.country_rates()) {
    if (!r.prefix().empty()) {
      if (absl::StartsWith(digits, r.prefix()) &&
          (by_prefix == nullptr || r.prefix().size() > by_prefix->prefix().size())) {
        by_prefix = &r;
      }
    } else if (!call.contact_region_code().empty() &&
               r.region_code() == call.contact_region_code()) {
      by_region = &r;
    }
  }
  return by_prefix != nullptr ? by_prefix : by_region;
}

// The tier reached by `used` minutes, or `base` below the first tier.
int64_t TierPrice(const google::protobuf::RepeatedPtrField<v1::VolumeTier>& tiers, int64_t base,
                  int64_t used) {
  int64_t price = base;
  for (const v1::VolumeTier& t : tiers) {
    if (used >= t.from_minutes()) price = t.price_per_minute().amount_micros();
  }
  return price;
}

}  // namespace

bool Rateable(const Call& call) {
  const bool ended =
      call.state() == calls::v1::CALL_STATE_ENDED || call.state() == calls::v1::CALL_STATE_FAILED;
  return ended && call.has_answered_time() && call.has_duration();
}

absl::Duration Billed(absl::Duration duration, absl::Duration increment) {
  const int64_t d = absl::ToInt64Microseconds(duration);
  const int64_t step = absl::ToInt64Microseconds(increment);
  if (d <= 0) return absl::ZeroDuration();
  return absl::Microseconds(core::CeilDiv(d, step) * step);
}

int64_t CostMicros(absl::Duration billed, int64_t price_per_minute_micros) {
  // Whole seconds: increments are whole seconds, so billed is too. At most 24 h × 1 000/min:
  // 86 400 × 10^9 fits in 64 bits.
  const int64_t seconds = absl::ToInt64Seconds(billed);
  return core::CeilDiv(seconds * price_per_minute_micros, 60);
}

absl::StatusOr<Rating> Rate(const v1::RatePlan& plan, const Call& call,
                            int64_t minutes_used_before) {
  const absl::Duration duration = core::FromProto(call.duration());
  if (duration < absl::ZeroDuration() || duration > kMaxDuration) {
    return core::InvalidArgument(
        "INVALID_DURATION",
        absl::StrCat("call ", call.call_id(), " reports a talk time of ",
                     absl::FormatDuration(duration), "; billing takes 0 to 24 h"),
        {{"call_id", call.call_id()}});
  }
  Rating r;
  r.duration = duration;
  r.region = call.contact_region_code();
  r.currency = plan.price_per_minute().currency_code();
  const v1::CountryRate* country = RateFor(plan, call);
  absl::Duration increment = core::FromProto(plan.billing_increment());
  int64_t price =
      TierPrice(plan.volume_tiers(), plan.price_per_minute().amount_micros(), minutes_used_before);
  if (country != nullptr) {
    if (country->has_billing_increment() &&
        core::FromProto(country->billing_increment()) > absl::ZeroDuration()) {
      increment = core::FromProto(country->billing_increment());
    }
    price = TierPrice(country->volume_tiers(), country->price_per_minute().amount_micros(),
                      minutes_used_before);
  }
  r.billed = Billed(duration, increment);
  r.free = plan.free_user_initiated() && call.direction() == calls::v1::CALL_DIRECTION_INBOUND;
  r.price_micros = r.free ? 0 : price;
  r.cost_micros = CostMicros(r.billed, r.price_micros);
  const bool counts = !(r.free && plan.exclude_free_calls_from_usage());
  r.usage_minutes = counts ? core::CeilDiv(absl::ToInt64Microseconds(duration), 60'000'000) : 0;
  return r;
}

}  // namespace switchboard::billing::rules

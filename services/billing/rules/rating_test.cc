#include "services/billing/rules/rating.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "services/billing/rules/plan.h"

namespace rules = switchboard::billing::rules;
namespace v1 = switchboard::billing::v1;
namespace calls = switchboard::calls::v1;
using switchboard::core::ToProto;

namespace {

calls::Call Ended(absl::Duration talk,
                  calls::CallDirection direction = calls::CALL_DIRECTION_OUTBOUND,
                  const std::string& wa_id = "5511966860300", const std::string& region = "BR") {
  calls::Call c;
  c.set_call_id("call-1");
  c.set_state(calls::CALL_STATE_ENDED);
  c.set_direction(direction);
  c.mutable_contact()->set_wa_id(wa_id);
  c.set_contact_region_code(region);
  *c.mutable_answered_time() = ToProto(absl::FromUnixSeconds(1'780'000'000));
  *c.mutable_ended_time() = ToProto(absl::FromUnixSeconds(1'780'000'000) + talk);
  *c.mutable_duration() = ToProto(talk);
  return c;
}

v1::RatePlan Default() { return rules::Effective({}); }

rules::Rating Rate(const v1::RatePlan& plan, const calls::Call& call, int64_t used = 0) {
  absl::StatusOr<rules::Rating> r = rules::Rate(plan, call, used);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

v1::VolumeTier Tier(int64_t from, int64_t micros) {
  v1::VolumeTier t;
  t.set_from_minutes(from);
  t.mutable_price_per_minute()->set_amount_micros(micros);
  t.mutable_price_per_minute()->set_currency_code("USD");
  return t;
}

}  // namespace

TEST_CASE("the default plan: $0.005 a minute, rounded up to the whole minute") {
  struct Case {
    absl::Duration talk;
    int64_t minutes;
    int64_t micros;
  };
  for (const Case& c :
       {Case{absl::Seconds(330), 6, 30'000},  // 5:30 → 6 min → $0.03
        Case{absl::Seconds(45), 1, 5'000},    // 0:45 → 1 min → $0.005
        Case{absl::Seconds(61), 2, 10'000},   // 1:01 → 2 min
        Case{absl::Seconds(60), 1, 5'000},    // exactly a minute
        Case{absl::Milliseconds(60'001), 2, 10'000}, Case{absl::ZeroDuration(), 0, 0}}) {
    INFO(absl::FormatDuration(c.talk));
    const rules::Rating r = Rate(Default(), Ended(c.talk));
    CHECK(r.billed == absl::Minutes(c.minutes));
    CHECK(r.usage_minutes == c.minutes);
    CHECK(r.cost_micros == c.micros);
    CHECK(r.currency == "USD");
  }
}

TEST_CASE("6-second pulses: a partial pulse counts whole; the cost is rounded once per call") {
  v1::RatePlan plan = Default();
  *plan.mutable_billing_increment() = ToProto(absl::Seconds(6));
  rules::Rating r = Rate(plan, Ended(absl::Seconds(56)));
  CHECK(r.billed == absl::Seconds(60));  // 10 pulses
  CHECK(r.usage_minutes == 1);
  // 13 333 µ$/min for 7 s: two pulses, 12 s = 2 666.6 → 2 667 (per pulse it would be 2 668).
  plan.mutable_price_per_minute()->set_amount_micros(13'333);
  r = Rate(plan, Ended(absl::Seconds(7)));
  CHECK(r.billed == absl::Seconds(12));
  CHECK(r.cost_micros == 2'667);
  CHECK(rules::CostMicros(absl::Seconds(6), 13'333) * 2 == 2'668);
}

TEST_CASE("the country's rate: the longest matching prefix, else the region, else the plan") {
  v1::RatePlan plan = Default();
  auto add = [&](const std::string& region, const std::string& prefix, int64_t micros) {
    v1::CountryRate* r = plan.add_country_rates();
    r->set_region_code(region);
    r->set_prefix(prefix);
    r->mutable_price_per_minute()->set_amount_micros(micros);
    r->mutable_price_per_minute()->set_currency_code("USD");
    return r;
  };
  add("BR", "", 7'000);
  add("", "1", 4'000);
  add("", "1876", 9'000);  // Jamaica, inside +1
  *add("GB", "", 8'000)->mutable_billing_increment() = ToProto(absl::Seconds(1));
  CHECK(Rate(plan, Ended(absl::Seconds(60))).price_micros == 7'000);
  CHECK(Rate(plan, Ended(absl::Seconds(60), calls::CALL_DIRECTION_OUTBOUND, "13175551399", "US"))
            .price_micros == 4'000);
  CHECK(Rate(plan, Ended(absl::Seconds(60), calls::CALL_DIRECTION_OUTBOUND, "18765550000", "JM"))
            .price_micros == 9'000);
  CHECK(Rate(plan, Ended(absl::Seconds(60), calls::CALL_DIRECTION_OUTBOUND, "4915112345678", "DE"))
            .price_micros == 5'000);
  // The country's own increment: per second for GB.
  const rules::Rating gb =
      Rate(plan, Ended(absl::Seconds(61), calls::CALL_DIRECTION_OUTBOUND, "447700900123", "GB"));
  CHECK(gb.billed == absl::Seconds(61));
  CHECK(gb.cost_micros == 8'134);  // ceil(61 × 8 000 / 60)
  CHECK(gb.usage_minutes == 2);    // usage is whole minutes whatever the increment
  // A phone given by Meta wins over the wa_id's digits.
  calls::Call withPhone = Ended(absl::Seconds(60), calls::CALL_DIRECTION_OUTBOUND, "x", "");
  withPhone.mutable_contact()->set_phone_e164("+18765550000");
  CHECK(Rate(plan, withPhone).price_micros == 9'000);
}

TEST_CASE("volume tiers: a call is priced wholly at the tier where it starts") {
  v1::RatePlan plan = Default();
  *plan.add_volume_tiers() = Tier(1000, 4'000);
  *plan.add_volume_tiers() = Tier(5000, 3'000);
  CHECK(Rate(plan, Ended(absl::Minutes(20)), 0).price_micros == 5'000);
  // 990 used: the call crosses 1 000 and stays at the first price for all 20 minutes.
  const rules::Rating crossing = Rate(plan, Ended(absl::Minutes(20)), 990);
  CHECK(crossing.price_micros == 5'000);
  CHECK(crossing.cost_micros == 100'000);
  CHECK(Rate(plan, Ended(absl::Minutes(20)), 1000).price_micros == 4'000);
  CHECK(Rate(plan, Ended(absl::Minutes(20)), 7000).price_micros == 3'000);
}

TEST_CASE("free user-initiated calls cost nothing and count their minutes unless the plan says") {
  v1::RatePlan plan = Default();
  plan.set_free_user_initiated(true);
  rules::Rating in = Rate(plan, Ended(absl::Seconds(90), calls::CALL_DIRECTION_INBOUND));
  CHECK(in.free);
  CHECK(in.cost_micros == 0);
  CHECK(in.usage_minutes == 2);
  CHECK_FALSE(Rate(plan, Ended(absl::Seconds(90))).free);  // outbound pays
  plan.set_exclude_free_calls_from_usage(true);
  CHECK(Rate(plan, Ended(absl::Seconds(90), calls::CALL_DIRECTION_INBOUND)).usage_minutes == 0);
}

TEST_CASE("only answered calls that ended with talk time reported are rated") {
  calls::Call c = Ended(absl::Seconds(30));
  CHECK(rules::Rateable(c));
  c.set_state(calls::CALL_STATE_FAILED);  // failed after it was answered: the talk is billed
  CHECK(rules::Rateable(c));
  for (calls::CallState s : {calls::CALL_STATE_MISSED, calls::CALL_STATE_REJECTED,
                             calls::CALL_STATE_ANSWERED, calls::CALL_STATE_RINGING}) {
    c.set_state(s);
    CHECK_FALSE(rules::Rateable(c));
  }
  calls::Call never = Ended(absl::Seconds(30));
  never.clear_answered_time();
  CHECK_FALSE(rules::Rateable(never));
  calls::Call silent = Ended(absl::Seconds(30));
  silent.clear_duration();
  CHECK_FALSE(rules::Rateable(silent));
}

TEST_CASE("a negative or absurd talk time is refused, with the call named") {
  for (absl::Duration bad : {absl::Seconds(-1), absl::Hours(24) + absl::Seconds(1)}) {
    absl::StatusOr<rules::Rating> r = rules::Rate(Default(), Ended(bad), 0);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(switchboard::core::ReasonOf(r.status()) == "INVALID_DURATION");
  }
  CHECK(rules::Rate(Default(), Ended(absl::Hours(24)), 0)->cost_micros == 1440 * 5'000);
}

#include "services/billing/rules/usage.h"

#include <catch2/catch.hpp>

#include "services/billing/rules/plan.h"

namespace rules = switchboard::billing::rules;
namespace v1 = switchboard::billing::v1;

namespace {

v1::RatePlan Plan(int64_t limit) {
  v1::RatePlan p;
  p.set_monthly_minutes_limit(limit);
  return rules::Effective(p);
}

}  // namespace

TEST_CASE("the usage card: 450 / 1000 min is 45 %, normal") {
  rules::MonthUsage u{.minutes_used = 450};
  v1::Usage shown = rules::ToProto(u, Plan(1000));
  CHECK(shown.minutes_used() == 450);
  CHECK(shown.minutes_limit() == 1000);
  CHECK(shown.percent_used() == 45);
  CHECK(shown.level() == v1::USAGE_LEVEL_NORMAL);
  CHECK(shown.call_cost().currency_code() == "USD");
}

TEST_CASE("levels: warning at 80 %, exhausted at 100 %, never when unlimited") {
  const v1::RatePlan plan = Plan(1000);
  auto level = [&](int64_t used, int64_t purchased = 0) {
    return rules::LevelOf({.minutes_used = used, .purchased_minutes = purchased}, plan);
  };
  CHECK(level(799) == v1::USAGE_LEVEL_NORMAL);
  CHECK(level(800) == v1::USAGE_LEVEL_WARNING);
  CHECK(level(999) == v1::USAGE_LEVEL_WARNING);
  CHECK(level(1000) == v1::USAGE_LEVEL_EXHAUSTED);
  CHECK(level(1000, 500) == v1::USAGE_LEVEL_NORMAL);  // a top-up raises the limit
  CHECK(level(1200, 500) == v1::USAGE_LEVEL_WARNING);
  CHECK(rules::LevelOf({.minutes_used = 10'000'000}, Plan(0)) == v1::USAGE_LEVEL_NORMAL);
  CHECK(rules::PercentOf(2500, 1000) == 250);
  CHECK(rules::PercentOf(10, 0) == 0);
  CHECK(rules::PercentOf(999, 1000) == 99);  // rounded down
}

TEST_CASE("each threshold alerts once a month; a top-up below it re-arms it") {
  const v1::RatePlan plan = Plan(100);
  rules::MonthUsage u;
  u.minutes_used = 79;
  CHECK(rules::Settle(u, plan) == v1::USAGE_LEVEL_UNSPECIFIED);
  u.minutes_used = 85;
  CHECK(rules::Settle(u, plan) == v1::USAGE_LEVEL_WARNING);
  u.minutes_used = 90;
  CHECK(rules::Settle(u, plan) == v1::USAGE_LEVEL_UNSPECIFIED);  // already alerted
  u.minutes_used = 100;
  CHECK(rules::Settle(u, plan) == v1::USAGE_LEVEL_EXHAUSTED);
  u.minutes_used = 130;
  CHECK(rules::Settle(u, plan) == v1::USAGE_LEVEL_UNSPECIFIED);
  u.purchased_minutes = 100;  // limit 200: 65 %, both re-armed
  CHECK(rules::Settle(u, plan) == v1::USAGE_LEVEL_UNSPECIFIED);
  CHECK(u.alerted == v1::USAGE_LEVEL_NORMAL);
  u.minutes_used = 210;  // straight past both: the highest alerts
  CHECK(rules::Settle(u, plan) == v1::USAGE_LEVEL_EXHAUSTED);
  CHECK(u.announced == v1::USAGE_LEVEL_EXHAUSTED);
}

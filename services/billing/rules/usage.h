// A month's usage against its limit: the level (NORMAL, WARNING from the plan's percent,
// EXHAUSTED at 100 %) and the alerts, each fired once per tenant, month and threshold. The
// caller holds the month's row locked, so calls crossing a threshold together fire it once.
//
//   rules::MonthUsage u = ...;                      // the locked row
//   u.minutes_used += rating.usage_minutes;
//   v1::UsageLevel alert = rules::Settle(u, plan);  // WARNING, EXHAUSTED or UNSPECIFIED
#pragma once

#include <cstdint>

#include "switchboard/billing/v1/billing_service.pb.h"

namespace switchboard::billing::rules {

// What billing keeps of one tenant's month.
struct MonthUsage {
  int64_t minutes_used = 0;
  int64_t purchased_minutes = 0;
  int64_t rated_calls = 0;
  int64_t call_cost_micros = 0;
  // The highest level alerted this month and not re-armed since (NORMAL: none).
  v1::UsageLevel alerted = v1::USAGE_LEVEL_NORMAL;
  // The level last announced (UsageUpdated.level), for previous_level.
  v1::UsageLevel announced = v1::USAGE_LEVEL_NORMAL;
};

// The plan's limit plus this month's top-ups; 0 (unlimited) when the plan sets none.
int64_t LimitOf(const MonthUsage& usage, const v1::RatePlan& plan);

// 100 × used / limit rounded down, capped at 10 000; 0 when unlimited.
int32_t PercentOf(int64_t used, int64_t limit);

// EXHAUSTED at or above the limit, WARNING at or above the plan's warning percent, NORMAL
// otherwise (and always when unlimited).
v1::UsageLevel LevelOf(const MonthUsage& usage, const v1::RatePlan& plan);

// After a change to `usage`: the threshold to alert on, if it was crossed and not alerted yet
// this month (the highest one when both were crossed at once); UNSPECIFIED otherwise. A level
// that fell (a top-up) re-arms the thresholds above it. Updates usage.alerted and
// usage.announced.
v1::UsageLevel Settle(MonthUsage& usage, const v1::RatePlan& plan);

// The API's view of the month.
v1::Usage ToProto(const MonthUsage& usage, const v1::RatePlan& plan);

}  // namespace switchboard::billing::rules

#include "services/billing/rules/usage.h"

#include <algorithm>

namespace switchboard::billing::rules {

int64_t LimitOf(const MonthUsage& usage, const v1::RatePlan& plan) {
  if (plan.monthly_minutes_limit() <= 0) return 0;
  return plan.monthly_minutes_limit() + usage.purchased_minutes;
}

int32_t PercentOf(int64_t used, int64_t limit) {
  if (limit <= 0 || used <= 0) return 0;
  // used ≤ 100 × limit keeps 100 × used in range for any limit the API accepts.
  return static_cast<int32_t>(std::min<int64_t>(used, 100 * limit) * 100 / limit);
}

v1::UsageLevel LevelOf(const MonthUsage& usage, const v1::RatePlan& plan) {
  const int64_t limit = LimitOf(usage, plan);
  if (limit <= 0) return v1::USAGE_LEVEL_NORMAL;
  if (usage.minutes_used >= limit) return v1::USAGE_LEVEL_EXHAUSTED;
  // used × 100 ≥ percent × limit: at the threshold, not only above it.
  if (usage.minutes_used * 100 >= static_cast<int64_t>(plan.usage_warning_percent()) * limit) {
    return v1::USAGE_LEVEL_WARNING;
  }
  return v1::USAGE_LEVEL_NORMAL;
}

v1::UsageLevel Settle(MonthUsage& usage, const v1::RatePlan& plan) {
  const v1::UsageLevel level = LevelOf(usage, plan);
  usage.announced = level;
  if (level > usage.alerted) {
    usage.alerted = level;
    return level;
  }
  if (level < usage.alerted) usage.alerted = level;  // re-armed
  return v1::USAGE_LEVEL_UNSPECIFIED;
}

v1::Usage ToProto(const MonthUsage& usage, const v1::RatePlan& plan) {
  v1::Usage out;
  const int64_t limit = LimitOf(usage, plan);
  out.set_minutes_used(usage.minutes_used);
  out.set_minutes_limit(limit);
  out.set_purchased_minutes(usage.purchased_minutes);
  out.set_percent_used(PercentOf(usage.minutes_used, limit));
  out.set_level(LevelOf(usage, plan));
  out.set_rated_calls(usage.rated_calls);
  out.mutable_call_cost()->set_amount_micros(usage.call_cost_micros);
  out.mutable_call_cost()->set_currency_code(plan.price_per_minute().currency_code());
  return out;
}

}  // namespace switchboard::billing::rules

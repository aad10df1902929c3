#include "services/billing/probe.h"

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace switchboard::billing {

Probe::Probe(prometheus::Registry& registry) {
  auto& rated = prometheus::BuildCounter()
                    .Name("switchboard_billing_rated_calls_total")
                    .Help("Calls rated (one ledger entry each); free: user-initiated at no cost.")
                    .Register(registry);
  rated_paid_ = &rated.Add({{"free", "false"}});
  rated_free_ = &rated.Add({{"free", "true"}});
  minutes_ = &prometheus::BuildCounter()
                  .Name("switchboard_billing_rated_usage_seconds_total")
                  .Help("Usage counted by the calls rated: their whole minutes, in seconds.")
                  .Register(registry)
                  .Add({});
  micros_ = &prometheus::BuildCounter()
                 .Name("switchboard_billing_rated_micros_total")
                 .Help("Cost of the calls rated, in micro-units of each plan's currency.")
                 .Register(registry)
                 .Add({});
  auto& replays = prometheus::BuildCounter()
                      .Name("switchboard_billing_replays_total")
                      .Help(
                          "Ended calls that came again: with the duration rated (same, nothing "
                          "changes) or another (quarantined for an operator).")
                      .Register(registry);
  same_ = &replays.Add({{"outcome", "same"}});
  quarantined_ = &replays.Add({{"outcome", "quarantined"}});
  auto& alerts = prometheus::BuildCounter()
                     .Name("switchboard_billing_usage_alerts_total")
                     .Help("Monthly usage thresholds crossed (once per tenant, month, threshold).")
                     .Register(registry);
  warning_ = &alerts.Add({{"level", "warning"}});
  exhausted_ = &alerts.Add({{"level", "exhausted"}});
  waiting_ = &prometheus::BuildGauge()
                  .Name("switchboard_billing_quarantined_calls")
                  .Help("Calls kept aside with a second duration, waiting for an operator.")
                  .Register(registry)
                  .Add({});
}

void Probe::Rated(const rules::Rating& rating) {
  (rating.free ? rated_free_ : rated_paid_)->Increment();
  minutes_->Increment(static_cast<double>(rating.usage_minutes) * 60);
  micros_->Increment(static_cast<double>(rating.cost_micros));
}

void Probe::Replayed(bool quarantined) { (quarantined ? quarantined_ : same_)->Increment(); }

void Probe::Alerted(v1::UsageLevel level) {
  if (level == v1::USAGE_LEVEL_WARNING) warning_->Increment();
  if (level == v1::USAGE_LEVEL_EXHAUSTED) exhausted_->Increment();
}

void Probe::Quarantined(int64_t count) { waiting_->Set(static_cast<double>(count)); }

}  // namespace switchboard::billing

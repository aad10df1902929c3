// Billing's metrics: calls rated and the money and minutes they carry, replays and calls kept
// aside (quarantined), usage alerts by threshold, and how many quarantined calls wait for an
// operator (what the alerts read). Labels are fixed words, so the series are few and known.
#pragma once

#include "services/billing/ledger.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
}  // namespace prometheus

namespace switchboard::billing {

class Probe final : public LedgerProbe {
 public:
  explicit Probe(prometheus::Registry& registry);

  // switchboard_billing_rated_calls_total{free}, switchboard_billing_rated_usage_seconds_total,
  // switchboard_billing_rated_micros_total.
  void Rated(const rules::Rating& rating) override;
  // switchboard_billing_replays_total{outcome="same"|"quarantined"}.
  void Replayed(bool quarantined) override;
  // switchboard_billing_usage_alerts_total{level="warning"|"exhausted"}.
  void Alerted(v1::UsageLevel level) override;
  // switchboard_billing_quarantined_calls: unsettled, every tenant.
  void Quarantined(int64_t count);

 private:
  prometheus::Counter* rated_paid_;
  prometheus::Counter* rated_free_;
  prometheus::Counter* minutes_;
  prometheus::Counter* micros_;
  prometheus::Counter* same_;
  prometheus::Counter* quarantined_;
  prometheus::Counter* warning_;
  prometheus::Counter* exhausted_;
  prometheus::Gauge* waiting_;
};

}  // namespace switchboard::billing

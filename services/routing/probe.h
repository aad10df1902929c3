// Routing's metrics: offers, claims won and lost, time from a round's start to the winning
// claim, fallbacks by action, and agents by availability (what the wallboard and alerts read).
// Every label comes from a proto enum or a fixed word, so the series are few and known.
#pragma once

#include <map>

#include "services/routing/ringer.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace switchboard::routing {

class Probe final : public RingerProbe {
 public:
  explicit Probe(prometheus::Registry& registry);

  // switchboard_routing_offers_total, switchboard_routing_offered_agents_total.
  void Offered(int agents) override;
  // switchboard_routing_claims_total{outcome="won"|"lost"}, and for a win
  // switchboard_routing_time_to_answer_seconds.
  void Claimed(bool won, absl::Duration since_round_start) override;
  // switchboard_routing_fallbacks_total{action}.
  void Fallback(v1::FallbackAction action) override;
  // switchboard_routing_agents{availability}: every availability, 0 where none is.
  void Agents(const std::map<v1::Availability, int64_t>& counts);

 private:
  prometheus::Counter* offers_;
  prometheus::Counter* offered_agents_;
  prometheus::Counter* won_;
  prometheus::Counter* lost_;
  prometheus::Histogram* time_to_answer_;
  std::map<v1::FallbackAction, prometheus::Counter*> fallbacks_;
  std::map<v1::Availability, prometheus::Gauge*> agents_;
};

}  // namespace switchboard::routing

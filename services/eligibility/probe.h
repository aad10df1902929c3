// The eligibility service's metrics, in one place: answers by method and outcome, and the
// blocking reasons they gave.
//
//   Probe probe(&registry);
//   probe.Decision("ReserveCall", decision);
#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "services/eligibility/rules/eligibility.h"

namespace prometheus {
class Registry;
}

namespace switchboard::eligibility {

class Probe {
 public:
  // Null `registry`: counts nothing.
  explicit Probe(prometheus::Registry* registry);

  // switchboard_eligibility_decisions_total{method, outcome} and, per blocking reason,
  // switchboard_eligibility_denials_total{method, reason}.
  void Decision(const char* method, const rules::Decision& d);

 private:
  void Count(prometheus::Family<prometheus::Counter>* family, const prometheus::Labels& labels);

  prometheus::Family<prometheus::Counter>* decisions_ = nullptr;
  prometheus::Family<prometheus::Counter>* denials_ = nullptr;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, prometheus::Counter*> counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchboard::eligibility

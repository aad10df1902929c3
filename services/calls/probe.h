// The calls service's metrics, in one place: Graph API requests by action and outcome, and
// finished calls by direction, state and end reason (the business counter dashboards show).
//
//   Probe probe(&registry);
//   probe.Graph("connect", "ok");
//   probe.Finished(call);   // once per call that reached a terminal state
#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace prometheus {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchboard::calls {

class Probe {
 public:
  // Null `registry`: counts nothing (tests of the store alone).
  explicit Probe(prometheus::Registry* registry);

  // switchboard_calls_graph_requests_total{action, outcome}: outcome "ok" or the error's reason.
  void Graph(absl::string_view action, absl::string_view outcome);
  // switchboard_calls_finished_total{direction, state, end_reason}.
  void Finished(const v1::Call& call);

 private:
  // Meta's error 190, invalid or expired access token (SwitchboardGraphApiTokenRejected).
  static constexpr char kTokenRejected[] = "META_190";

  // The series of `key` in `family`, made with `labels` the first time (at 0).
  prometheus::Counter* Series(prometheus::Family<prometheus::Counter>* family, std::string key,
                              std::initializer_list<std::pair<const char*, std::string>> labels)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  prometheus::Counter* GraphSeries(absl::string_view action, absl::string_view outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  prometheus::Family<prometheus::Counter>* graph_ = nullptr;
  prometheus::Family<prometheus::Counter>* finished_ = nullptr;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, prometheus::Counter*> counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchboard::calls

#include "services/calls/probe.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"

namespace switchboard::calls {

Probe::Probe(prometheus::Registry* registry) {
  if (registry == nullptr) return;
  graph_ = &prometheus::BuildCounter()
                .Name("switchboard_calls_graph_requests_total")
                .Help("Graph API call actions sent by the calls service, by outcome.")
                .Register(*registry);
  // Meta's "token rejected" (190) starts at 0 for every action, so the first rejection is an
  // increase an alert sees (a series born at 1 has none).
  for (const char* action :
       {"connect", "pre_accept", "accept", "reject", "terminate", "call_permission_request"}) {
    absl::MutexLock lock(&mu_);
    GraphSeries(action, kTokenRejected);
  }
  finished_ = &prometheus::BuildCounter()
                   .Name("switchboard_calls_finished_total")
                   .Help("Calls that reached a terminal state, by direction, state and reason.")
                   .Register(*registry);
}

prometheus::Counter* Probe::Series(
    prometheus::Family<prometheus::Counter>* family, std::string key,
    std::initializer_list<std::pair<const char*, std::string>> labels) {
  auto [it, fresh] = counters_.try_emplace(std::move(key), nullptr);
  if (fresh) {
    prometheus::Labels l;
    for (const auto& [name, value] : labels) l[name] = value;
    it->second = &family->Add(l);
  }
  return it->second;
}

prometheus::Counter* Probe::GraphSeries(absl::string_view action, absl::string_view outcome) {
  return Series(graph_, absl::StrCat("g/", action, "/", outcome),
                {{"action", std::string(action)}, {"outcome", std::string(outcome)}});
}

void Probe::Graph(absl::string_view action, absl::string_view outcome) {
  if (graph_ == nullptr) return;
  absl::MutexLock lock(&mu_);
  GraphSeries(action, outcome)->Increment();
}

void Probe::Finished(const v1::Call& call) {
  std::string direction(
      absl::StripPrefix(v1::CallDirection_Name(call.direction()), "CALL_DIRECTION_"));
  std::string state(absl::StripPrefix(v1::CallState_Name(call.state()), "CALL_STATE_"));
  // end_reason is one of a small documented set (calls_service.proto), never free text.
  if (finished_ == nullptr) return;
  absl::MutexLock lock(&mu_);
  Series(finished_, absl::StrCat("f/", direction, "/", state, "/", call.end_reason()),
         {{"direction", direction}, {"state", state}, {"end_reason", call.end_reason()}})
      ->Increment();
}

}  // namespace switchboard::calls

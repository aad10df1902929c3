#include "services/eligibility/probe.h"

#include "absl/strings/str_cat.h"
#include "prometheus/registry.h"

namespace switchboard::eligibility {
namespace {

prometheus::Family<prometheus::Counter>* Counter(prometheus::Registry* registry,
                                                 const std::string& name, const std::string& help) {
  if (registry == nullptr) return nullptr;
  return &prometheus::BuildCounter().Name(name).Help(help).Register(*registry);
}

}  // namespace

Probe::Probe(prometheus::Registry* registry)
    : decisions_(Counter(registry, "switchboard_eligibility_decisions_total",
                         "Eligibility answers by method and outcome.")),
      denials_(Counter(registry, "switchboard_eligibility_denials_total",
                       "Blocking reasons returned, by method and reason code.")) {}

void Probe::Decision(const char* method, const rules::Decision& d) {
  Count(decisions_,
        {{"method", method},
         {"outcome", d.eligible() ? (d.degraded ? "degraded_allowed" : "allowed") : "blocked"}});
  for (const auto& r : d.blocking) Count(denials_, {{"method", method}, {"reason", r.code}});
}

// On the hot path: a counter seen before is found under the reader lock.
void Probe::Count(prometheus::Family<prometheus::Counter>* family,
                  const prometheus::Labels& labels) {
  if (family == nullptr) return;
  std::string key;
  for (const auto& [k, v] : labels) absl::StrAppend(&key, k, "=", v, ",");
  absl::StrAppend(&key, reinterpret_cast<uintptr_t>(family));
  prometheus::Counter* c = nullptr;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = counters_.find(key); it != counters_.end()) c = it->second;
  }
  if (c == nullptr) {
    absl::MutexLock lock(&mu_);
    auto [it, fresh] = counters_.try_emplace(key, nullptr);
    if (fresh) it->second = &family->Add(labels);
    c = it->second;
  }
  c->Increment();
}

}  // namespace switchboard::eligibility

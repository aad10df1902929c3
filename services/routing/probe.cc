#include "services/routing/probe.h"

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace switchboard::routing {
namespace {

// One series of `family` per value of an enum from `first` to `last`, labelled `label` with the
// value's name in lower case without the enum's prefix ("FALLBACK_ACTION_AUTO_REPLY" ->
// "auto_reply").
template <typename Enum, typename Metric>
std::map<Enum, Metric*> PerValue(prometheus::Family<Metric>& family, const std::string& label,
                                 const google::protobuf::EnumDescriptor* type,
                                 absl::string_view prefix, int first, int last) {
  std::map<Enum, Metric*> out;
  for (int v = first; v <= last; ++v) {
    const std::string& name = type->FindValueByNumber(v)->name();
    out[static_cast<Enum>(v)] =
        &family.Add({{label, absl::AsciiStrToLower(absl::StripPrefix(name, prefix))}});
  }
  return out;
}

}  // namespace

Probe::Probe(prometheus::Registry& registry) {
  offers_ = &prometheus::BuildCounter()
                 .Name("switchboard_routing_offers_total")
                 .Help("Ring steps offered to agents (one per OFFERED event).")
                 .Register(registry)
                 .Add({});
  offered_agents_ = &prometheus::BuildCounter()
                         .Name("switchboard_routing_offered_agents_total")
                         .Help("Agent alerts rung: an offer to three agents counts three.")
                         .Register(registry)
                         .Add({});
  auto& claims = prometheus::BuildCounter()
                     .Name("switchboard_routing_claims_total")
                     .Help("ClaimCall outcomes: won, or lost to an agent who claimed first.")
                     .Register(registry);
  won_ = &claims.Add({{"outcome", "won"}});
  lost_ = &claims.Add({{"outcome", "lost"}});
  time_to_answer_ =
      &prometheus::BuildHistogram()
           .Name("switchboard_routing_time_to_answer_seconds")
           .Help("From the start of the ring round to the winning claim.")
           .Register(registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 3, 5, 8, 10, 15, 20, 30, 45, 60});
  fallbacks_ =
      PerValue<v1::FallbackAction>(prometheus::BuildCounter()
                                       .Name("switchboard_routing_fallbacks_total")
                                       .Help("Rounds that ended without a winner, by "
                                             "the fallback that ran.")
                                       .Register(registry),
                                   "action", v1::FallbackAction_descriptor(), "FALLBACK_ACTION_",
                                   v1::FALLBACK_ACTION_NONE, v1::FALLBACK_ACTION_VOICEMAIL);
  agents_ =
      PerValue<v1::Availability>(prometheus::BuildGauge()
                                     .Name("switchboard_routing_agents")
                                     .Help("Agents by the call availability last announced.")
                                     .Register(registry),
                                 "availability", v1::Availability_descriptor(), "AVAILABILITY_",
                                 v1::AVAILABILITY_AVAILABLE, v1::AVAILABILITY_OFFLINE);
}

void Probe::Offered(int agents) {
  offers_->Increment();
  offered_agents_->Increment(agents);
}

void Probe::Claimed(bool won, absl::Duration since_round_start) {
  if (!won) {
    lost_->Increment();
    return;
  }
  won_->Increment();
  time_to_answer_->Observe(absl::ToDoubleSeconds(since_round_start));
}

void Probe::Fallback(v1::FallbackAction action) {
  if (auto it = fallbacks_.find(action); it != fallbacks_.end()) it->second->Increment();
}

void Probe::Agents(const std::map<v1::Availability, int64_t>& counts) {
  for (auto& [availability, gauge] : agents_) {
    auto it = counts.find(availability);
    gauge->Set(it == counts.end() ? 0 : static_cast<double>(it->second));
  }
}

}  // namespace switchboard::routing

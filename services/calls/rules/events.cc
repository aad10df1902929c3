#include "services/calls/rules/events.h"

#include "absl/strings/str_cat.h"
#include "libs/api/validate.h"
#include "libs/core/proto_time.h"
#include "services/calls/rules/timeline.h"

namespace switchboard::calls::rules {

v1::CallStateChanged StateChanged(const v1::Call& call, const Transition& t, const Cause& cause) {
  v1::CallStateChanged changed;
  auto* h = changed.mutable_header();
  h->set_tenant_id(call.tenant_id());
  h->set_entity_id(call.call_id());
  h->set_sequence(call.sequence());
  *h->mutable_occurred_time() = core::ToProto(cause.at);
  h->set_correlation_id(cause.correlation_id);
  h->set_causation_id(cause.causation_id);
  *changed.mutable_call() = call;
  changed.set_previous_state(t.from);
  changed.set_state(t.to);
  return changed;
}

std::string StateChangedId(const v1::Call& call) {
  return absl::StrCat(call.call_id(), "/", call.sequence());
}

std::optional<v1::TimelineEntry> Timeline(const v1::Call& call, absl::string_view language,
                                          const Cause& cause) {
  const std::string contact_key = api::ContactKey(call.contact());
  if (contact_key.empty()) return std::nullopt;
  std::optional<v1::TimelineEntry> entry = timeline::EntryFor(call, language);
  if (!entry.has_value()) return std::nullopt;
  auto* h = entry->mutable_header();
  h->set_tenant_id(call.tenant_id());
  h->set_entity_id(contact_key);
  *h->mutable_occurred_time() = core::ToProto(cause.at);
  h->set_correlation_id(cause.correlation_id);
  h->set_causation_id(StateChangedId(call));
  return entry;
}

std::string TimelineId(const v1::Call& call) { return absl::StrCat(call.call_id(), "/timeline"); }

}  // namespace switchboard::calls::rules

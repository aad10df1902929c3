#include "services/calls/journal.h"

#include "absl/strings/str_cat.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/outbox.h"

namespace switchboard::calls {

Journal::Journal(Store& store, const core::Clock& clock, Timing timing, Probe* probe)
    : store_(store), clock_(clock), timing_(timing), probe_(probe) {}

absl::Status Journal::Save(pg::Conn& tx, v1::Call& call, const Transition& t, const Cause& cause,
                           const std::string& request_id) {
  CallWrites writes;
  Stage(tx, writes, call, t, cause, request_id);
  return Store::Write(tx, writes);
}

void Journal::Stage(pg::Conn& tx, CallWrites& writes, v1::Call& call, const Transition& t,
                    const Cause& cause, const std::string& request_id) {
  if (t.publish) call.set_sequence(call.sequence() + 1);
  const absl::Time now = clock_.Now();
  writes.SetRow(call, request_id, now);
  Timing timing = timing_;
  if (call.state() == v1::CALL_STATE_ANSWERED) {  // the tenant's maximum, if it set one
    const v1::CallsSettings settings = store_.SettingsVia(tx, call.tenant_id());
    if (settings.has_max_call_duration()) {
      timing.max_call_duration = core::FromProto(settings.max_call_duration());
    }
  }
  writes.SetTimer(call, TimerFor(call, timing, now));
  if (!t.publish) return;
  writes.AddEvent(kafka::kCallsState,
                  pg::Outbox::EventOf(rules::StateChanged(call, t, cause), call.call_id(),
                                      rules::StateChangedId(call), cause.at, "calls"));
  if (!IsTerminal(t.to)) return;
  // Counted when staged: a transaction retried after a deadlock, or a batch handed back to be
  // applied one at a time, counts its call again (rare).
  if (probe_ != nullptr) probe_->Finished(call);
  const std::string language = store_.SettingsVia(tx, call.tenant_id()).language();
  if (std::optional<v1::TimelineEntry> entry = rules::Timeline(call, language, cause)) {
    writes.AddEvent(kafka::kConversationsTimeline,
                    pg::Outbox::EventOf(*entry, api::ContactKey(call.contact()),
                                        rules::TimelineId(call), cause.at, "calls"));
  }
}

absl::Status Journal::ApplyWebhook(pg::Conn& tx, CallWrites& writes, v1::Call& call,
                                   const webhooks::v1::WhatsAppEvent& e,
                                   const rules::WebhookEvent& w, bool existing, bool dirty,
                                   const Cause& cause) {
  if (call.meta_call_id().empty()) call.set_meta_call_id(w.meta_call_id);
  bool details_changed = (w.contact != nullptr && rules::MergeContact(call, *w.contact)) || dirty;
  if (call.business_display_number().empty() && !e.display_phone_number().empty()) {
    call.set_business_display_number(e.display_phone_number());  // StartCall does not know it
    details_changed = true;
  }
  ASSIGN_OR_RETURN(Transition t, Apply(call, w.event));
  if (!t.changed && !details_changed && existing) return absl::OkStatus();
  t.changed = true;
  Stage(tx, writes, call, t, cause);
  return absl::OkStatus();
}

absl::Status Journal::ApplyParked(pg::Conn& tx, CallWrites& writes, v1::Call& call) {
  ASSIGN_OR_RETURN(std::vector<ParkedEvent> parked,
                   Store::Unpark(tx, call.tenant_id(), call.meta_call_id()));
  for (const ParkedEvent& p : parked) {
    webhooks::v1::WhatsAppEvent e;
    if (!e.ParseFromString(p.payload)) continue;  // parked only after it parsed once
    std::optional<rules::WebhookEvent> w = rules::FromWebhook(e, p.event_time);
    if (!w.has_value()) continue;
    Cause cause{.at = w->event.at,
                .correlation_id = e.header().correlation_id(),
                .causation_id = p.event_id};
    RETURN_IF_ERROR(
        ApplyWebhook(tx, writes, call, e, *w, /*existing=*/true, /*dirty=*/false, cause));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Call>> Journal::Get(absl::string_view tenant,
                                                     absl::string_view call_id) {
  return store_.Get(tenant, CallKey::Id(std::string(call_id)));
}

absl::StatusOr<std::optional<v1::Call>> Journal::Placed(const pg::RequestKey& key) {
  std::optional<std::string> call_id;
  RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(call_id, pg::Idempotency::Find(tx, key));
    return absl::OkStatus();
  }));
  if (call_id.has_value()) return store_.Get(key.tenant, CallKey::Id(*call_id));
  // Calls placed before their request keys were kept carry the request id on their row.
  return store_.Get(key.tenant, CallKey::Request(key.request_id));
}

absl::Status Journal::Create(v1::Call& call, const Cause& cause, const pg::RequestKey& key) {
  v1::Call created;
  RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> earlier, pg::Idempotency::Find(tx, key));
    if (earlier.has_value()) {
      return core::Error(absl::StatusCode::kAlreadyExists, "CALL_ALREADY_PLACED",
                         "an identical request placed this call first");
    }
    created = call;
    RETURN_IF_ERROR(Save(tx, created,
                         {.from = v1::CALL_STATE_UNSPECIFIED,
                          .to = v1::CALL_STATE_OFFERED,
                          .publish = true,
                          .changed = true},
                         cause, key.request_id));
    return pg::Idempotency::Remember(tx, key, created.call_id());
  }));
  call = std::move(created);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Call>> Journal::Begin(const pg::RequestKey& key) {
  ASSIGN_OR_RETURN(std::optional<std::string> earlier, pg::Idempotency::Claim(store_.pool(), key));
  if (!earlier.has_value()) return std::optional<v1::Call>();
  v1::Call call;
  RETURN_IF_ERROR(pg::Restore(*earlier, &call));
  return std::optional<v1::Call>(std::move(call));
}

void Journal::Abandon(const pg::RequestKey& key) { pg::Idempotency::Release(store_.pool(), key); }

absl::StatusOr<v1::Call> Journal::Record(absl::string_view tenant, absl::string_view call_id,
                                         const Event& event, const Cause& cause,
                                         const pg::RequestKey& key,
                                         absl::string_view reject_reason) {
  v1::Call out;
  RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<v1::Call> call,
                     Store::Lock(tx, tenant, CallKey::Id(std::string(call_id))));
    if (!call.has_value()) return api::NotFound("call");
    ASSIGN_OR_RETURN(Transition t, Apply(*call, event));
    if (t.changed) RETURN_IF_ERROR(Save(tx, *call, t, cause));
    if (!reject_reason.empty()) {
      RETURN_IF_ERROR(Store::SetRejectReason(tx, tenant, call_id, reject_reason));
    }
    out = *std::move(call);
    return pg::Idempotency::Remember(tx, key, out.SerializeAsString());
  }));
  return out;
}

absl::StatusOr<v1::Call> Journal::AttachMetaId(absl::string_view tenant, absl::string_view call_id,
                                               absl::string_view meta_call_id, const Cause& cause) {
  v1::Call out;
  RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<v1::Call> call,
                     Store::Lock(tx, tenant, CallKey::Id(std::string(call_id))));
    if (!call.has_value()) return api::NotFound("call");
    if (call->meta_call_id().empty()) {
      call->set_meta_call_id(std::string(meta_call_id));
      CallWrites writes;
      Stage(tx, writes, *call, Transition{.changed = true}, cause);
      RETURN_IF_ERROR(ApplyParked(tx, writes, *call));
      RETURN_IF_ERROR(Store::Write(tx, writes));
    }
    out = *std::move(call);
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace switchboard::calls

#include "services/calls/ingest.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "libs/api/events.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/kafka/dispatch.h"
#include "libs/pg/outbox.h"
#include "services/calls/rules/offers.h"
#include "services/calls/rules/timers.h"
#include "services/calls/rules/webhook_events.h"
#include "switchboard/calls/v1/calls_events.pb.h"

namespace switchboard::calls {

namespace wa = webhooks::v1;

Ingest::Ingest(Journal& journal, const core::Clock& clock)
    : journal_(journal), store_(journal.store()), clock_(clock) {}

struct CallWebhook {
  const wa::WhatsAppEvent* event;
  const kafka::Message* message;
  rules::WebhookEvent webhook;
  Cause cause;
};

namespace {

// The call webhook `e` is, or nullopt when it is about no call; INVALID_ARGUMENT when it lacks
// its tenant or Meta's call id.
absl::StatusOr<std::optional<CallWebhook>> Read(const wa::WhatsAppEvent& e,
                                                const kafka::Message& message) {
  std::optional<rules::WebhookEvent> w = rules::FromWebhook(e, message.event.time);
  if (!w.has_value()) return std::nullopt;
  if (e.header().tenant_id().empty() || w->meta_call_id.empty()) {
    return core::InvalidArgument("INCOMPLETE_EVENT", "call event without tenant or call id");
  }
  const Cause cause{.at = w->event.at,
                    .correlation_id = e.header().correlation_id(),
                    .causation_id = message.event.id};
  return CallWebhook{&e, &message, *std::move(w), cause};
}

// The inbound call a webhook Meta's id finds no call for starts.
v1::Call NewInbound(const CallWebhook& c, const core::Clock& clock) {
  v1::Call call;
  call.set_call_id(core::NewId(clock));
  call.set_tenant_id(c.event->header().tenant_id());
  call.set_meta_call_id(c.webhook.meta_call_id);
  call.set_direction(v1::CALL_DIRECTION_INBOUND);
  call.set_business_phone_number_id(c.event->phone_number_id());
  call.set_business_display_number(c.event->display_phone_number());
  return call;
}

// Another consumer created the same inbound call meanwhile (a rebalance overlap): retry, and the
// next attempt finds it. (ALREADY_EXISTS would count as done.)
absl::Status CreatedConcurrently(absl::Status applied) {
  if (applied.code() != absl::StatusCode::kAlreadyExists) return applied;
  return core::Error(absl::StatusCode::kAborted, "CALL_CREATED_CONCURRENTLY",
                     "the call was created concurrently; retrying");
}

}  // namespace

absl::Status Ingest::ApplyCallWebhook(pg::Conn& tx, CallWrites& writes, v1::Call& call,
                                      const CallWebhook& c, bool existing, bool filled_id) {
  const wa::WhatsAppEvent& e = *c.event;
  RETURN_IF_ERROR(
      journal_.ApplyWebhook(tx, writes, call, e, c.webhook, existing, filled_id, c.cause));
  if (e.has_call_connected() && e.call_connected().sdp_type() == wa::SDP_TYPE_OFFER &&
      call.direction() == v1::CALL_DIRECTION_INBOUND && !e.call_connected().sdp().empty()) {
    // The agents it rings answer this offer (GetCall gives it to them).
    writes.KeepUserOffer(call, e.call_connected().sdp());
  }
  return absl::OkStatus();
}

absl::Status Ingest::OnWhatsAppEvent(const wa::WhatsAppEvent& e, const kafka::Message& message) {
  ASSIGN_OR_RETURN(std::optional<CallWebhook> read, Read(e, message));
  if (!read.has_value()) return absl::OkStatus();
  const CallWebhook& c = *read;
  const std::string& tenant = e.header().tenant_id();
  const rules::WebhookEvent& w = c.webhook;
  return CreatedConcurrently(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool first,
                     pg::Inbox::MarkProcessed(tx, message.event.source, message.event.id));
    if (!first) return absl::OkStatus();  // a redelivery: already applied
    ASSIGN_OR_RETURN(std::optional<v1::Call> found,
                     Store::Lock(tx, tenant, CallKey::Meta(w.meta_call_id)));
    if (!found.has_value() && !w.callback_data.empty()) {
      ASSIGN_OR_RETURN(found, Store::Lock(tx, tenant, CallKey::Id(w.callback_data)));
    }
    const bool existing = found.has_value();
    CallWrites writes;
    v1::Call call;
    bool filled_id = false;
    if (existing) {
      call = *std::move(found);
      if (call.meta_call_id().empty()) {
        filled_id = true;
        // Found by our id before StartCall stored Meta's: store it now, and apply what was
        // parked under it first (it arrived first).
        call.set_meta_call_id(w.meta_call_id);
        RETURN_IF_ERROR(journal_.ApplyParked(tx, writes, call));
      }
    } else if (w.direction != v1::CALL_DIRECTION_INBOUND) {
      // An outbound call's webhook before StartCall stored Meta's id: kept for StartCall.
      log::Info("call webhook parked until its outbound call is known",
                {{"tenant", tenant}, {"meta_call_id", w.meta_call_id}});
      return Store::Park(tx, tenant, w.meta_call_id, message.event.id, message.event.payload,
                         w.event.at, clock_.Now());
    } else {
      call = NewInbound(c, clock_);
    }
    RETURN_IF_ERROR(ApplyCallWebhook(tx, writes, call, c, existing, filled_id));
    return Store::Write(tx, writes);
  }));
}

absl::Status Ingest::OnWhatsAppEvents(const std::vector<kafka::Typed<wa::WhatsAppEvent>>& batch) {
  std::vector<CallWebhook> webhooks;
  webhooks.reserve(batch.size());
  for (const kafka::Typed<wa::WhatsAppEvent>& t : batch) {
    // An incomplete one fails the batch, and alone it is poison.
    ASSIGN_OR_RETURN(std::optional<CallWebhook> read, Read(t.event, *t.message));
    if (read.has_value()) webhooks.push_back(*std::move(read));
  }
  if (webhooks.empty()) return absl::OkStatus();
  std::vector<std::pair<std::string, std::string>> ids, metas;
  for (const CallWebhook& c : webhooks) {
    ids.emplace_back(c.message->event.source, c.message->event.id);
    metas.emplace_back(c.event->header().tenant_id(), c.webhook.meta_call_id);
  }
  return CreatedConcurrently(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<bool> first, pg::Inbox::MarkAllProcessed(tx, ids));
    ASSIGN_OR_RETURN(std::vector<v1::Call> locked, Store::LockByMeta(tx, metas));
    struct Known {
      v1::Call call;
      bool existing;
    };
    absl::flat_hash_map<std::pair<std::string, std::string>, Known> calls;
    for (v1::Call& call : locked) {
      std::pair<std::string, std::string> key{call.tenant_id(), call.meta_call_id()};
      calls.try_emplace(std::move(key), Known{std::move(call), true});
    }
    CallWrites writes;
    for (size_t i = 0; i < webhooks.size(); ++i) {
      if (!first[i]) continue;  // a redelivery: already applied
      const CallWebhook& c = webhooks[i];
      auto it = calls.find(metas[i]);
      if (it == calls.end()) {
        if (c.webhook.direction != v1::CALL_DIRECTION_INBOUND || !c.webhook.callback_data.empty()) {
          // An outbound call not known by Meta's id yet (found by ours, or parked): rare, and
          // OnWhatsAppEvent's to handle, one webhook at a time.
          return core::Error(absl::StatusCode::kAborted, kafka::kBatchRefused,
                             "an outbound call not yet known by Meta's id");
        }
        it = calls.try_emplace(metas[i], Known{NewInbound(c, clock_), false}).first;
      }
      Known& known = it->second;
      RETURN_IF_ERROR(ApplyCallWebhook(tx, writes, known.call, c, known.existing, false));
      known.existing = true;
    }
    return Store::Write(tx, writes);
  }));
}

absl::Status Ingest::OnceForCall(const kafka::Message& message, const std::string& tenant,
                                 const std::string& call_id,
                                 const std::function<absl::Status(pg::Conn&, v1::Call*)>& apply) {
  return store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool first,
                     pg::Inbox::MarkProcessed(tx, message.event.source, message.event.id));
    if (!first) return absl::OkStatus();  // a redelivery: already applied
    ASSIGN_OR_RETURN(std::optional<v1::Call> call, Store::Lock(tx, tenant, CallKey::Id(call_id)));
    if (!call.has_value()) {
      log::Warning("event for an unknown call ignored",
                   {{"tenant", tenant}, {"call_id", call_id}, {"type", message.event.type}});
      return absl::OkStatus();
    }
    return apply(tx, &*call);
  });
}

absl::StatusOr<std::optional<Fired>> Ingest::OnCallOffer(const routing::v1::CallOffer& offer,
                                                         const kafka::Message& message) {
  std::optional<Event> event = rules::FromOffer(offer);
  if (!event.has_value()) return std::nullopt;
  const std::string& tenant = offer.header().tenant_id();
  if (tenant.empty() || offer.call_id().empty()) {
    return core::InvalidArgument("INCOMPLETE_EVENT", "CallOffer without tenant or call id");
  }
  std::optional<Fired> missed;
  RETURN_IF_ERROR(OnceForCall(message, tenant, offer.call_id(),
                              [&](pg::Conn& tx, v1::Call* call) -> absl::Status {
                                missed.reset();
                                absl::StatusOr<Transition> t = Apply(*call, *event);
                                if (!t.ok() || !t->changed)
                                  return absl::OkStatus();  // answered or ended meanwhile
                                const Cause cause{.at = event->at,
                                                  .correlation_id = offer.header().correlation_id(),
                                                  .causation_id = message.event.id};
                                RETURN_IF_ERROR(journal_.Save(tx, *call, *t, cause));
                                if (call->state() != v1::CALL_STATE_MISSED) return absl::OkStatus();
                                missed = Fired{*call, TimerKind::kRing};
                                if (!offer.schedule_callback()) return absl::OkStatus();
                                // The team calls back whoever it missed: one callback per call
                                // (this transition happens once), due at once, for the contact's
                                // agent.
                                v1::Callback cb;
                                cb.set_callback_id(absl::StrCat("missed-", call->call_id()));
                                *cb.mutable_contact() = call->contact();
                                cb.set_business_phone_number_id(call->business_phone_number_id());
                                cb.set_assigned_agent_id(offer.callback_agent_id());
                                *cb.mutable_due_time() = core::ToProto(event->at);
                                cb.set_state(v1::CALLBACK_STATE_PENDING);
                                cb.set_source_call_id(call->call_id());
                                cb.set_created_by("routing");
                                cb.set_note("Missed call");
                                *cb.mutable_create_time() = core::ToProto(clock_.Now());
                                return Store::SaveCallback(tx, tenant, cb, 0, clock_.Now());
                              }));
  return missed;
}

absl::Status Ingest::OnCallRated(const billing::v1::CallRated& rated,
                                 const kafka::Message& message) {
  const std::string& tenant = rated.header().tenant_id();
  if (tenant.empty() || rated.call_id().empty()) {
    return core::InvalidArgument("INCOMPLETE_EVENT", "CallRated without tenant or call id");
  }
  return OnceForCall(
      message, tenant, rated.call_id(), [&](pg::Conn& tx, v1::Call* call) -> absl::Status {
        *call->mutable_cost() = rated.cost();
        const Cause cause{.at = clock_.Now(),
                          .correlation_id = rated.header().correlation_id(),
                          .causation_id = message.event.id};
        RETURN_IF_ERROR(journal_.Save(tx, *call, Transition{.changed = true}, cause));
        return Store::SetCost(tx, tenant, rated.call_id(), rated.cost(), rated.usage_minutes())
            .status();
      });
}

absl::StatusOr<std::vector<Fired>> Ingest::FireTimers(int limit) {
  std::vector<Fired> fired;
  RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    fired.clear();
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(std::vector<DueTimer> due, Store::TakeDueTimers(tx, now, limit));
    for (const DueTimer& timer : due) {
      ASSIGN_OR_RETURN(std::optional<v1::Call> call,
                       Store::Lock(tx, timer.tenant_id, CallKey::Id(timer.call_id)));
      if (!call.has_value()) continue;
      const Event event = Fire(*call, timer.kind, timer.due);
      absl::StatusOr<Transition> t = Apply(*call, event);
      if (!t.ok() || !t->changed) continue;  // answered or ended meanwhile
      RETURN_IF_ERROR(
          journal_.Save(tx, *call, *t, {.at = event.at, .correlation_id = timer.call_id}));
      fired.push_back({*std::move(call), timer.kind});
    }
    return absl::OkStatus();
  }));
  return fired;
}

absl::StatusOr<int> Ingest::FireCallbacks(int limit) {
  int fired = 0;
  RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(std::vector<StoredCallback> due, Store::TakeDueCallbacks(tx, now, limit));
    for (StoredCallback& due_one : due) {
      v1::Callback& callback = due_one.callback;
      callback.set_state(v1::CALLBACK_STATE_DUE);
      const int64_t sequence = due_one.sequence + 1;
      RETURN_IF_ERROR(Store::SaveCallback(tx, due_one.tenant_id, callback, sequence, now));
      v1::CallbackDue event;
      *event.mutable_header() =
          api::Header(due_one.tenant_id, callback.callback_id(), sequence,
                      core::FromProto(callback.due_time()), callback.callback_id());
      *event.mutable_callback() = callback;
      RETURN_IF_ERROR(pg::Outbox::Enqueue(tx, kafka::kCallsState, event, callback.callback_id(),
                                          absl::StrCat(callback.callback_id(), "/", sequence),
                                          core::FromProto(callback.due_time()), "calls"));
    }
    fired = static_cast<int>(due.size());
    return absl::OkStatus();
  }));
  return fired;
}

}  // namespace switchboard::calls

#include "services/calls/ingest.h"

#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/outbox.h"
#include "services/calls/contact.h"
#include "services/calls/lifecycle.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"

namespace switchboard::calls {
namespace {

namespace wa = webhooks::v1;

// What a webhook says, as the lifecycle's event plus what identifies its call.
struct Mapped {
  Event event;
  std::string meta_call_id;
  std::string callback_data;  // biz_opaque_callback_data: our call id, outbound
  v1::CallDirection direction = v1::CALL_DIRECTION_UNSPECIFIED;
  const events::v1::ContactRef* contact = nullptr;
};

v1::CallDirection Direction(wa::CallDirection d) {
  switch (d) {
    case wa::CALL_DIRECTION_USER_INITIATED:
      return v1::CALL_DIRECTION_INBOUND;
    case wa::CALL_DIRECTION_BUSINESS_INITIATED:
      return v1::CALL_DIRECTION_OUTBOUND;
    default:
      return v1::CALL_DIRECTION_UNSPECIFIED;
  }
}

std::optional<Mapped> Map(const wa::WhatsAppEvent& e, absl::Time received) {
  absl::Time at = e.has_meta_event_time() ? core::FromProto(e.meta_event_time()) : received;
  Mapped m;
  m.event.at = at;
  switch (e.event_case()) {
    case wa::WhatsAppEvent::kCallConnected: {
      const auto& c = e.call_connected();
      m.event.kind = EventKind::kConnect;
      m.meta_call_id = c.meta_call_id();
      m.direction = Direction(c.direction());
      m.contact = &c.contact();
      return m;
    }
    case wa::WhatsAppEvent::kCallTerminated: {
      const auto& t = e.call_terminated();
      m.event.kind = EventKind::kTerminate;
      m.event.completed = t.status() == wa::TERMINATE_STATUS_COMPLETED;
      if (t.has_start_time()) m.event.start_time = core::FromProto(t.start_time());
      if (t.has_end_time()) m.event.end_time = core::FromProto(t.end_time());
      if (t.has_duration()) m.event.duration = absl::Seconds(t.duration().seconds());
      if (t.errors_size() > 0) m.event.meta_error_code = t.errors(0).code();
      m.meta_call_id = t.meta_call_id();
      m.callback_data = t.biz_opaque_callback_data();
      m.direction = Direction(t.direction());
      m.contact = &t.contact();
      return m;
    }
    case wa::WhatsAppEvent::kCallStatusUpdated: {
      const auto& s = e.call_status_updated();
      switch (s.status()) {
        case wa::CALL_STATUS_RINGING:
          m.event.kind = EventKind::kRinging;
          break;
        case wa::CALL_STATUS_ACCEPTED:
          m.event.kind = EventKind::kAccepted;
          break;
        case wa::CALL_STATUS_REJECTED:
          m.event.kind = EventKind::kRejected;
          break;
        default:
          return std::nullopt;
      }
      m.meta_call_id = s.meta_call_id();
      m.callback_data = s.biz_opaque_callback_data();
      m.direction = v1::CALL_DIRECTION_OUTBOUND;  // statuses are for business-initiated calls
      m.contact = &s.contact();
      return m;
    }
    default:
      return std::nullopt;  // messages, permissions, account: not the calls service's
  }
}

// Fills the contact's details the record lacks (the first webhook may not carry the name).
bool MergeContact(v1::Call& call, const events::v1::ContactRef& from) {
  bool changed = false;
  auto* c = call.mutable_contact();
  auto fill = [&](std::string* field, const std::string& value) {
    if (field->empty() && !value.empty()) {
      *field = value;
      changed = true;
    }
  };
  fill(c->mutable_wa_id(), from.wa_id());
  fill(c->mutable_user_id(), from.user_id());
  fill(c->mutable_phone_e164(), from.phone_e164());
  fill(c->mutable_display_name(), from.display_name());
  if (call.contact_region_code().empty() && !c->phone_e164().empty()) {
    std::string region = RegionOf(c->phone_e164());
    if (!region.empty()) {
      call.set_contact_region_code(region);
      changed = true;
    }
  }
  return changed;
}

// Applies one mapped webhook to `call`; saves it when anything changed. Returns whether events
// were enqueued.
// `dirty`: the caller changed the record already (it must be saved even if this event adds
// nothing).
absl::StatusOr<bool> ApplyMapped(Store& store, pg::Conn& tx, v1::Call& call,
                                 const wa::WhatsAppEvent& e, const Mapped& m, bool existing,
                                 bool dirty, const Cause& cause) {
  if (call.meta_call_id().empty()) call.set_meta_call_id(m.meta_call_id);
  bool contact_changed = m.contact != nullptr && MergeContact(call, *m.contact);
  contact_changed = contact_changed || dirty;
  if (call.business_display_number().empty() && !e.display_phone_number().empty()) {
    call.set_business_display_number(e.display_phone_number());  // StartCall does not know it
    contact_changed = true;
  }
  ASSIGN_OR_RETURN(Transition t, Apply(call, m.event));
  if (!t.changed && !contact_changed && existing) return false;
  if (!t.changed) t.changed = true;
  return store.Save(tx, call, t, cause);
}

}  // namespace

Ingest::Ingest(Store& store, const core::Clock& clock, absl::Duration claim_lease,
               std::function<void()> written)
    : store_(store), clock_(clock), claim_lease_(claim_lease), written_(std::move(written)) {}

absl::Status Ingest::OnWhatsAppEvent(const kafka::Message& message) {
  wa::WhatsAppEvent e;
  if (!e.ParseFromString(message.event.payload)) {
    return core::InvalidArgument("UNPARSABLE_EVENT", "whatsapp event does not parse");
  }
  std::optional<Mapped> mapped = Map(e, message.event.time);
  if (!mapped.has_value()) return absl::OkStatus();
  const std::string& tenant = e.header().tenant_id();
  if (tenant.empty() || mapped->meta_call_id.empty()) {
    return core::InvalidArgument("INCOMPLETE_EVENT", "call event without tenant or call id");
  }
  Cause cause{.at = mapped->event.at,
              .correlation_id = e.header().correlation_id(),
              .causation_id = message.event.id};
  bool enqueued = false;
  absl::Status applied = store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    enqueued = false;
    ASSIGN_OR_RETURN(bool first,
                     pg::Inbox::MarkProcessed(tx, message.event.source, message.event.id));
    if (!first) return absl::OkStatus();  // a redelivery: already applied
    ASSIGN_OR_RETURN(std::optional<v1::Call> found,
                     Store::Lock(tx, tenant, CallKey::Meta(mapped->meta_call_id)));
    if (!found.has_value() && !mapped->callback_data.empty()) {
      ASSIGN_OR_RETURN(found, Store::Lock(tx, tenant, CallKey::Id(mapped->callback_data)));
    }
    bool existing = found.has_value();
    v1::Call call;
    bool replayed = false;
    bool filled_id = false;
    if (existing) {
      call = *std::move(found);
      if (call.meta_call_id().empty()) {
        filled_id = true;
        // Found by our id before StartCall stored Meta's: store it now, and apply what was
        // parked under it first (it arrived first).
        call.set_meta_call_id(mapped->meta_call_id);
        ASSIGN_OR_RETURN(replayed, ApplyParked(tx, call));
      }
    } else if (mapped->direction != v1::CALL_DIRECTION_INBOUND) {
      // An outbound call's webhook before StartCall stored Meta's id: kept for StartCall.
      log::Info("call webhook parked until its outbound call is known",
                {{"tenant", tenant}, {"meta_call_id", mapped->meta_call_id}});
      return Store::Park(tx, tenant, mapped->meta_call_id, message.event.id, message.event.payload,
                         mapped->event.at, clock_.Now());
    } else {
      call.set_call_id(core::NewId(clock_));
      call.set_tenant_id(tenant);
      call.set_meta_call_id(mapped->meta_call_id);
      call.set_direction(v1::CALL_DIRECTION_INBOUND);
      call.set_business_phone_number_id(e.phone_number_id());
      call.set_business_display_number(e.display_phone_number());
    }
    ASSIGN_OR_RETURN(enqueued,
                     ApplyMapped(store_, tx, call, e, *mapped, existing, filled_id, cause));
    enqueued = enqueued || replayed;
    return absl::OkStatus();
  });
  if (applied.code() == absl::StatusCode::kAlreadyExists) {
    // Another consumer created the same inbound call meanwhile (a rebalance overlap): retry,
    // and the next attempt finds it. (ALREADY_EXISTS would count as done.)
    return core::Error(absl::StatusCode::kAborted, "CALL_CREATED_CONCURRENTLY",
                       "the call was created concurrently; retrying");
  }
  RETURN_IF_ERROR(applied);
  if (enqueued && written_) written_();
  return absl::OkStatus();
}

absl::StatusOr<bool> Ingest::ApplyParked(pg::Conn& tx, v1::Call& call) {
  ASSIGN_OR_RETURN(std::vector<ParkedEvent> parked,
                   Store::Unpark(tx, call.tenant_id(), call.meta_call_id()));
  bool enqueued = false;
  for (const ParkedEvent& p : parked) {
    wa::WhatsAppEvent e;
    if (!e.ParseFromString(p.payload)) continue;  // parked only after it parsed once
    std::optional<Mapped> mapped = Map(e, p.event_time);
    if (!mapped.has_value()) continue;
    Cause cause{.at = mapped->event.at,
                .correlation_id = e.header().correlation_id(),
                .causation_id = p.event_id};
    ASSIGN_OR_RETURN(bool published, ApplyMapped(store_, tx, call, e, *mapped, true, false, cause));
    enqueued = enqueued || published;
  }
  return enqueued;
}

absl::Status Ingest::OnBillingEvent(const kafka::Message& message) {
  if (message.event.type != billing::v1::CallRated::descriptor()->full_name()) {
    return absl::OkStatus();  // usage updates are eligibility's and notifications' business
  }
  billing::v1::CallRated rated;
  if (!rated.ParseFromString(message.event.payload)) {
    return core::InvalidArgument("UNPARSABLE_EVENT", "CallRated does not parse");
  }
  const std::string& tenant = rated.header().tenant_id();
  if (tenant.empty() || rated.call_id().empty()) {
    return core::InvalidArgument("INCOMPLETE_EVENT", "CallRated without tenant or call id");
  }
  return store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool first,
                     pg::Inbox::MarkProcessed(tx, message.event.source, message.event.id));
    if (!first) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::optional<v1::Call> call,
                     Store::Lock(tx, tenant, CallKey::Id(rated.call_id())));
    if (!call.has_value()) {
      log::Warning("CallRated for an unknown call ignored",
                   {{"tenant", tenant}, {"call_id", rated.call_id()}});
      return absl::OkStatus();
    }
    *call->mutable_cost() = rated.cost();
    Cause cause{.at = clock_.Now(),
                .correlation_id = rated.header().correlation_id(),
                .causation_id = message.event.id};
    RETURN_IF_ERROR(store_.Save(tx, *call, Transition{.changed = true}, cause).status());
    return Store::SetCost(tx, tenant, rated.call_id(), rated.cost(), rated.usage_minutes())
        .status();
  });
}

absl::StatusOr<std::vector<Fired>> Ingest::FireTimers(int limit) {
  std::vector<Fired> fired;
  bool enqueued = false;
  RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    fired.clear();
    enqueued = false;
    ASSIGN_OR_RETURN(std::vector<DueTimer> due, Store::TakeDueTimers(tx, clock_.Now(), limit));
    for (const DueTimer& timer : due) {
      ASSIGN_OR_RETURN(std::optional<v1::Call> call,
                       Store::Lock(tx, timer.tenant_id, CallKey::Id(timer.call_id)));
      if (!call.has_value()) continue;
      if (timer.kind == TimerKind::kRing) {
        // An agent is answering right now (Graph accept in flight): their answer decides.
        ASSIGN_OR_RETURN(
            std::optional<absl::Time> claimed,
            Store::ClaimedUntil(tx, timer.tenant_id, timer.call_id, clock_.Now(), claim_lease_));
        if (claimed.has_value()) {
          RETURN_IF_ERROR(
              Store::SetTimer(tx, timer.tenant_id, timer.call_id, timer.kind, *claimed));
          continue;
        }
      }
      Event event{.kind = EventKind::kRingTimeout, .at = timer.due};
      if (timer.kind == TimerKind::kHangupGrace) {
        // Ended by the agent when they hung up; Meta never confirmed it.
        event = {.kind = EventKind::kAgentEnded,
                 .at = call->has_hangup_requested_time()
                           ? core::FromProto(call->hangup_requested_time())
                           : timer.due,
                 .agent_id = call->answered_by_agent_id()};
      }
      absl::StatusOr<Transition> t = Apply(*call, event);
      if (!t.ok() || !t->changed) continue;  // answered or ended meanwhile
      ASSIGN_OR_RETURN(
          bool published,
          store_.Save(tx, *call, *t, {.at = event.at, .correlation_id = timer.call_id}));
      enqueued = enqueued || published;
      fired.push_back({*std::move(call), timer.kind});
    }
    return absl::OkStatus();
  }));
  if (enqueued && written_) written_();
  return fired;
}

absl::StatusOr<int> Ingest::FireCallbacks(int limit) {
  int fired = 0;
  RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(std::vector<StoredCallback> due, Store::TakeDueCallbacks(tx, now, limit));
    for (StoredCallback& due_one : due) {
      v1::Callback& callback = due_one.callback;
      callback.set_state(v1::CALLBACK_STATE_DUE);
      int64_t sequence = due_one.sequence + 1;
      RETURN_IF_ERROR(Store::SaveCallback(tx, due_one.tenant_id, callback, sequence, now));
      v1::CallbackDue event;
      auto* h = event.mutable_header();
      h->set_tenant_id(due_one.tenant_id);
      h->set_entity_id(callback.callback_id());
      h->set_sequence(sequence);
      *h->mutable_occurred_time() = callback.due_time();
      h->set_correlation_id(callback.callback_id());
      *event.mutable_callback() = callback;
      kafka::Event out = kafka::MakeEvent(event, callback.callback_id(), "calls", clock_);
      out.id = absl::StrCat(callback.callback_id(), "/", sequence);
      out.time = core::FromProto(callback.due_time());
      RETURN_IF_ERROR(pg::Outbox::Enqueue(tx, kafka::kCallsState, out));
    }
    fired = static_cast<int>(due.size());
    return absl::OkStatus();
  }));
  if (fired > 0 && written_) written_();
  return fired;
}

}  // namespace switchboard::calls

#include "services/calls/ingest.h"

#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/outbox.h"
#include "services/calls/lifecycle.h"
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

std::string ContactKey(const events::v1::ContactRef& c) {
  return c.wa_id().empty() ? c.user_id() : c.wa_id();
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
  return changed;
}

constexpr char kSelect[] = "SELECT record FROM calls WHERE tenant_id = $1 AND ";

}  // namespace

Ingest::Ingest(pg::Pool& pool, const core::Clock& clock, absl::Duration ring_timeout,
               std::function<void()> written)
    : pool_(pool), clock_(clock), ring_timeout_(ring_timeout), written_(std::move(written)) {}

absl::StatusOr<bool> Ingest::Save(pg::Conn& tx, v1::Call& call, const Transition& t, absl::Time at,
                                  const std::string& correlation_id,
                                  const std::string& causation_id) {
  if (t.publish) call.set_sequence(call.sequence() + 1);
  absl::Time now = clock_.Now();
  std::vector<pg::Param> params = {
      call.tenant_id(),
      call.call_id(),
      call.meta_call_id(),
      static_cast<int64_t>(call.direction()),
      static_cast<int64_t>(call.state()),
      call.business_phone_number_id(),
      ContactKey(call.contact()),
      call.has_offered_time() ? pg::Param(core::FromProto(call.offered_time()))
                              : pg::Param(std::nullopt),
      call.has_ended_time() ? pg::Param(core::FromProto(call.ended_time()))
                            : pg::Param(std::nullopt),
      call.sequence(),
      pg::Param::Bytes(call.SerializeAsString()),
      now};
  RETURN_IF_ERROR(
      tx.Exec("INSERT INTO calls (tenant_id, call_id, meta_call_id, direction, state, "
              "business_phone_number_id, contact_key, offered_time, ended_time, sequence, "
              "record, create_time, update_time) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) "
              "ON CONFLICT (tenant_id, call_id) DO UPDATE SET meta_call_id = $3, state = $5, "
              "contact_key = $7, offered_time = $8, ended_time = $9, sequence = $10, "
              "record = $11, update_time = $12",
              params)
          .status());
  RETURN_IF_ERROR(KeepTimer(tx, call, t, now));
  if (!t.publish) return false;
  v1::CallStateChanged changed;
  auto* h = changed.mutable_header();
  h->set_tenant_id(call.tenant_id());
  h->set_entity_id(call.call_id());
  h->set_sequence(call.sequence());
  *h->mutable_occurred_time() = core::ToProto(at);
  h->set_correlation_id(correlation_id);
  h->set_causation_id(causation_id);
  *changed.mutable_call() = call;
  changed.set_previous_state(t.from);
  changed.set_state(t.to);
  kafka::Event event = kafka::MakeEvent(changed, call.call_id(), "calls", clock_);
  event.id = absl::StrCat(call.call_id(), "/", call.sequence());
  event.time = at;
  RETURN_IF_ERROR(pg::Outbox::Enqueue(tx, kafka::kCallsState, event));
  return true;
}

absl::Status Ingest::KeepTimer(pg::Conn& tx, const v1::Call& call, const Transition& t,
                               absl::Time now) {
  bool waiting = call.direction() == v1::CALL_DIRECTION_INBOUND &&
                 (call.state() == v1::CALL_STATE_OFFERED || call.state() == v1::CALL_STATE_RINGING);
  if (waiting && t.from == v1::CALL_STATE_UNSPECIFIED) {
    // Durable: a restart while the call rings still ends it on time.
    return tx
        .Exec(
            "INSERT INTO ring_timers (tenant_id, call_id, due_time) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            {call.tenant_id(), call.call_id(), now + ring_timeout_})
        .status();
  }
  if (!waiting && t.publish) {
    return tx
        .Exec("DELETE FROM ring_timers WHERE tenant_id = $1 AND call_id = $2",
              {call.tenant_id(), call.call_id()})
        .status();
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Ingest::FireRingTimeouts() {
  int fired = 0;
  bool enqueued = false;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    fired = 0;
    enqueued = false;
    // SKIP LOCKED: replicas share the work, none waits on another's timers.
    ASSIGN_OR_RETURN(pg::Result due, tx.Exec("SELECT tenant_id, call_id, due_time FROM ring_timers "
                                             "WHERE due_time <= $1 ORDER BY due_time LIMIT 100 "
                                             "FOR UPDATE SKIP LOCKED",
                                             {clock_.Now()}));
    for (int i = 0; i < due.rows(); ++i) {
      std::string tenant(due.Get(i, 0));
      std::string call_id(due.Get(i, 1));
      ASSIGN_OR_RETURN(pg::Result r, tx.Exec(absl::StrCat(kSelect, "call_id = $2 FOR UPDATE"),
                                             {tenant, call_id}));
      RETURN_IF_ERROR(tx.Exec("DELETE FROM ring_timers WHERE tenant_id = $1 AND call_id = $2",
                              {tenant, call_id})
                          .status());
      v1::Call call;
      if (r.rows() == 0 || !call.ParseFromString(r.GetBytes(0, 0))) continue;
      ASSIGN_OR_RETURN(Transition t,
                       Apply(call, {.kind = EventKind::kRingTimeout, .at = due.GetTime(i, 2)}));
      if (!t.changed) continue;  // answered or ended meanwhile
      ASSIGN_OR_RETURN(bool published, Save(tx, call, t, due.GetTime(i, 2), call.call_id(), ""));
      enqueued = enqueued || published;
      ++fired;
    }
    return absl::OkStatus();
  }));
  if (enqueued && written_) written_();
  return fired;
}

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
  bool enqueued = false;
  absl::Status applied = pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    enqueued = false;
    ASSIGN_OR_RETURN(bool first,
                     pg::Inbox::MarkProcessed(tx, message.event.source, message.event.id));
    if (!first) return absl::OkStatus();  // a redelivery: already applied
    ASSIGN_OR_RETURN(pg::Result r, tx.Exec(absl::StrCat(kSelect, "meta_call_id = $2 FOR UPDATE"),
                                           {tenant, mapped->meta_call_id}));
    if (r.rows() == 0 && !mapped->callback_data.empty()) {
      ASSIGN_OR_RETURN(r, tx.Exec(absl::StrCat(kSelect, "call_id = $2 FOR UPDATE"),
                                  {tenant, mapped->callback_data}));
    }
    v1::Call call;
    bool existing = r.rows() > 0;
    if (existing) {
      if (!call.ParseFromString(r.GetBytes(0, 0))) {
        return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_CALL", "stored call");
      }
    } else {
      if (mapped->direction != v1::CALL_DIRECTION_INBOUND) {
        // An outbound call's webhook before (or without) its StartCall record.
        log::Warning("call webhook for an unknown outbound call skipped",
                     {{"tenant", tenant}, {"meta_call_id", mapped->meta_call_id}});
        return absl::OkStatus();
      }
      call.set_call_id(core::NewId());
      call.set_tenant_id(tenant);
      call.set_meta_call_id(mapped->meta_call_id);
      call.set_direction(v1::CALL_DIRECTION_INBOUND);
      call.set_business_phone_number_id(e.phone_number_id());
      call.set_business_display_number(e.display_phone_number());
    }
    if (call.meta_call_id().empty()) call.set_meta_call_id(mapped->meta_call_id);
    bool contact_changed = mapped->contact != nullptr && MergeContact(call, *mapped->contact);
    ASSIGN_OR_RETURN(Transition t, Apply(call, mapped->event));
    if (!t.changed && !contact_changed && existing) return absl::OkStatus();
    ASSIGN_OR_RETURN(enqueued, Save(tx, call, t, mapped->event.at, e.header().correlation_id(),
                                    message.event.id));
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

}  // namespace switchboard::calls

#include "services/calls/rules/webhook_events.h"

#include "libs/api/validate.h"
#include "libs/core/proto_time.h"

namespace switchboard::calls::rules {
namespace {

namespace wa = webhooks::v1;

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

}  // namespace

std::optional<WebhookEvent> FromWebhook(const wa::WhatsAppEvent& e, absl::Time received) {
  absl::Time at = e.has_meta_event_time() ? core::FromProto(e.meta_event_time()) : received;
  WebhookEvent m;
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
      m.event.failed = t.status() == wa::TERMINATE_STATUS_FAILED;
      if (t.has_start_time()) m.event.start_time = core::FromProto(t.start_time());
      if (t.has_end_time()) m.event.end_time = core::FromProto(t.end_time());
      if (t.has_duration()) m.event.duration = absl::Seconds(t.duration().seconds());
      if (t.errors_size() > 0) {
        m.event.meta_error_code = t.errors(0).code();
        m.event.meta_error_title = t.errors(0).title();
        m.event.meta_error_message = t.errors(0).message();
        m.event.meta_error_details = t.errors(0).details();
      }
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
    std::string region = api::RegionOf(c->phone_e164());
    if (!region.empty()) {
      call.set_contact_region_code(region);
      changed = true;
    }
  }
  return changed;
}

}  // namespace switchboard::calls::rules

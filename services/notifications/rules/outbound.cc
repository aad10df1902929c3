#include "services/notifications/rules/outbound.h"

#include "libs/core/proto_time.h"

namespace switchboard::notifications::rules {

Decision Decide(const v1::OutboundMessageRequested& request,
                std::optional<absl::Time> window_opened, absl::Time now) {
  const bool open = window_opened.has_value() && now < *window_opened + kServiceWindow;
  switch (request.content_case()) {
    case v1::OutboundMessageRequested::kText:
      if (request.text().empty()) break;
      if (open) return {Channel::kText};
      if (request.has_fallback_template() && !request.fallback_template().name().empty()) {
        return {Channel::kTemplate};
      }
      return {Channel::kNone, "OUTSIDE_SERVICE_WINDOW"};
    case v1::OutboundMessageRequested::kTemplate:
      if (request.template_().name().empty()) break;
      return {Channel::kTemplate};
    case v1::OutboundMessageRequested::kCallPermissionRequest:
      if (open) return {Channel::kPermissionRequest};
      return {Channel::kNone, "OUTSIDE_SERVICE_WINDOW"};
    default:
      if (request.has_fallback_template() && !request.fallback_template().name().empty()) {
        return {Channel::kTemplate};
      }
      break;
  }
  return {Channel::kNone, "EMPTY_MESSAGE"};
}

std::optional<WindowEvent> OpensWindow(const webhooks::v1::WhatsAppEvent& event) {
  const absl::Time at = core::FromProto(event.meta_event_time());
  switch (event.event_case()) {
    case webhooks::v1::WhatsAppEvent::kInboundMessage:
      return WindowEvent{&event.inbound_message().contact(),
                         event.inbound_message().has_message_time()
                             ? core::FromProto(event.inbound_message().message_time())
                             : at};
    case webhooks::v1::WhatsAppEvent::kCallConnected:
      if (event.call_connected().direction() != webhooks::v1::CALL_DIRECTION_USER_INITIATED) {
        return std::nullopt;
      }
      return WindowEvent{&event.call_connected().contact(), at};
    case webhooks::v1::WhatsAppEvent::kCallStatusUpdated:
      if (event.call_status_updated().status() != webhooks::v1::CALL_STATUS_ACCEPTED) {
        return std::nullopt;
      }
      return WindowEvent{&event.call_status_updated().contact(), at};
    default:
      return std::nullopt;
  }
}

}  // namespace switchboard::notifications::rules

// What Meta's call webhooks (whatsapp.events.v1) say to the lifecycle: each one as a lifecycle
// Event plus what identifies its call (Meta's id, our id echoed back, the direction), and the
// contact details it brings. Pure.
//
//   std::optional<WebhookEvent> w = rules::FromWebhook(event, message.event.time);
//   if (!w) return OkStatus();   // not a call event
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "services/calls/rules/lifecycle.h"
#include "switchboard/calls/v1/calls_service.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"

namespace switchboard::calls::rules {

struct WebhookEvent {
  Event event;
  std::string meta_call_id;
  std::string callback_data;  // biz_opaque_callback_data: our call id, outbound
  v1::CallDirection direction = v1::CALL_DIRECTION_UNSPECIFIED;
  const events::v1::ContactRef* contact = nullptr;  // into the webhook
};

// nullopt for events that are not about calls (messages, permissions, account updates) and
// call statuses the lifecycle does not use. `received`: when Meta's own time is missing.
std::optional<WebhookEvent> FromWebhook(const webhooks::v1::WhatsAppEvent& e, absl::Time received);

// Fills in what `call` does not know yet from a webhook's contact (the first one may lack the
// name) and the region of the number. Returns whether anything changed.
bool MergeContact(v1::Call& call, const events::v1::ContactRef& from);

}  // namespace switchboard::calls::rules

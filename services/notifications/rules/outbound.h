// What the outbound message queue sends: free text inside the contact's 24 h customer-service
// window, the request's template outside it (Meta refuses free text there, 131047), nothing
// when there is neither. And which webhooks open or refresh the window (WHATSAPP_CLOUD_API.md:
// a message from the contact, a call from them answered or not, their accepting our call).
// Pure: times come from the caller.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"

namespace switchboard::notifications::rules {

inline constexpr absl::Duration kServiceWindow = absl::Hours(24);

enum class Channel { kText, kTemplate, kPermissionRequest, kNone };

struct Decision {
  Channel channel = Channel::kNone;
  // kNone: why nothing is sent (OUTSIDE_SERVICE_WINDOW, EMPTY_MESSAGE).
  std::string reason;
};

// `window_opened`: the last time the contact opened the window, nullopt when never.
Decision Decide(const v1::OutboundMessageRequested& request,
                std::optional<absl::Time> window_opened, absl::Time now);

// The contact and the time `event` opens the window at, or nullopt when it does not.
struct WindowEvent {
  const events::v1::ContactRef* contact;
  absl::Time at;
};
std::optional<WindowEvent> OpensWindow(const webhooks::v1::WhatsAppEvent& event);

}  // namespace switchboard::notifications::rules

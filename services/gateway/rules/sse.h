// One notification as a Server-Sent Event (https://html.spec.whatwg.org/#server-sent-events):
// `id:` its notification id (left out when it has none, so the browser keeps its last one),
// `event:` its kind ("started", "reset", "incoming_call", "alert_withdrawn", "call_state",
// "usage_alert", "suspension_alert", "callback_due"), `data:` its JSON on one line. Pure.
#pragma once

#include <string>

#include "switchboard/notifications/v1/notifications_service.pb.h"

namespace switchboard::gateway::rules {

std::string SseEvent(const notifications::v1::Notification& notification);

}  // namespace switchboard::gateway::rules

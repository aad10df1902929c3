#include "services/gateway/rules/sse.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"

namespace rules = switchboard::gateway::rules;
namespace nv1 = switchboard::notifications::v1;

TEST_CASE("a notification is one SSE event: id, kind, one line of JSON") {
  nv1::Notification alert;
  alert.set_notification_id("0a1b2c3d.1780000000123-0");
  alert.mutable_incoming_call()->set_call_id("call-1");
  alert.mutable_incoming_call()->mutable_contact()->set_display_name("Carla\nSouza");
  CHECK(rules::SseEvent(alert) ==
        "id: 0a1b2c3d.1780000000123-0\nevent: incoming_call\ndata: "
        "{\"notificationId\":\"0a1b2c3d.1780000000123-0\",\"incomingCall\":{\"callId\":\"call-1\","
        "\"contact\":{\"displayName\":\"Carla\\nSouza\"}}}\n\n");

  // No id: the line is left out, so the browser keeps the last one it saw.
  nv1::Notification started;
  started.mutable_subscription_started()->set_agent_id("ana");
  std::string event = rules::SseEvent(started);
  CHECK(absl::StartsWith(event, "event: started\ndata: {"));
  CHECK_FALSE(absl::StrContains(event, "id:"));

  nv1::Notification reset;
  reset.set_notification_id("0a1b2c3d.0-0");
  reset.mutable_reset()->set_reason(nv1::RESET_REASON_NEW_SUBSCRIPTION);
  CHECK(absl::StrContains(rules::SseEvent(reset), "\nevent: reset\n"));
  CHECK(absl::StartsWith(rules::SseEvent(nv1::Notification()), "event: notification\n"));
}

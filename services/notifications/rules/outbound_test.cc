#include "services/notifications/rules/outbound.h"

#include <catch2/catch.hpp>

#include "libs/core/proto_time.h"

namespace rules = switchboard::notifications::rules;
namespace v1 = switchboard::notifications::v1;
namespace wv1 = switchboard::webhooks::v1;

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);

v1::OutboundMessageRequested Text(bool with_template) {
  v1::OutboundMessageRequested m;
  m.set_text("Sorry we missed your call.");
  if (with_template) m.mutable_fallback_template()->set_name("missed_call");
  return m;
}

}  // namespace

TEST_CASE("free text until 24 h after the contact opened the window, the template from then") {
  const absl::Time opened = kNow - rules::kServiceWindow;
  // At exactly 24 h the window is closed.
  CHECK(rules::Decide(Text(true), opened, kNow).channel == rules::Channel::kTemplate);
  CHECK(rules::Decide(Text(true), opened + absl::Microseconds(1), kNow).channel ==
        rules::Channel::kText);
  CHECK(rules::Decide(Text(true), std::nullopt, kNow).channel == rules::Channel::kTemplate);
  const rules::Decision none = rules::Decide(Text(false), opened, kNow);
  CHECK(none.channel == rules::Channel::kNone);
  CHECK(none.reason == "OUTSIDE_SERVICE_WINDOW");
  CHECK(rules::Decide(Text(false), kNow, kNow).channel == rules::Channel::kText);
}

TEST_CASE("a request with nothing to send is skipped, and says so") {
  v1::OutboundMessageRequested empty;
  CHECK(rules::Decide(empty, kNow, kNow).reason == "EMPTY_MESSAGE");
  v1::OutboundMessageRequested blank = Text(false);
  blank.set_text("");
  CHECK(rules::Decide(blank, kNow, kNow).channel == rules::Channel::kNone);
  v1::OutboundMessageRequested permission;
  permission.mutable_call_permission_request()->set_body_text("May we call you?");
  CHECK(rules::Decide(permission, kNow, kNow).channel == rules::Channel::kPermissionRequest);
  CHECK(rules::Decide(permission, std::nullopt, kNow).reason == "OUTSIDE_SERVICE_WINDOW");
}

TEST_CASE("a message, the contact's own call and their accepting ours open the window") {
  wv1::WhatsAppEvent message;
  *message.mutable_meta_event_time() = switchboard::core::ToProto(kNow);
  message.mutable_inbound_message()->mutable_contact()->set_wa_id("5511");
  *message.mutable_inbound_message()->mutable_message_time() =
      switchboard::core::ToProto(kNow - absl::Seconds(3));
  auto opens = rules::OpensWindow(message);
  REQUIRE(opens.has_value());
  CHECK(opens->contact->wa_id() == "5511");
  CHECK(opens->at == kNow - absl::Seconds(3));  // the message's own time

  wv1::WhatsAppEvent call;
  *call.mutable_meta_event_time() = switchboard::core::ToProto(kNow);
  call.mutable_call_connected()->set_direction(wv1::CALL_DIRECTION_USER_INITIATED);
  CHECK(rules::OpensWindow(call)->at == kNow);
  call.mutable_call_connected()->set_direction(wv1::CALL_DIRECTION_BUSINESS_INITIATED);
  CHECK_FALSE(rules::OpensWindow(call).has_value());

  wv1::WhatsAppEvent status;
  status.mutable_call_status_updated()->set_status(wv1::CALL_STATUS_ACCEPTED);
  CHECK(rules::OpensWindow(status).has_value());
  status.mutable_call_status_updated()->set_status(wv1::CALL_STATUS_RINGING);
  CHECK_FALSE(rules::OpensWindow(status).has_value());
}

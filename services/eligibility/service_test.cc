// The eligibility service end to end: the runtime with the real module, real Redis, PostgreSQL
// and embedded Kafka, driven over gRPC and through its Kafka topics.
#include "services/eligibility/service.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "libs/auth/token.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/kafka.h"
#include "libs/runtime/app.h"
#include "libs/runtime/grpc.h"
#include "services/eligibility/module.h"
#include "services/webhooks/module.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"

namespace sb = switchboard;
namespace v1 = switchboard::eligibility::v1;
namespace testing = switchboard::testing;
using sb::core::ReasonOf;

namespace {

const std::string kNumber = "1065550001";
// Another tenant's own number: a tenant may only name its own.
const std::string kGlobexNumber = "1065550002";

std::set<std::string> Codes(const google::protobuf::RepeatedPtrField<v1::Reason>& reasons) {
  std::set<std::string> out;
  for (const auto& r : reasons) out.insert(r.code());
  return out;
}

// An outbound call of acme's to `contact` that reached `state`, as calls publishes it on
// calls.state.v1.
sb::calls::v1::CallStateChanged Outbound(sb::calls::v1::CallState state, const std::string& contact,
                                         const std::string& number = kNumber) {
  sb::calls::v1::CallStateChanged c;
  c.mutable_header()->set_tenant_id("acme");
  c.set_state(state);
  auto* call = c.mutable_call();
  call->set_call_id(sb::core::NewId());
  call->set_direction(sb::calls::v1::CALL_DIRECTION_OUTBOUND);
  call->set_business_phone_number_id(number);
  call->mutable_contact()->set_wa_id(contact);
  return c;
}

// Meta's message ids as Meta sends them (tests/integration/meta_payloads_test.cc): base64 with
// its '=' padding, so not an id the API takes.
const std::string kWamid = "wamid.HBgLMTIxODU1NTI4MjgVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";
const std::string kOtherWamid = "wamid.HBgLMTIxODU1NTI4MjgVAgASGBQ5QjJGNzE0RDNCQkY4MDFBMEYA=";

struct Suite {
  Suite()
      : suite({.services = {sb::webhooks::Register, sb::eligibility::Register},
               .numbers = {{.phone_number_id = kNumber,
                            .waba_id = "1020000001",
                            .display_phone_number = "+1 631-555-0001"},
                           {.phone_number_id = kGlobexNumber,
                            .waba_id = "1020000002",
                            .display_phone_number = "+1 631-555-0002",
                            .tenant = "globex"}}}),
        redis(suite.redis()),
        app(&suite.app()) {
    stub = v1::EligibilityService::NewStub(suite.channel());
    producer = std::move(sb::kafka::Producer::Create({.brokers = app->kafka_bootstrap()}).value());
  }

  template <typename Req, typename Resp, typename Method>
  absl::Status Call(Method method, const Req& req, Resp* resp, const std::string& tenant = "acme",
                    const std::string& role = "agent") {
    return testing::Suite::Call(stub.get(), method, req, resp,
                                {.subject = "agent-7", .roles = {role}, .tenant = tenant});
  }
  // The response of a call that must succeed.
  template <typename Resp, typename Req, typename Method>
  Resp Must(Method method, const Req& req, const std::string& tenant = "acme") {
    Resp resp;
    absl::Status s = Call(method, req, &resp, tenant);
    INFO(s.ToString());
    REQUIRE(s.ok());
    return resp;
  }
  v1::CheckEligibilityResponse Check(const std::string& contact, const std::string& tenant = "acme",
                                     v1::CallKind kind = v1::CALL_KIND_USER_REQUESTED) {
    v1::CheckEligibilityRequest req;
    req.mutable_contact()->set_wa_id(contact);
    req.set_business_phone_number_id(tenant == "globex" ? kGlobexNumber : kNumber);
    req.set_call_kind(kind);
    return Must<v1::CheckEligibilityResponse>(&v1::EligibilityService::Stub::CheckEligibility, req,
                                              tenant);
  }
  v1::ReserveCallResponse Reserve(const std::string& contact, const std::string& request_id) {
    v1::ReserveCallRequest req;
    req.mutable_contact()->set_wa_id(contact);
    req.set_business_phone_number_id(kNumber);
    req.set_call_kind(v1::CALL_KIND_USER_REQUESTED);
    req.set_request_id(request_id);
    return Must<v1::ReserveCallResponse>(&v1::EligibilityService::Stub::ReserveCall, req);
  }
  v1::MessageSignal Message(const std::string& contact, const std::string& text) {
    v1::RecordInboundMessageRequest req;
    req.mutable_contact()->set_wa_id(contact);
    req.set_business_phone_number_id(kNumber);
    req.set_text(text);
    req.set_meta_message_id(sb::core::NewId());
    v1::RecordInboundMessageResponse resp;
    REQUIRE(Call(&v1::EligibilityService::Stub::RecordInboundMessage, req, &resp).ok());
    return resp.signal();
  }
  void GrantPermission(const std::string& contact) {
    v1::RecordConsentRequest req;
    req.mutable_contact()->set_wa_id(contact);
    req.set_business_phone_number_id(kNumber);
    req.set_kind(v1::CONSENT_KIND_META_CALL_PERMISSION);
    req.set_source(v1::CONSENT_SOURCE_META_PERMISSION_REPLY);
    v1::RecordConsentResponse resp;
    REQUIRE(Call(&v1::EligibilityService::Stub::RecordConsent, req, &resp).ok());
  }
  // The audit rows of `contact`'s messages that carried a signal.
  int AuditedMessages(const std::string& contact) {
    v1::ListConsentAuditRequest list;
    list.set_filter(absl::StrCat("contact = \"", contact, "\""));
    v1::ListConsentAuditResponse audit;
    absl::Status listed = Call(&v1::EligibilityService::Stub::ListConsentAudit, list, &audit);
    INFO(listed.ToString());
    REQUIRE(listed.ok());
    int n = 0;
    for (const auto& entry : audit.entries())
      n += entry.evidence().find("phrase=") != std::string::npos;
    return n;
  }
  void Publish(const std::string& topic, const google::protobuf::Message& event,
               const std::string& key, const std::string& id = "") {
    sb::kafka::Event e = sb::kafka::MakeEvent(event, key, "test");
    if (!id.empty()) e.id = id;
    REQUIRE(producer->PublishAndWait(topic, e, absl::Seconds(10)).ok());
  }

  testing::Suite suite;
  testing::RedisServer& redis;
  sb::runtime::App* app;
  std::unique_ptr<v1::EligibilityService::Stub> stub;
  std::unique_ptr<sb::kafka::Producer> producer;
};

}  // namespace

TEST_CASE(
    "a contact goes from blocked, with every reason, to eligible as messages and consent arrive") {
  Suite s;
  v1::CheckEligibilityResponse first = s.Check("5511999990000");
  CHECK_FALSE(first.eligible());
  CHECK(Codes(first.blocking_reasons()) ==
        std::set<std::string>{"NO_CONVERSATION_HISTORY", "NO_CALL_REQUEST", "NO_CALL_PERMISSION"});
  for (const auto& r : first.blocking_reasons()) CHECK_FALSE(r.message().empty());

  CHECK(s.Message("5511999990000", "Olá, pode me ligar?") == v1::MESSAGE_SIGNAL_CALL_REQUEST);
  CHECK(Codes(s.Check("5511999990000").blocking_reasons()) ==
        std::set<std::string>{"NO_CALL_PERMISSION"});
  s.GrantPermission("5511999990000");
  v1::CheckEligibilityResponse ok = s.Check("5511999990000");
  CHECK(ok.eligible());
  CHECK(ok.blocking_reasons().empty());

  // Another tenant knows nothing about this contact.
  CHECK(Codes(s.Check("5511999990000", "globex").blocking_reasons())
            .count("NO_CONVERSATION_HISTORY"));

  // "Don't call me" wins over the earlier request.
  CHECK(s.Message("5511999990000", "Please don't call me again") == v1::MESSAGE_SIGNAL_OPT_OUT);
  CHECK(Codes(s.Check("5511999990000").blocking_reasons()) == std::set<std::string>{"OPTED_OUT"});
}

TEST_CASE("reservations take rate-limit tokens: five a minute, idempotent by request id") {
  Suite s;
  s.Message("5511999990001", "call me please");
  s.GrantPermission("5511999990001");
  std::string first_id;
  for (int i = 0; i < 5; ++i) {
    v1::ReserveCallResponse r = s.Reserve("5511999990001", absl::StrCat("req-", i));
    REQUIRE(r.granted());
    if (i == 0) first_id = r.reservation_id();
  }
  v1::ReserveCallResponse again = s.Reserve("5511999990001", "req-0");
  CHECK(again.granted());
  CHECK(again.reservation_id() == first_id);

  v1::ReserveCallResponse sixth = s.Reserve("5511999990001", "req-5");
  CHECK_FALSE(sixth.granted());
  CHECK(Codes(sixth.blocking_reasons()) == std::set<std::string>{"RATE_LIMIT_MINUTE"});
  CHECK(sixth.blocking_reasons(0).has_clears_time());
  // The read-only check sees it too, and takes nothing.
  CHECK(Codes(s.Check("5511999990001").blocking_reasons()) ==
        std::set<std::string>{"RATE_LIMIT_MINUTE"});
}

TEST_CASE("events from Kafka feed the rules, once each however often they come") {
  Suite s;
  s.GrantPermission("5511999990002");
  sb::webhooks::v1::WhatsAppEvent e;
  e.mutable_header()->set_tenant_id("acme");
  e.set_phone_number_id(kNumber);
  auto* msg = e.mutable_inbound_message();
  msg->set_meta_message_id("wamid.1");
  msg->mutable_contact()->set_wa_id("5511999990002");
  msg->set_text("¿Me puedes llamar?");
  *msg->mutable_message_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
  std::string id = sb::core::NewId();
  s.Publish(sb::kafka::kWhatsAppEvents, e, "5511999990002", id);
  s.Publish(sb::kafka::kWhatsAppEvents, e, "5511999990002", id);  // Meta retried
  REQUIRE(
      testing::Eventually([&] { return s.Check("5511999990002").eligible(); }, absl::Seconds(20)));

  v1::ListConsentAuditRequest list;
  list.set_filter("contact = \"5511999990002\"");
  v1::ListConsentAuditResponse audit;
  REQUIRE(s.Call(&v1::EligibilityService::Stub::ListConsentAudit, list, &audit).ok());
  int requests = 0;
  for (const auto& entry : audit.entries())
    requests += entry.evidence().find("phrase=") != std::string::npos;
  CHECK(requests == 1);

  // Five missed outbound calls in a few minutes suspend calling on the number.
  for (int i = 0; i < 5; ++i) {
    sb::calls::v1::CallStateChanged c =
        Outbound(sb::calls::v1::CALL_STATE_MISSED, absl::StrCat("551188888000", i));
    *c.mutable_call()->mutable_ended_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
    s.Publish(sb::kafka::kCallsState, c, c.call().call_id());
  }
  REQUIRE(testing::Eventually(
      [&] {
        return Codes(s.Check("5511999990002").blocking_reasons()).count("SUSPENDED_MISSED_CALLS") >
               0;
      },
      absl::Seconds(20)));
}

TEST_CASE("with Redis killed, checks answer degraded at once and reservations fail closed") {
  Suite s;
  s.Message("5511999990003", "call me");
  s.GrantPermission("5511999990003");
  REQUIRE(s.Check("5511999990003").eligible());
  s.redis.Kill();

  // The facts read a moment ago may still answer the button for up to Checks::kFactsTtl (they
  // are correct data); after that the check has no facts and says it is degraded.
  REQUIRE(testing::Eventually([&] { return s.Check("5511999990003").degraded(); },
                              sb::eligibility::Checks::kFactsTtl + absl::Seconds(5)));
  absl::Time start = absl::Now();
  v1::CheckEligibilityResponse check = s.Check("5511999990003");
  absl::Duration took = absl::Now() - start;
  WARN("degraded CheckEligibility answered in " << absl::FormatDuration(took));
  CHECK(check.degraded());
  CHECK(check.eligible());  // CheckEligibility fails open by default...
  CHECK(Codes(check.warnings()).count("CHECK_DEGRADED"));
  CHECK(took < absl::Seconds(1));  // a guard against hangs; the figure is in the WARN above

  v1::ReserveCallResponse reserve = s.Reserve("5511999990003", "during-outage");
  CHECK_FALSE(reserve.granted());  // ...ReserveCall fails closed
  CHECK(reserve.degraded());
  CHECK(Codes(reserve.blocking_reasons()).count("CHECK_DEGRADED"));

  s.redis.Restart();
  REQUIRE(testing::Eventually([&] { return s.Reserve("5511999990003", "after").granted(); },
                              absl::Seconds(10)));
}

TEST_CASE("bad input is refused with a reason and writes nothing") {
  Suite s;
  auto check = [&](v1::CheckEligibilityRequest req) {
    v1::CheckEligibilityResponse resp;
    return s.Call(&v1::EligibilityService::Stub::CheckEligibility, req, &resp);
  };
  v1::CheckEligibilityRequest req;
  req.mutable_contact()->set_wa_id("5511999990004");
  req.set_business_phone_number_id(kNumber);
  CHECK(ReasonOf(check(req)) == "MISSING_CALL_KIND");
  req.set_call_kind(v1::CALL_KIND_AGENT_OFFERED);
  req.mutable_contact()->set_phone_e164("+55119");
  CHECK(ReasonOf(check(req)) == "INVALID_PHONE_NUMBER");
  req.mutable_contact()->set_phone_e164("+5511999990004");
  CHECK(check(req).ok());
  req.mutable_contact()->set_wa_id("55}:evil");
  CHECK(ReasonOf(check(req)) == "INVALID_CONTACT");
  req.mutable_contact()->set_wa_id("");
  CHECK(ReasonOf(check(req)) == "MISSING_CONTACT");

  v1::RecordInboundMessageRequest msg;
  msg.mutable_contact()->set_wa_id("5511999990004");
  msg.set_business_phone_number_id(kNumber);
  msg.set_text("call me");
  msg.mutable_message_time()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(2)));
  v1::RecordInboundMessageResponse mresp;
  absl::Status future = s.Call(&v1::EligibilityService::Stub::RecordInboundMessage, msg, &mresp);
  CHECK(future.code() == absl::StatusCode::kInvalidArgument);
  CHECK(ReasonOf(future) == "INVALID_TIME");

  v1::ReserveCallRequest reserve;
  reserve.mutable_contact()->set_wa_id("5511999990004");
  reserve.set_business_phone_number_id(kNumber);
  reserve.set_call_kind(v1::CALL_KIND_USER_REQUESTED);
  v1::ReserveCallResponse rresp;
  CHECK(ReasonOf(s.Call(&v1::EligibilityService::Stub::ReserveCall, reserve, &rresp)) ==
        "MISSING_REQUEST_ID");

  // Nothing of the refused requests was written.
  CHECK(Codes(s.Check("5511999990004").blocking_reasons()).count("NO_CONVERSATION_HISTORY"));
  v1::ListConsentAuditRequest list;
  v1::ListConsentAuditResponse audit;
  REQUIRE(s.Call(&v1::EligibilityService::Stub::ListConsentAudit, list, &audit).ok());
  CHECK(audit.entries().empty());
  list.set_filter("tenant = \"globex\"");
  CHECK(ReasonOf(s.Call(&v1::EligibilityService::Stub::ListConsentAudit, list, &audit)) ==
        "INVALID_FILTER");
}

TEST_CASE("a tenant's policy changes its decisions, and only an admin may change it") {
  Suite s;
  s.Message("5511999990005", "call me");
  s.GrantPermission("5511999990005");
  v1::UpdateTenantPolicyRequest update;
  update.mutable_policy()->set_calls_per_minute(2);
  update.mutable_update_mask()->add_paths("calls_per_minute");
  v1::UpdateTenantPolicyResponse updated;
  absl::Status denied = s.Call(&v1::EligibilityService::Stub::UpdateTenantPolicy, update, &updated);
  CHECK(denied.code() == absl::StatusCode::kPermissionDenied);
  CHECK(ReasonOf(denied) == "ADMIN_ROLE_REQUIRED");
  REQUIRE(
      s.Call(&v1::EligibilityService::Stub::UpdateTenantPolicy, update, &updated, "acme", "admin")
          .ok());
  CHECK(updated.policy().calls_per_minute() == 2);
  CHECK(updated.policy().calls_per_hour() == 60);  // defaults filled in

  CHECK(s.Reserve("5511999990005", "p1").granted());
  CHECK(s.Reserve("5511999990005", "p2").granted());
  CHECK(Codes(s.Reserve("5511999990005", "p3").blocking_reasons()) ==
        std::set<std::string>{"RATE_LIMIT_MINUTE"});

  // Another tenant keeps the defaults.
  v1::GetTenantPolicyRequest get;
  v1::GetTenantPolicyResponse globex;
  REQUIRE(s.Call(&v1::EligibilityService::Stub::GetTenantPolicy, get, &globex, "globex").ok());
  CHECK(globex.policy().calls_per_minute() == 5);

  update.mutable_update_mask()->add_paths("colour");
  CHECK(ReasonOf(s.Call(&v1::EligibilityService::Stub::UpdateTenantPolicy, update, &updated, "acme",
                        "admin")) == "INVALID_UPDATE_MASK");
}

TEST_CASE("usage from billing and availability from routing arrive as events") {
  Suite s;
  s.Message("5511999990006", "call me");
  s.GrantPermission("5511999990006");
  v1::CheckEligibilityRequest req;
  req.mutable_contact()->set_wa_id("5511999990006");
  req.set_business_phone_number_id(kNumber);
  req.set_call_kind(v1::CALL_KIND_USER_REQUESTED);
  req.set_agent_id("agent-9");
  auto codes = [&] {
    v1::CheckEligibilityResponse resp;
    REQUIRE(s.Call(&v1::EligibilityService::Stub::CheckEligibility, req, &resp).ok());
    return Codes(resp.blocking_reasons());
  };
  REQUIRE(codes().empty());

  sb::billing::v1::UsageUpdated usage;
  usage.mutable_header()->set_tenant_id("acme");
  usage.mutable_header()->set_sequence(3);
  usage.set_month("2026-11");
  usage.set_minutes_used(500);
  usage.set_minutes_limit(500);
  s.Publish(sb::kafka::kBillingUsage, usage, "acme");
  sb::routing::v1::AgentAvailabilityChanged busy;
  busy.mutable_header()->set_tenant_id("acme");
  busy.mutable_agent()->set_agent_id("agent-9");
  busy.mutable_agent()->set_availability(sb::routing::v1::AVAILABILITY_BUSY);
  *busy.mutable_agent()->mutable_availability_change_time() =
      google::protobuf::util::TimeUtil::GetCurrentTime();
  s.Publish(sb::kafka::kRoutingAvailability, busy, "agent-9");

  REQUIRE(testing::Eventually(
      [&] {
        return codes() == std::set<std::string>{"MONTHLY_MINUTES_EXHAUSTED", "AGENT_NOT_AVAILABLE"};
      },
      absl::Seconds(20)));
  // An older usage event (sequence 2) arriving late changes nothing. A newer one (sequence 4)
  // published after it on the same key is consumed after it: once it shows, the late one has
  // been handled, and ignored.
  usage.mutable_header()->set_sequence(2);
  usage.set_minutes_used(10);
  s.Publish(sb::kafka::kBillingUsage, usage, "acme");
  usage.mutable_header()->set_sequence(4);
  usage.set_minutes_used(501);
  s.Publish(sb::kafka::kBillingUsage, usage, "acme");
  auto used = [&] {
    v1::CheckEligibilityResponse resp;
    REQUIRE(s.Call(&v1::EligibilityService::Stub::CheckEligibility, req, &resp).ok());
    for (const auto& r : resp.blocking_reasons()) {
      if (r.code() == "MONTHLY_MINUTES_EXHAUSTED") return r.metadata().at("used");
    }
    return std::string("none");
  };
  REQUIRE(testing::Eventually([&] { return used() == "501"; }, absl::Seconds(20)));
}

TEST_CASE("Meta's daily cap counts answered outbound calls to the contact") {
  Suite s;
  s.Message("5511999990007", "call me");
  s.GrantPermission("5511999990007");
  v1::UpdateTenantPolicyRequest update;
  update.mutable_policy()->set_daily_connected_calls_per_contact(2);
  update.mutable_update_mask()->add_paths("daily_connected_calls_per_contact");
  v1::UpdateTenantPolicyResponse updated;
  REQUIRE(
      s.Call(&v1::EligibilityService::Stub::UpdateTenantPolicy, update, &updated, "acme", "admin")
          .ok());
  for (int i = 0; i < 2; ++i) {
    sb::calls::v1::CallStateChanged c =
        Outbound(sb::calls::v1::CALL_STATE_ANSWERED, "5511999990007");
    *c.mutable_header()->mutable_occurred_time() =
        google::protobuf::util::TimeUtil::GetCurrentTime();
    s.Publish(sb::kafka::kCallsState, c, c.call().call_id());
    s.Publish(sb::kafka::kCallsState, c, c.call().call_id());  // delivered twice, counted once
  }
  REQUIRE(testing::Eventually(
      [&] {
        return Codes(s.Check("5511999990007").blocking_reasons()) ==
               std::set<std::string>{"DAILY_CALL_CAP_REACHED"};
      },
      absl::Seconds(20)));
}

TEST_CASE(
    "a CallbackDue on calls.state.v1 is skipped and counted, not poison; what follows applies") {
  Suite s;
  s.Message("5511999990011", "call me");
  s.GrantPermission("5511999990011");
  v1::UpdateTenantPolicyRequest update;
  update.mutable_policy()->set_daily_connected_calls_per_contact(1);
  update.mutable_update_mask()->add_paths("daily_connected_calls_per_contact");
  v1::UpdateTenantPolicyResponse updated;
  REQUIRE(
      s.Call(&v1::EligibilityService::Stub::UpdateTenantPolicy, update, &updated, "acme", "admin")
          .ok());
  REQUIRE(s.Check("5511999990011").eligible());

  // Calls publishes CallbackDue on the same topic; eligibility does not handle it. One key for
  // both records: one partition, consumed in order.
  sb::calls::v1::CallbackDue due;
  due.mutable_header()->set_tenant_id("acme");
  sb::calls::v1::Callback* callback = due.mutable_callback();
  callback->set_callback_id(sb::core::NewId());
  callback->mutable_contact()->set_wa_id("5511999990011");
  callback->set_business_phone_number_id(kNumber);
  callback->set_state(sb::calls::v1::CALLBACK_STATE_DUE);
  s.Publish(sb::kafka::kCallsState, due, "5511999990011");
  sb::calls::v1::CallStateChanged answered =
      Outbound(sb::calls::v1::CALL_STATE_ANSWERED, "5511999990011");
  *answered.mutable_header()->mutable_occurred_time() =
      google::protobuf::util::TimeUtil::GetCurrentTime();
  s.Publish(sb::kafka::kCallsState, answered, "5511999990011");
  REQUIRE(testing::Eventually(
      [&] {
        return Codes(s.Check("5511999990011").blocking_reasons()) ==
               std::set<std::string>{"DAILY_CALL_CAP_REACHED"};
      },
      absl::Seconds(20)));

  auto consumed = [&](const std::string& outcome) {
    return testing::MetricSample(s.suite.Metrics(), "switchboard_kafka_consumer_messages_total",
                                 {{"group", "eligibility.calls"},
                                  {"topic", sb::kafka::kCallsState},
                                  {"outcome", outcome}})
        .value_or(0);
  };
  // The CallStateChanged is counted once its handler has returned, a moment after its effect.
  REQUIRE(testing::Eventually([&] { return consumed("ok") == 1; }));
  CHECK(consumed("skipped") == 1);
  CHECK(consumed("poison") == 0);
}

TEST_CASE("explicit opt-outs and declines block and are audited with who and how") {
  Suite s;
  s.Message("5511999990008", "call me");
  s.GrantPermission("5511999990008");
  REQUIRE(s.Check("5511999990008").eligible());

  v1::RecordDeclineRequest decline;
  decline.mutable_contact()->set_wa_id("5511999990008");
  decline.set_business_phone_number_id(kNumber);
  decline.set_source(v1::CONSENT_SOURCE_AGENT);
  decline.set_evidence("said no on the phone");
  decline.set_request_id("decline-1");
  v1::RecordDeclineResponse declined;
  REQUIRE(s.Call(&v1::EligibilityService::Stub::RecordDecline, decline, &declined).ok());
  CHECK(declined.entry().action() == v1::CONSENT_ACTION_DECLINED);
  CHECK(Codes(s.Check("5511999990008").blocking_reasons()) ==
        std::set<std::string>{"DECLINED_PREVIOUSLY"});

  v1::RecordOptOutRequest opt_out;
  opt_out.mutable_contact()->set_wa_id("5511999990008");
  opt_out.set_business_phone_number_id(kNumber);
  opt_out.set_source(v1::CONSENT_SOURCE_API);
  opt_out.set_request_id("optout-1");
  v1::RecordOptOutResponse opted;
  REQUIRE(s.Call(&v1::EligibilityService::Stub::RecordOptOut, opt_out, &opted).ok());
  REQUIRE(s.Call(&v1::EligibilityService::Stub::RecordOptOut, opt_out, &opted).ok());  // retry
  CHECK(Codes(s.Check("5511999990008").blocking_reasons()) ==
        std::set<std::string>{"DECLINED_PREVIOUSLY", "OPTED_OUT"});
  opt_out.set_source(v1::CONSENT_SOURCE_UNSPECIFIED);
  CHECK(ReasonOf(s.Call(&v1::EligibilityService::Stub::RecordOptOut, opt_out, &opted)) ==
        "MISSING_SOURCE");

  v1::ListConsentAuditRequest list;
  list.set_filter("contact = \"5511999990008\"");
  v1::ListConsentAuditResponse audit;
  REQUIRE(s.Call(&v1::EligibilityService::Stub::ListConsentAudit, list, &audit).ok());
  REQUIRE(audit.entries_size() >= 3);  // permission, decline, one opt-out (the retry is not)
  CHECK(audit.entries(0).action() == v1::CONSENT_ACTION_OPTED_OUT);
  CHECK(audit.entries(0).source() == v1::CONSENT_SOURCE_API);
  CHECK(audit.entries(0).actor() == "agent-7");
  CHECK(audit.entries(1).action() == v1::CONSENT_ACTION_DECLINED);
  CHECK(audit.entries(1).evidence() == "said no on the phone");
  int opt_outs = 0;
  for (const auto& e : audit.entries()) opt_outs += e.action() == v1::CONSENT_ACTION_OPTED_OUT;
  CHECK(opt_outs == 1);
}

TEST_CASE("a fail-open tenant keeps reserving while Redis is down, warned, without tokens") {
  Suite s;
  s.Message("5511999990009", "call me");
  s.GrantPermission("5511999990009");
  v1::UpdateTenantPolicyRequest update;
  update.mutable_policy()->set_reserve_fail_policy(v1::FAIL_POLICY_FAIL_OPEN);
  update.mutable_update_mask()->add_paths("reserve_fail_policy");
  v1::UpdateTenantPolicyResponse updated;
  REQUIRE(
      s.Call(&v1::EligibilityService::Stub::UpdateTenantPolicy, update, &updated, "acme", "admin")
          .ok());
  s.redis.Kill();
  v1::ReserveCallResponse r = s.Reserve("5511999990009", "open-1");
  CHECK(r.granted());
  CHECK(r.degraded());
  CHECK_FALSE(r.reservation_id().empty());
  CHECK(r.blocking_reasons().empty());
  CHECK(Codes(r.warnings()).count("CHECK_DEGRADED"));
}

TEST_CASE("a suspension is announced on eligibility.state.v1 once, and again when it extends") {
  Suite s;
  absl::Mutex mu;
  std::map<std::string, v1::CallingSuspensionChanged> seen;  // by ce_id
  auto consumer = sb::kafka::Consumer::Create({.brokers = s.app->kafka_bootstrap(),
                                               .group_id = "test.suspensions",
                                               .topics = {sb::kafka::kEligibilityState}},
                                              [&](const sb::kafka::Message& m) {
                                                v1::CallingSuspensionChanged e;
                                                if (!e.ParseFromString(m.event.payload))
                                                  return absl::InvalidArgumentError("bad");
                                                absl::MutexLock l(&mu);
                                                seen[m.event.id] = e;
                                                return absl::OkStatus();
                                              });
  REQUIRE(consumer.ok());
  (*consumer)->Start();
  auto distinct = [&] {
    absl::MutexLock l(&mu);
    return seen.size();
  };

  std::vector<sb::calls::v1::CallStateChanged> missed;
  absl::Time t0 = absl::Now() - absl::Minutes(10);
  for (int i = 0; i < 6; ++i) {
    sb::calls::v1::CallStateChanged c =
        Outbound(sb::calls::v1::CALL_STATE_MISSED, absl::StrCat("551177770000", i), "1065559999");
    c.mutable_call()->mutable_ended_time()->set_seconds(absl::ToUnixSeconds(t0 + absl::Minutes(i)));
    missed.push_back(c);
  }
  // One key for all: one partition, consumed in order.
  for (int i = 0; i < 5; ++i) s.Publish(sb::kafka::kCallsState, missed[i], "1065559999");
  REQUIRE(testing::Eventually([&] { return distinct() == 1; }, absl::Seconds(20)));
  {
    absl::MutexLock l(&mu);
    const v1::CallingSuspensionChanged& e = seen.begin()->second;
    CHECK(e.header().tenant_id() == "acme");
    CHECK(e.business_phone_number_id() == "1065559999");
    CHECK(e.suspended());
    CHECK(e.reason_code() == "SUSPENDED_MISSED_CALLS");
    CHECK(e.missed_call_count() == 5);
    CHECK(e.suspended_until_time().seconds() ==
          absl::ToUnixSeconds(t0 + absl::Minutes(4) + absl::Minutes(15)));
  }
  // The fifth delivered again changes nothing; the sixth extends the suspension. Once the
  // extension is seen, the duplicate (consumed before it) has been handled.
  s.Publish(sb::kafka::kCallsState, missed[4], "1065559999");
  s.Publish(sb::kafka::kCallsState, missed[5], "1065559999");
  REQUIRE(testing::Eventually([&] { return distinct() >= 2; }, absl::Seconds(20)));
  absl::MutexLock l(&mu);
  CHECK(seen.size() == 2);
  int counts = 0;
  for (const auto& [id, e] : seen) counts += e.missed_call_count();
  CHECK(counts == 5 + 6);
}

TEST_CASE("an opt-out is recorded whatever its evidence: cut at a character, never refused") {
  Suite s;
  // 68 Devanagari characters: cut at byte 200 they would end inside a character, and the
  // opt-out used to be refused by PostgreSQL (invalid UTF-8) and lost.
  std::string hindi;
  for (int i = 0; i < 68; ++i) hindi += "न";
  v1::RecordOptOutRequest opt_out;
  opt_out.mutable_contact()->set_wa_id("5511999990009");
  opt_out.set_business_phone_number_id(kNumber);
  opt_out.set_source(v1::CONSENT_SOURCE_AGENT);
  opt_out.set_evidence(hindi);
  v1::RecordOptOutResponse opted;
  REQUIRE(s.Call(&v1::EligibilityService::Stub::RecordOptOut, opt_out, &opted).ok());
  CHECK(opted.entry().evidence() == hindi);
  CHECK(Codes(s.Check("5511999990009").blocking_reasons()).count("OPTED_OUT"));

  // Over the 1 000-character cap: recorded, the evidence cut to its first 1 000 characters.
  std::string long_evidence;
  for (int i = 0; i < 1500; ++i) long_evidence += "ç";
  opt_out.mutable_contact()->set_wa_id("5511999990010");
  opt_out.set_evidence(long_evidence);
  REQUIRE(s.Call(&v1::EligibilityService::Stub::RecordOptOut, opt_out, &opted).ok());
  CHECK(Codes(s.Check("5511999990010").blocking_reasons()).count("OPTED_OUT"));
  v1::ListConsentAuditRequest list;
  list.set_filter("contact = \"5511999990010\"");
  v1::ListConsentAuditResponse audit;
  REQUIRE(s.Call(&v1::EligibilityService::Stub::ListConsentAudit, list, &audit).ok());
  REQUIRE(audit.entries_size() == 1);
  CHECK(audit.entries(0).evidence() == long_evidence.substr(0, 2000));  // 1000 two-byte chars
}

TEST_CASE("a message with Meta's own id, delivered twice, is audited once") {
  Suite s;
  auto message = [](const std::string& contact) {
    sb::webhooks::v1::WhatsAppEvent e;
    e.mutable_header()->set_tenant_id("acme");
    e.set_phone_number_id(kNumber);
    auto* msg = e.mutable_inbound_message();
    msg->mutable_contact()->set_wa_id(contact);
    msg->set_text("Can you call me?");
    *msg->mutable_message_time() = google::protobuf::util::TimeUtil::GetCurrentTime();
    return e;
  };
  // The webhook edge publishes a message under Meta's id. Delivered twice, then another
  // contact's message on the same key (one partition, read in order): once that one is
  // audited, both deliveries were handled.
  s.Publish(sb::kafka::kWhatsAppEvents, message("5511999990012"), "5511999990012", kWamid);
  s.Publish(sb::kafka::kWhatsAppEvents, message("5511999990012"), "5511999990012", kWamid);
  s.Publish(sb::kafka::kWhatsAppEvents, message("5511999990013"), "5511999990012", kOtherWamid);
  REQUIRE(testing::Eventually([&] { return s.AuditedMessages("5511999990013") == 1; },
                              absl::Seconds(20)));
  CHECK(s.AuditedMessages("5511999990012") == 1);

  // The same over the API, known only by Meta's id.
  v1::RecordInboundMessageRequest req;
  req.mutable_contact()->set_wa_id("5511999990014");
  req.set_business_phone_number_id(kNumber);
  req.set_text("Can you call me?");
  req.set_meta_message_id(kWamid);
  for (int i = 0; i < 2; ++i) {
    v1::RecordInboundMessageResponse resp;
    REQUIRE(s.Call(&v1::EligibilityService::Stub::RecordInboundMessage, req, &resp).ok());
  }
  CHECK(s.AuditedMessages("5511999990014") == 1);
}

TEST_CASE("a suspension already over when its missed calls arrive is not announced") {
  Suite s;
  absl::Mutex mu;
  std::vector<v1::CallingSuspensionChanged> seen;
  auto consumer = sb::kafka::Consumer::Create({.brokers = s.app->kafka_bootstrap(),
                                               .group_id = "test.old-suspensions",
                                               .topics = {sb::kafka::kEligibilityState}},
                                              [&](const sb::kafka::Message& m) {
                                                v1::CallingSuspensionChanged e;
                                                if (!e.ParseFromString(m.event.payload))
                                                  return absl::InvalidArgumentError("bad");
                                                absl::MutexLock l(&mu);
                                                seen.push_back(e);
                                                return absl::OkStatus();
                                              });
  REQUIRE(consumer.ok());
  (*consumer)->Start();

  // Five missed calls three hours ago (a replay after a crash): their 15-minute suspension
  // ended long since. Then five in the last minutes, on the same key so they are read after.
  auto missed = [&](absl::Time first) {
    for (int i = 0; i < 5; ++i) {
      sb::calls::v1::CallStateChanged c =
          Outbound(sb::calls::v1::CALL_STATE_MISSED, absl::StrCat("551166660000", i), "1065559998");
      *c.mutable_call()->mutable_ended_time() = sb::core::ToProto(first + absl::Minutes(i));
      s.Publish(sb::kafka::kCallsState, c, "1065559998");
    }
  };
  missed(absl::Now() - absl::Hours(3));
  const absl::Time recent = absl::Now() - absl::Minutes(6);
  missed(recent);
  REQUIRE(testing::Eventually(
      [&] {
        absl::MutexLock l(&mu);
        return !seen.empty();
      },
      absl::Seconds(20)));
  absl::MutexLock l(&mu);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].suspended_until_time().seconds() ==
        absl::ToUnixSeconds(recent + absl::Minutes(4) + absl::Minutes(15)));
}

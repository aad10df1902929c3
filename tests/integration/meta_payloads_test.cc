// Meta's real webhook payloads, written by hand as WHATSAPP_CLOUD_API.md shows them (Meta's field
// names, epoch seconds as strings, durations and codes as numbers), signed with the suite's app
// secret and posted to the running webhook edge; every case then asserts the final state through
// the public APIs (calls: GetCall, ListCalls; eligibility: CheckEligibility), polling, never
// sleeping. Nothing here is produced by the Meta simulator: where StartCall needs the Graph API
// the simulator answers it, with no callback URL, so the calls it places send no webhooks.
//
// Each TEST_CASE runs one suite (webhooks, eligibility and calls in one runtime); its cases use
// their own call ids and contacts so they do not see each other.
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/substitute.h"
#include "absl/time/time.h"
#include "google/protobuf/field_mask.pb.h"
#include "libs/http/client.h"
#include "libs/whatsapp/signature.h"
#include "services/calls/module.h"
#include "services/eligibility/module.h"
#include "services/webhooks/module.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"
#include "tools/meta-sim/sim.h"

namespace sb = switchboard;
namespace cv1 = switchboard::calls::v1;
namespace ev1 = switchboard::eligibility::v1;
namespace testing = switchboard::testing;

namespace {

constexpr char kVerifyToken[] = "meta-payloads-verify-token";

// A business number as Meta names it in value.metadata (display: digits only).
struct Business {
  std::string phone_number_id;
  std::string waba_id;
  std::string display;
  std::string registered_display;  // as the tenant registered it
};
const Business kBiz{"106540352242922", "102290129340398", "16315553601", "+1 631-555-3601"};
const Business kBiz2{"106540352242923", "102290129340399", "16315553602", "+1 631-555-3602"};
const Business kBiz3{"106540352242924", "102290129340400", "16315553603", "+1 631-555-3603"};
// Registered by nobody.
const Business kNobody{"106540352249999", "102290129349999", "16315559999", ""};

testing::Number Registered(const Business& b) {
  return {.phone_number_id = b.phone_number_id,
          .waba_id = b.waba_id,
          .display_phone_number = b.registered_display};
}

// The SDP as it appears inside a JSON string (CRLF escaped), and as StartCall takes it.
constexpr char kSdpJson[] =
    R"(v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n)";
const std::string kSdp =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

// ---- Meta's payloads ----

// Epoch seconds as Meta writes them in calls, statuses and messages: a string.
std::string Epoch(absl::Time t) { return absl::StrCat(absl::ToUnixSeconds(t)); }

std::string Webhook(const std::vector<std::string>& entries) {
  return absl::Substitute(R"({"object":"whatsapp_business_account","entry":[$0]})",
                          absl::StrJoin(entries, ","));
}
std::string Entry(const std::string& waba_id, const std::vector<std::string>& changes) {
  return absl::Substitute(R"({"id":"$0","changes":[$1]})", waba_id, absl::StrJoin(changes, ","));
}
// An entry with Meta's `time` (epoch seconds, a number), as account and quality updates carry.
std::string TimedEntry(const std::string& waba_id, absl::Time time, const std::string& change) {
  return absl::Substitute(R"({"id":"$0","time":$1,"changes":[$2]})", waba_id,
                          absl::ToUnixSeconds(time), change);
}
std::string OneChange(const Business& b, const std::string& change) {
  return Webhook({Entry(b.waba_id, {change})});
}

std::string Metadata(const Business& b) {
  return absl::Substitute(R"("metadata":{"display_phone_number":"$0","phone_number_id":"$1"})",
                          b.display, b.phone_number_id);
}
std::string Contact(const std::string& name, const std::string& wa_id) {
  return absl::Substitute(R"({"profile":{"name":"$0"},"wa_id":"$1"})", name, wa_id);
}

// field "calls": value.calls[] with value.contacts[] (when given).
std::string CallsChange(const Business& b, const std::string& contact, const std::string& call) {
  return absl::Substitute(
      R"({"field":"calls","value":{"messaging_product":"whatsapp",$0,$1"calls":[$2]}})",
      Metadata(b), contact.empty() ? "" : absl::StrCat(R"("contacts":[)", contact, "],"), call);
}
// field "calls": value.statuses[] of a business-initiated call.
std::string StatusChange(const Business& b, const std::string& call_id, const std::string& status,
                         absl::Time at, const std::string& recipient) {
  return absl::Substitute(
      R"({"field":"calls","value":{"messaging_product":"whatsapp",$0,"statuses":[{"id":"$1","type":"call","status":"$2","timestamp":"$3","recipient_id":"$4"}]}})",
      Metadata(b), call_id, status, Epoch(at), recipient);
}
// field "messages": value.messages[] from one contact.
std::string MessagesChange(const Business& b, const std::string& contact,
                           const std::string& message) {
  return absl::Substitute(
      R"({"field":"messages","value":{"messaging_product":"whatsapp",$0,"contacts":[$1],"messages":[$2]}})",
      Metadata(b), contact, message);
}

// A user calls the business (value.calls[] connect with the user's SDP offer).
std::string UserConnect(const Business& b, const std::string& call_id, const std::string& from,
                        absl::Time at) {
  return absl::Substitute(
      R"({"id":"$0","to":"$1","from":"$2","event":"connect","timestamp":"$3","direction":"USER_INITIATED","session":{"sdp_type":"offer","sdp":"$4"}})",
      call_id, b.display, from, Epoch(at), kSdpJson);
}
// The user's call ended; `more` adds fields (times, errors[]), each starting with a comma.
std::string UserTerminate(const Business& b, const std::string& call_id, const std::string& from,
                          const std::string& status, absl::Time at, const std::string& more = "") {
  return absl::Substitute(
      R"({"id":"$0","to":"$1","from":"$2","event":"terminate","timestamp":"$3","direction":"USER_INITIATED","status":"$4"$5})",
      call_id, b.display, from, Epoch(at), status, more);
}
// The user picked up a call the business placed (connect with the user's SDP answer).
// `call_id`: ours, echoed back in biz_opaque_callback_data.
std::string BusinessConnect(const Business& b, const std::string& meta_call_id,
                            const std::string& to, absl::Time at, const std::string& call_id) {
  return absl::Substitute(
      R"({"id":"$0","to":"$1","from":"$2","event":"connect","timestamp":"$3","direction":"BUSINESS_INITIATED","session":{"sdp_type":"answer","sdp":"$4"},"biz_opaque_callback_data":"$5"})",
      meta_call_id, to, b.display, Epoch(at), kSdpJson, call_id);
}
// A call the business placed ended; `more` as in UserTerminate.
std::string BusinessTerminate(const Business& b, const std::string& meta_call_id,
                              const std::string& to, const std::string& status, absl::Time at,
                              const std::string& call_id, const std::string& more = "") {
  return absl::Substitute(
      R"({"id":"$0","to":"$1","from":"$2","event":"terminate","timestamp":"$3","direction":"BUSINESS_INITIATED","biz_opaque_callback_data":"$4","status":"$5"$6})",
      meta_call_id, to, b.display, Epoch(at), call_id, status, more);
}
// start_time, end_time (string epoch seconds) and duration (integer seconds) of a picked-up call.
std::string PickedUp(absl::Time start, absl::Time end) {
  return absl::Substitute(R"(,"start_time":"$0","end_time":"$1","duration":$2)", Epoch(start),
                          Epoch(end), absl::ToInt64Seconds(end - start));
}

std::string TextMessage(const std::string& from, const std::string& id, absl::Time at,
                        const std::string& body) {
  return absl::Substitute(
      R"({"from":"$0","id":"$1","timestamp":"$2","type":"text","text":{"body":"$3"}})", from, id,
      Epoch(at), body);
}
// messages[].interactive call_permission_reply; `reply` is the call_permission_reply object.
std::string PermissionReply(const std::string& from, const std::string& id, absl::Time at,
                            const std::string& reply) {
  return absl::Substitute(
      R"({"from":"$0","id":"$1","timestamp":"$2","type":"interactive","interactive":{"type":"call_permission_reply","call_permission_reply":$3}})",
      from, id, Epoch(at), reply);
}
constexpr char kPermanentAccept[] =
    R"({"response":"accept","is_permanent":true,"response_source":"user_action"})";
constexpr char kAutomaticReject[] =
    R"({"response":"reject","is_permanent":false,"response_source":"automatic"})";

// ---- the suite ----

std::set<std::string> Codes(const google::protobuf::RepeatedPtrField<ev1::Reason>& reasons) {
  std::set<std::string> out;
  for (const auto& r : reasons) out.insert(r.code());
  return out;
}
bool Has(const google::protobuf::RepeatedPtrField<ev1::Reason>& reasons, const std::string& code) {
  return Codes(reasons).count(code) > 0;
}
std::string Describe(const ev1::CheckEligibilityResponse& r) {
  return absl::StrCat("eligible=", r.eligible(), " blocking={",
                      absl::StrJoin(Codes(r.blocking_reasons()), ","), "} warnings={",
                      absl::StrJoin(Codes(r.warnings()), ","), "}");
}
// The service window is open: neither reason that says it is closed.
bool WindowOpen(const ev1::CheckEligibilityResponse& r) {
  return !Has(r.blocking_reasons(), "NO_CONVERSATION_HISTORY") &&
         !Has(r.blocking_reasons(), "OUTSIDE_SERVICE_WINDOW");
}

class Payloads {
 public:
  // `meta_sim`: the simulator answers the Graph API (StartCall) but sends no webhook.
  explicit Payloads(bool meta_sim = false)
      : suite_(
            {.services = {sb::webhooks::Register, sb::eligibility::Register, sb::calls::Register},
             .meta_sim = meta_sim,
             .sim_options =
                 [](sb::metasim::SimOptions& o) {
                   for (auto& n : o.numbers) n.callback_url.clear();
                 },
             .numbers = {Registered(kBiz), Registered(kBiz2), Registered(kBiz3)},
             .flags = {{"meta-verify-token", kVerifyToken},
                       {"ring-timeout", "60s"},
                       {"routing-address", "127.0.0.1:9"}}}),
        calls_(suite_.Stub<cv1::CallsService>()),
        eligibility_(suite_.Stub<ev1::EligibilityService>()) {}

  testing::Suite& suite() { return suite_; }
  std::string url() const { return suite_.webhooks_url() + "/webhooks/whatsapp"; }

  sb::http::ClientResponse Get(const std::string& query) {
    auto r = http_.Send({.url = url() + "?" + query});
    REQUIRE(r.ok());
    return *r;
  }

  // Posts like Meta: signed over the exact bytes, again while the edge says 503 (a duplicate
  // still being published by the first delivery). Returns the last status.
  int Post(const std::string& body) {
    int status = 0;
    testing::Eventually(
        [&] {
          auto r = http_.Send(
              {.method = "POST",
               .url = url(),
               .headers = {{"Content-Type", "application/json"},
                           {sb::whatsapp::kSignatureHeader,
                            sb::whatsapp::SignatureHeader(testing::Suite::kAppSecret, body)}},
               .body = body});
          REQUIRE(r.ok());
          status = r->status;
          return status != 503;
        },
        absl::Seconds(10), absl::Milliseconds(20));
    return status;
  }

  // Posts, requires Meta's 200, and waits until both consumers of whatsapp.events.v1 (calls and
  // eligibility) have handled every item the edge published for it: after this, what the
  // payload changes is in the stores (or it changed nothing).
  void PostApplied(const std::string& body) {
    const double published = EdgeEvents("published");
    const double calls = Handled("calls.whatsapp");
    const double eligibility = Handled("eligibility.whatsapp");
    REQUIRE(Post(body) == 200);
    const double n = EdgeEvents("published") - published;
    INFO("items published: " << n);
    REQUIRE(testing::Eventually(
        [&] {
          return Handled("calls.whatsapp") >= calls + n &&
                 Handled("eligibility.whatsapp") >= eligibility + n;
        },
        absl::Seconds(20)));
  }

  double Metric(const std::string& name, const std::map<std::string, std::string>& labels) {
    return testing::MetricSample(suite_.Metrics(), name, labels).value_or(0);
  }
  // Items of webhooks the edge counted with this outcome, of every kind.
  double EdgeEvents(const std::string& outcome) {
    double sum = 0;
    for (const char* kind :
         {"call_connected", "call_terminated", "call_status_updated", "inbound_message",
          "call_permission_reply", "account_update", "quality_update"}) {
      sum += Metric("switchboard_webhook_events_total", {{"kind", kind}, {"outcome", outcome}});
    }
    return sum;
  }
  double Handled(const std::string& group) {
    double sum = 0;
    for (const char* outcome : {"ok", "skipped", "poison"}) {
      sum += Metric("switchboard_kafka_consumer_messages_total",
                    {{"group", group}, {"topic", "whatsapp.events.v1"}, {"outcome", outcome}});
    }
    return sum;
  }

  // ---- calls ----

  std::vector<cv1::Call> AllCalls() {
    std::vector<cv1::Call> out;
    std::string token;
    do {
      cv1::ListCallsRequest req;
      req.set_page_size(500);
      req.set_page_token(token);
      cv1::ListCallsResponse resp;
      absl::Status s =
          testing::Suite::Call(calls_.get(), &cv1::CallsService::Stub::ListCalls, req, &resp);
      INFO(s.ToString());
      REQUIRE(s.ok());
      out.insert(out.end(), resp.calls().begin(), resp.calls().end());
      token = resp.next_page_token();
    } while (!token.empty());
    return out;
  }
  // Every call of the tenant Meta knows as `meta_call_id` (ListCalls).
  std::vector<cv1::Call> CallsWithMetaId(const std::string& meta_call_id) {
    std::vector<cv1::Call> out;
    for (cv1::Call& c : AllCalls()) {
      if (c.meta_call_id() == meta_call_id) out.push_back(std::move(c));
    }
    return out;
  }
  cv1::Call GetCall(const std::string& call_id) {
    cv1::GetCallRequest req;
    req.set_call_id(call_id);
    cv1::GetCallResponse resp;
    absl::Status s =
        testing::Suite::Call(calls_.get(), &cv1::CallsService::Stub::GetCall, req, &resp);
    INFO(s.ToString());
    REQUIRE(s.ok());
    return resp.call();
  }
  // Waits until the one call Meta knows as `meta_call_id` satisfies `done`; returns it as
  // GetCall shows it. Fails when it never does or when there is more than one such call.
  cv1::Call WaitForCall(const std::string& meta_call_id,
                        const std::function<bool(const cv1::Call&)>& done,
                        absl::Duration timeout = absl::Seconds(20)) {
    std::vector<cv1::Call> last;
    bool reached = testing::Eventually(
        [&] {
          last = CallsWithMetaId(meta_call_id);
          return last.size() == 1 && done(last[0]);
        },
        timeout, absl::Milliseconds(50));
    INFO(meta_call_id << ": " << last.size() << " call(s)"
                      << (last.empty()
                              ? ""
                              : absl::StrCat(", state ", cv1::CallState_Name(last[0].state()),
                                             ", end reason ", last[0].end_reason())));
    REQUIRE(reached);
    return GetCall(last[0].call_id());
  }
  cv1::Call WaitForState(const std::string& meta_call_id, cv1::CallState state) {
    return WaitForCall(meta_call_id, [state](const cv1::Call& c) { return c.state() == state; });
  }

  // Makes `wa_id` callable (service window and a permanent permission) and places a call to it
  // as agent-1; the call as StartCall returned it.
  cv1::Call PlaceCall(const std::string& wa_id, const std::string& request_id, absl::Time now) {
    MakeCallable(wa_id, kBiz, now - absl::Seconds(300));
    REQUIRE(
        suite_.sim()
            ->SendPermissionReply(kBiz.phone_number_id, wa_id, {.accept = true, .permanent = true})
            .ok());
    absl::StatusOr<cv1::Call> placed = StartCall(wa_id, request_id);
    INFO(placed.status().ToString());
    REQUIRE(placed.ok());
    return *placed;
  }
  absl::StatusOr<cv1::Call> StartCall(const std::string& wa_id, const std::string& request_id) {
    cv1::StartCallRequest req;
    req.set_agent_id("agent-1");
    req.mutable_contact()->set_wa_id(wa_id);
    req.set_business_phone_number_id(kBiz.phone_number_id);
    req.set_sdp_offer(kSdp);
    req.set_request_id(request_id);
    req.set_call_kind(ev1::CALL_KIND_USER_REQUESTED);
    cv1::StartCallResponse resp;
    absl::Status s =
        testing::Suite::Call(calls_.get(), &cv1::CallsService::Stub::StartCall, req, &resp);
    if (!s.ok()) return s;
    return resp.call();
  }

  // ---- eligibility ----

  ev1::CheckEligibilityResponse Check(const std::string& wa_id, const Business& b = kBiz) {
    ev1::CheckEligibilityRequest req;
    req.mutable_contact()->set_wa_id(wa_id);
    req.set_business_phone_number_id(b.phone_number_id);
    req.set_call_kind(ev1::CALL_KIND_USER_REQUESTED);
    ev1::CheckEligibilityResponse resp;
    absl::Status s = testing::Suite::Call(
        eligibility_.get(), &ev1::EligibilityService::Stub::CheckEligibility, req, &resp);
    INFO(s.ToString());
    REQUIRE(s.ok());
    return resp;
  }
  // Polls CheckEligibility until `want` holds; returns the last answer, whether or not it did
  // (the caller asserts, so a failure shows every reason).
  ev1::CheckEligibilityResponse CheckUntil(
      const std::string& wa_id, const Business& b,
      const std::function<bool(const ev1::CheckEligibilityResponse&)>& want,
      absl::Duration timeout = absl::Seconds(20)) {
    ev1::CheckEligibilityResponse last;
    testing::Eventually(
        [&] {
          last = Check(wa_id, b);
          return want(last);
        },
        timeout, absl::Milliseconds(50));
    return last;
  }

  // The contact may be called on `b`: a permanent permission reply (which also opens the
  // service window), as Meta sends it.
  void MakeCallable(const std::string& wa_id, const Business& b, absl::Time at) {
    REQUIRE(Post(OneChange(b, MessagesChange(b, Contact("Callable", wa_id),
                                             PermissionReply(wa_id, "wamid.grant." + wa_id, at,
                                                             kPermanentAccept)))) == 200);
    auto r = CheckUntil(wa_id, b, [](const auto& c) { return c.eligible(); });
    INFO(Describe(r));
    REQUIRE(r.eligible());
  }

  absl::Status UpdatePolicy(const ev1::TenantPolicy& policy, const std::string& path) {
    ev1::UpdateTenantPolicyRequest req;
    *req.mutable_policy() = policy;
    req.mutable_update_mask()->add_paths(path);
    ev1::UpdateTenantPolicyResponse resp;
    return testing::Suite::Call(eligibility_.get(),
                                &ev1::EligibilityService::Stub::UpdateTenantPolicy, req, &resp,
                                {.subject = "ops", .roles = {"admin"}});
  }

 private:
  testing::Suite suite_;
  std::unique_ptr<cv1::CallsService::Stub> calls_;
  std::unique_ptr<ev1::EligibilityService::Stub> eligibility_;
  sb::http::Client http_;
};

int64_t EpochOf(const google::protobuf::Timestamp& t) { return t.seconds(); }

}  // namespace

TEST_CASE("Meta's subscription handshake, and user-initiated calls from connect to terminate") {
  Payloads meta;
  const absl::Time now = absl::Now();

  // 1. GET handshake: the challenge back for the right verify token only.
  auto ok = meta.Get(absl::StrCat("hub.mode=subscribe&hub.verify_token=", kVerifyToken,
                                  "&hub.challenge=1158201444"));
  CHECK(ok.status == 200);
  CHECK(ok.body == "1158201444");
  CHECK(
      meta.Get("hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=1158201444").status ==
      403);

  // 2. connect (offer, contacts[] with the name), then terminate COMPLETED with Meta's times.
  {
    const std::string id = "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh";
    const absl::Time offered = now - absl::Seconds(120);
    meta.PostApplied(OneChange(kBiz, CallsChange(kBiz, Contact("Ana Souza", "13175551399"),
                                                 UserConnect(kBiz, id, "13175551399", offered))));
    cv1::Call call = meta.WaitForCall(id, [](const cv1::Call&) { return true; });
    CHECK(call.direction() == cv1::CALL_DIRECTION_INBOUND);
    CHECK((call.state() == cv1::CALL_STATE_OFFERED || call.state() == cv1::CALL_STATE_RINGING));
    CHECK(call.contact().wa_id() == "13175551399");
    CHECK(call.contact().display_name() == "Ana Souza");
    CHECK(call.business_phone_number_id() == kBiz.phone_number_id);
    CHECK(call.business_display_number() == kBiz.display);
    CHECK(EpochOf(call.offered_time()) == absl::ToUnixSeconds(offered));

    const absl::Time start = offered + absl::Seconds(5), end = start + absl::Seconds(97);
    meta.PostApplied(OneChange(kBiz, CallsChange(kBiz, Contact("Ana Souza", "13175551399"),
                                                 UserTerminate(kBiz, id, "13175551399", "COMPLETED",
                                                               end, PickedUp(start, end)))));
    cv1::Call ended = meta.WaitForState(id, cv1::CALL_STATE_ENDED);
    CHECK(ended.call_id() == call.call_id());
    CHECK(ended.end_reason() == "COMPLETED");
    CHECK(ended.duration().seconds() == 97);
    CHECK(EpochOf(ended.answered_time()) == absl::ToUnixSeconds(start));
    CHECK(EpochOf(ended.ended_time()) == absl::ToUnixSeconds(end));
    CHECK(ended.meta_error_code() == 0);

    // 8. The same terminate again (Meta's retry) and the connect again: one call, unchanged.
    meta.PostApplied(OneChange(kBiz, CallsChange(kBiz, Contact("Ana Souza", "13175551399"),
                                                 UserTerminate(kBiz, id, "13175551399", "COMPLETED",
                                                               end, PickedUp(start, end)))));
    meta.PostApplied(OneChange(kBiz, CallsChange(kBiz, Contact("Ana Souza", "13175551399"),
                                                 UserConnect(kBiz, id, "13175551399", offered))));
    cv1::Call again = meta.WaitForState(id, cv1::CALL_STATE_ENDED);
    CHECK(again.call_id() == call.call_id());
    CHECK(again.duration().seconds() == 97);
    CHECK(again.end_reason() == "COMPLETED");
  }

  // 3. The caller hung up before anyone answered: FAILED without times and without errors,
  // and the same with "errors": [].
  {
    const std::string id = "wacid.hungup-no-errors";
    meta.PostApplied(OneChange(
        kBiz, CallsChange(kBiz, Contact("Bruno", "13175551400"),
                          UserConnect(kBiz, id, "13175551400", now - absl::Seconds(30)))));
    meta.PostApplied(OneChange(kBiz, CallsChange(kBiz, Contact("Bruno", "13175551400"),
                                                 UserTerminate(kBiz, id, "13175551400", "FAILED",
                                                               now - absl::Seconds(20)))));
    cv1::Call missed = meta.WaitForState(id, cv1::CALL_STATE_MISSED);
    CHECK(missed.end_reason() == "CALLER_HUNG_UP");
    CHECK(missed.disconnected_by() == cv1::DISCONNECTOR_CONTACT);
    CHECK(missed.meta_error_code() == 0);
  }
  {
    const std::string id = "wacid.hungup-empty-errors";
    meta.PostApplied(OneChange(
        kBiz, CallsChange(kBiz, Contact("Carla", "13175551401"),
                          UserConnect(kBiz, id, "13175551401", now - absl::Seconds(30)))));
    meta.PostApplied(
        OneChange(kBiz, CallsChange(kBiz, Contact("Carla", "13175551401"),
                                    UserTerminate(kBiz, id, "13175551401", "FAILED",
                                                  now - absl::Seconds(20), R"(,"errors":[])"))));
    cv1::Call missed = meta.WaitForState(id, cv1::CALL_STATE_MISSED);
    CHECK(missed.end_reason() == "CALLER_HUNG_UP");
  }

  // 4. Picked up, then FAILED (times and duration, no errors[]): a failure, duration kept.
  {
    const std::string id = "wacid.picked-up-then-failed";
    const absl::Time start = now - absl::Seconds(50), end = now - absl::Seconds(8);
    meta.PostApplied(OneChange(
        kBiz, CallsChange(kBiz, Contact("Davi", "13175551402"),
                          UserConnect(kBiz, id, "13175551402", now - absl::Seconds(55)))));
    meta.PostApplied(OneChange(kBiz, CallsChange(kBiz, Contact("Davi", "13175551402"),
                                                 UserTerminate(kBiz, id, "13175551402", "FAILED",
                                                               end, PickedUp(start, end)))));
    cv1::Call failed = meta.WaitForState(id, cv1::CALL_STATE_FAILED);
    CHECK(failed.end_reason() == "META_ERROR");
    CHECK(failed.duration().seconds() == 42);
    CHECK(failed.meta_error_code() == 0);
  }

  // 5. FAILED with errors[] naming a media timeout: Meta's code and words on the call.
  {
    const std::string id = "wacid.media-timeout";
    meta.PostApplied(OneChange(
        kBiz, CallsChange(kBiz, Contact("Elisa", "13175551403"),
                          UserConnect(kBiz, id, "13175551403", now - absl::Seconds(40)))));
    meta.PostApplied(OneChange(
        kBiz,
        CallsChange(
            kBiz, Contact("Elisa", "13175551403"),
            UserTerminate(
                kBiz, id, "13175551403", "FAILED", now - absl::Seconds(10),
                R"(,"errors":[{"code":138021,"title":"Media timeout","message":"The call media could not be established","error_data":{"details":"No media received from the business within 20 seconds"}}])"))));
    cv1::Call failed = meta.WaitForState(id, cv1::CALL_STATE_FAILED);
    CHECK(failed.end_reason() == "MEDIA_TIMEOUT");
    CHECK(failed.meta_error_code() == 138021);
    CHECK(failed.meta_error_title() == "Media timeout");
    CHECK(failed.meta_error_message() == "The call media could not be established");
    CHECK(failed.meta_error_details() == "No media received from the business within 20 seconds");
  }

  // 6. The terminate arrives before its connect: one call, MISSED, the offer time filled in.
  {
    const std::string id = "wacid.terminate-first";
    const absl::Time offered = now - absl::Seconds(33);
    meta.PostApplied(OneChange(kBiz, CallsChange(kBiz, Contact("Fábio", "13175551404"),
                                                 UserTerminate(kBiz, id, "13175551404", "FAILED",
                                                               now - absl::Seconds(21)))));
    meta.PostApplied(OneChange(kBiz, CallsChange(kBiz, Contact("Fábio", "13175551404"),
                                                 UserConnect(kBiz, id, "13175551404", offered))));
    cv1::Call missed = meta.WaitForCall(id, [](const cv1::Call& c) {
      return c.state() == cv1::CALL_STATE_MISSED && c.has_offered_time();
    });
    CHECK(missed.end_reason() == "CALLER_HUNG_UP");
    CHECK(EpochOf(missed.offered_time()) == absl::ToUnixSeconds(offered));
    CHECK(missed.contact().display_name() == "Fábio");
    CHECK(missed.direction() == cv1::CALL_DIRECTION_INBOUND);
  }

  // 9. A user known only by a business-scoped user id: no `from`, from_user_id and
  // contacts[].user_id. The call is the user id's, and the terminate finds it.
  {
    const std::string id = "wacid.user-id-only";
    const std::string user = "US.13491208655302741918";
    const std::string contact =
        absl::Substitute(R"({"profile":{"name":"Gabi"},"user_id":"$0"})", user);
    const absl::Time offered = now - absl::Seconds(90);
    meta.PostApplied(OneChange(
        kBiz,
        CallsChange(
            kBiz, contact,
            absl::Substitute(
                R"({"id":"$0","to":"$1","from_user_id":"$2","event":"connect","timestamp":"$3","direction":"USER_INITIATED","session":{"sdp_type":"offer","sdp":"$4"}})",
                id, kBiz.display, user, Epoch(offered), kSdpJson))));
    cv1::Call call = meta.WaitForCall(id, [](const cv1::Call&) { return true; });
    CHECK(call.contact().user_id() == user);
    CHECK(call.contact().wa_id().empty());
    CHECK(call.contact().display_name() == "Gabi");
    CHECK(call.direction() == cv1::CALL_DIRECTION_INBOUND);

    const absl::Time start = offered + absl::Seconds(4), end = start + absl::Seconds(30);
    meta.PostApplied(OneChange(
        kBiz,
        CallsChange(
            kBiz, contact,
            absl::Substitute(
                R"({"id":"$0","to":"$1","from_user_id":"$2","event":"terminate","timestamp":"$3","direction":"USER_INITIATED","status":"COMPLETED"$4})",
                id, kBiz.display, user, Epoch(end), PickedUp(start, end)))));
    cv1::Call ended = meta.WaitForState(id, cv1::CALL_STATE_ENDED);
    CHECK(ended.call_id() == call.call_id());
    CHECK(ended.contact().user_id() == user);
    CHECK(ended.duration().seconds() == 30);
  }

  // 14. A connect whose business number nobody registered, and one whose metadata names no
  // number and whose WABA has no number with that display number: 200, no call for anyone.
  {
    const double dropped = meta.EdgeEvents("unknown_number");
    REQUIRE(meta.Post(OneChange(
                kNobody, CallsChange(kNobody, Contact("Hugo", "13175551405"),
                                     UserConnect(kNobody, "wacid.unknown-number", "13175551405",
                                                 now - absl::Seconds(5))))) == 200);
    const std::string no_number = absl::Substitute(
        R"({"field":"calls","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"16315559999"},"contacts":[$0],"calls":[$1]}})",
        Contact("Hugo", "13175551405"),
        UserConnect(kNobody, "wacid.unresolved-number", "13175551405", now - absl::Seconds(5)));
    REQUIRE(meta.Post(Webhook({Entry(kBiz.waba_id, {no_number})})) == 200);
    CHECK(meta.EdgeEvents("unknown_number") == dropped + 2);
    // A later call is applied; the two before it never were.
    meta.PostApplied(
        OneChange(kBiz, CallsChange(kBiz, Contact("Hugo", "13175551405"),
                                    UserConnect(kBiz, "wacid.after-unknown", "13175551405", now))));
    meta.WaitForCall("wacid.after-unknown", [](const cv1::Call&) { return true; });
    CHECK(meta.CallsWithMetaId("wacid.unknown-number").empty());
    CHECK(meta.CallsWithMetaId("wacid.unresolved-number").empty());
  }

  // Every call above is there once: nothing created twice by duplicates or reordering.
  std::map<std::string, int> by_meta_id;
  for (const cv1::Call& c : meta.AllCalls()) by_meta_id[c.meta_call_id()]++;
  for (const auto& [id, n] : by_meta_id) {
    INFO(id);
    CHECK(n == 1);
  }
  CHECK(by_meta_id.size() == 8);
}

TEST_CASE("business-initiated calls: StartCall, then Meta's statuses, connect and terminate") {
  Payloads meta(/*meta_sim=*/true);
  const absl::Time now = absl::Now();

  // 7. Answered and completed: RINGING, connect (the user's SDP answer), ACCEPTED, terminate.
  {
    const std::string user = "5511966881001";
    const cv1::Call placed = meta.PlaceCall(user, "start-answered", now);
    const std::string wacid = placed.meta_call_id();
    const std::string call_id = placed.call_id();
    REQUIRE_FALSE(wacid.empty());
    CHECK(placed.direction() == cv1::CALL_DIRECTION_OUTBOUND);

    const absl::Time t0 = absl::Now() - absl::Seconds(60);
    meta.PostApplied(OneChange(kBiz, StatusChange(kBiz, wacid, "RINGING", t0, user)));
    CHECK(meta.WaitForState(wacid, cv1::CALL_STATE_RINGING).call_id() == call_id);

    meta.PostApplied(OneChange(
        kBiz, CallsChange(kBiz, Contact("Ana Souza", user),
                          BusinessConnect(kBiz, wacid, user, t0 + absl::Seconds(6), call_id))));
    cv1::Call answered = meta.WaitForState(wacid, cv1::CALL_STATE_ANSWERED);
    CHECK(answered.call_id() == call_id);
    CHECK(EpochOf(answered.answered_time()) == absl::ToUnixSeconds(t0 + absl::Seconds(6)));

    meta.PostApplied(
        OneChange(kBiz, StatusChange(kBiz, wacid, "ACCEPTED", t0 + absl::Seconds(7), user)));
    const absl::Time start = t0 + absl::Seconds(6), end = start + absl::Seconds(41);
    meta.PostApplied(
        OneChange(kBiz, CallsChange(kBiz, Contact("Ana Souza", user),
                                    BusinessTerminate(kBiz, wacid, user, "COMPLETED", end, call_id,
                                                      PickedUp(start, end)))));
    cv1::Call ended = meta.WaitForState(wacid, cv1::CALL_STATE_ENDED);
    CHECK(ended.call_id() == call_id);
    CHECK(ended.end_reason() == "COMPLETED");
    CHECK(ended.duration().seconds() == 41);
    CHECK(ended.has_ringing_time());
    CHECK(ended.contact().wa_id() == user);
    CHECK(ended.business_display_number() == kBiz.display);
  }

  // 7. Rejected by the contact: RINGING, REJECTED, terminate FAILED.
  {
    const std::string user = "5511966881002";
    const cv1::Call placed = meta.PlaceCall(user, "start-rejected", now);
    const std::string wacid = placed.meta_call_id();
    const absl::Time t0 = absl::Now() - absl::Seconds(30);
    meta.PostApplied(OneChange(kBiz, StatusChange(kBiz, wacid, "RINGING", t0, user)));
    meta.PostApplied(
        OneChange(kBiz, StatusChange(kBiz, wacid, "REJECTED", t0 + absl::Seconds(3), user)));
    meta.PostApplied(
        OneChange(kBiz, CallsChange(kBiz, Contact("Bia", user),
                                    BusinessTerminate(kBiz, wacid, user, "FAILED",
                                                      t0 + absl::Seconds(4), placed.call_id()))));
    cv1::Call rejected = meta.WaitForState(wacid, cv1::CALL_STATE_REJECTED);
    CHECK(rejected.call_id() == placed.call_id());
    CHECK(rejected.end_reason() == "CONTACT_REJECTED");
    CHECK(rejected.disconnected_by() == cv1::DISCONNECTOR_CONTACT);
  }

  // 8. Out of order and repeated: ACCEPTED, terminate, RINGING, connect, RINGING again.
  {
    const std::string user = "5511966881003";
    const cv1::Call placed = meta.PlaceCall(user, "start-disordered", now);
    const std::string wacid = placed.meta_call_id();
    const absl::Time t0 = absl::Now() - absl::Seconds(60);
    const absl::Time start = t0 + absl::Seconds(5), end = start + absl::Seconds(20);
    const std::string terminate =
        OneChange(kBiz, CallsChange(kBiz, Contact("Caio", user),
                                    BusinessTerminate(kBiz, wacid, user, "COMPLETED", end,
                                                      placed.call_id(), PickedUp(start, end))));
    const std::string ringing = OneChange(kBiz, StatusChange(kBiz, wacid, "RINGING", t0, user));
    meta.PostApplied(
        OneChange(kBiz, StatusChange(kBiz, wacid, "ACCEPTED", t0 + absl::Seconds(6), user)));
    meta.PostApplied(terminate);
    meta.PostApplied(ringing);
    meta.PostApplied(
        OneChange(kBiz, CallsChange(kBiz, Contact("Caio", user),
                                    BusinessConnect(kBiz, wacid, user, start, placed.call_id()))));
    meta.PostApplied(ringing);
    meta.PostApplied(terminate);
    cv1::Call ended = meta.WaitForState(wacid, cv1::CALL_STATE_ENDED);
    CHECK(ended.call_id() == placed.call_id());
    CHECK(ended.end_reason() == "COMPLETED");
    CHECK(ended.duration().seconds() == 20);
    CHECK(EpochOf(ended.answered_time()) == absl::ToUnixSeconds(start));
    CHECK(EpochOf(ended.ended_time()) == absl::ToUnixSeconds(end));
    CHECK(EpochOf(ended.ringing_time()) == absl::ToUnixSeconds(t0));
  }
  CHECK(meta.AllCalls().size() == 3);
  // Every webhook above was ours: the simulator only answered the Graph API.
  CHECK(meta.suite().sim()->Stats().webhooks.posts == 0);
}

TEST_CASE("messages, call permission replies, quality updates and batches reach eligibility") {
  Payloads meta;
  const absl::Time now = absl::Now();

  // 11. A temporary grant with Meta's expiration_timestamp: callable until then. Posted first,
  // checked at the end, once it has expired.
  const std::string temporary = "5511966882004";
  // Whole seconds, as Meta's expiration_timestamp carries it.
  const absl::Time expires = absl::FromUnixSeconds(absl::ToUnixSeconds(now) + 12);
  meta.PostApplied(OneChange(
      kBiz,
      MessagesChange(
          kBiz, Contact("Temp", temporary),
          PermissionReply(
              temporary, "wamid.temporary", now - absl::Seconds(1),
              absl::Substitute(
                  R"({"response":"accept","is_permanent":false,"expiration_timestamp":"$0","response_source":"user_action"})",
                  Epoch(expires))))));
  {
    auto r = meta.CheckUntil(temporary, kBiz, [](const auto& c) { return c.eligible(); });
    INFO(Describe(r));
    CHECK(r.eligible());
  }

  // 10. A text message from the user opens the 24 h service window.
  {
    const std::string user = "5511966882001";
    auto before = meta.Check(user);
    CHECK(Has(before.blocking_reasons(), "NO_CONVERSATION_HISTORY"));
    meta.PostApplied(OneChange(
        kBiz,
        MessagesChange(
            kBiz, Contact("Olga", user),
            TextMessage(user, "wamid.HBgLMTIxODU1NTI4MjgVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                        now - absl::Seconds(10), "Hi, I have a question about my order"))));
    auto after = meta.CheckUntil(user, kBiz, WindowOpen);
    INFO(Describe(after));
    CHECK(WindowOpen(after));
    // Only the window: no permission, no call request.
    CHECK(Has(after.blocking_reasons(), "NO_CALL_PERMISSION"));
  }

  // 11. A permanent accept by the user: callable by permission (and the window opens).
  {
    const std::string user = "5511966882002";
    meta.PostApplied(
        OneChange(kBiz, MessagesChange(kBiz, Contact("Paula", user),
                                       PermissionReply(user, "wamid.permanent",
                                                       now - absl::Seconds(5), kPermanentAccept))));
    auto r = meta.CheckUntil(user, kBiz, [](const auto& c) { return c.eligible(); });
    INFO(Describe(r));
    CHECK(r.eligible());
    CHECK_FALSE(Has(r.blocking_reasons(), "NO_CALL_PERMISSION"));
  }

  // 11. Meta's automatic reject (a revoke) newer than a permanent accept, delivered first: the
  // older accept does not undo it. The revoke is Meta's, not the user's: no service window.
  {
    const std::string user = "5511966882003";
    meta.PostApplied(OneChange(
        kBiz, MessagesChange(kBiz, Contact("Rui", user),
                             PermissionReply(user, "wamid.revoke", now - absl::Seconds(60),
                                             kAutomaticReject))));
    auto revoked = meta.CheckUntil(user, kBiz, [](const auto& c) {
      return Has(c.blocking_reasons(), "CALL_PERMISSION_REVOKED");
    });
    INFO(Describe(revoked));
    CHECK(Has(revoked.blocking_reasons(), "CALL_PERMISSION_REVOKED"));
    CHECK(Has(revoked.blocking_reasons(), "NO_CONVERSATION_HISTORY"));

    meta.PostApplied(OneChange(
        kBiz, MessagesChange(kBiz, Contact("Rui", user),
                             PermissionReply(user, "wamid.older-grant", now - absl::Seconds(600),
                                             kPermanentAccept))));
    // The user's accept is a message from them: the window opens from it.
    auto after = meta.CheckUntil(user, kBiz, WindowOpen);
    INFO(Describe(after));
    CHECK(WindowOpen(after));
    CHECK_FALSE(after.eligible());
    CHECK(Has(after.blocking_reasons(), "CALL_PERMISSION_REVOKED"));
  }

  // 13. One POST, two entries, three changes: a connect and a message in the first entry, a
  // connect on another number in the second. All applied.
  {
    const std::string caller = "5511966882005", writer = "5511966882006";
    meta.PostApplied(Webhook(
        {Entry(kBiz.waba_id,
               {CallsChange(kBiz, Contact("Sara", caller),
                            UserConnect(kBiz, "wacid.batch-1", caller, now - absl::Seconds(3))),
                MessagesChange(kBiz, Contact("Tom", writer),
                               TextMessage(writer, "wamid.batch-message", now - absl::Seconds(2),
                                           "Is the store open on Sunday?"))}),
         Entry(kBiz2.waba_id, {CallsChange(kBiz2, Contact("Ugo", caller),
                                           UserConnect(kBiz2, "wacid.batch-2", caller,
                                                       now - absl::Seconds(1)))})}));
    cv1::Call first = meta.WaitForCall("wacid.batch-1", [](const cv1::Call&) { return true; });
    CHECK(first.business_phone_number_id() == kBiz.phone_number_id);
    CHECK(first.contact().display_name() == "Sara");
    cv1::Call second = meta.WaitForCall("wacid.batch-2", [](const cv1::Call&) { return true; });
    CHECK(second.business_phone_number_id() == kBiz2.phone_number_id);
    CHECK(second.business_display_number() == kBiz2.display);
    auto window = meta.CheckUntil(writer, kBiz, WindowOpen);
    INFO(Describe(window));
    CHECK(WindowOpen(window));
  }

  // 12. The number's quality: FLAGGED (RED) blocks calls on it, UNFLAGGED (GREEN) lifts that,
  // a downgrade to YELLOW warns. Only that number.
  {
    const std::string user = "5511966882007";
    auto quality = [&](const std::string& value) {
      meta.PostApplied(Webhook({TimedEntry(
          kBiz2.waba_id, absl::Now(),
          absl::StrCat(R"({"field":"phone_number_quality_update","value":)", value, "}"))}));
    };
    quality(
        R"({"display_phone_number":"16315553602","event":"FLAGGED","current_limit":"TIER_10K"})");
    auto red = meta.CheckUntil(
        user, kBiz2, [](const auto& c) { return Has(c.blocking_reasons(), "QUALITY_RED"); });
    INFO(Describe(red));
    CHECK(Has(red.blocking_reasons(), "QUALITY_RED"));
    CHECK_FALSE(Has(meta.Check(user, kBiz).blocking_reasons(), "QUALITY_RED"));

    quality(
        R"({"display_phone_number":"16315553602","event":"UNFLAGGED","current_limit":"TIER_10K"})");
    auto green = meta.CheckUntil(user, kBiz2, [](const auto& c) {
      return !Has(c.blocking_reasons(), "QUALITY_RED") && !Has(c.warnings(), "QUALITY_YELLOW");
    });
    INFO(Describe(green));
    CHECK_FALSE(Has(green.blocking_reasons(), "QUALITY_RED"));
    CHECK_FALSE(Has(green.warnings(), "QUALITY_YELLOW"));

    quality(
        R"({"display_phone_number":"16315553602","event":"DOWNGRADE","current_limit":"TIER_1K","old_quality_rating":"GREEN","new_quality_rating":"YELLOW"})");
    auto yellow = meta.CheckUntil(
        user, kBiz2, [](const auto& c) { return Has(c.warnings(), "QUALITY_YELLOW"); });
    INFO(Describe(yellow));
    CHECK(Has(yellow.warnings(), "QUALITY_YELLOW"));
    CHECK_FALSE(Has(yellow.blocking_reasons(), "QUALITY_RED"));
  }

  // 11. The temporary grant has expired by now.
  {
    auto r = meta.CheckUntil(temporary, kBiz, [](const auto& c) {
      return Has(c.blocking_reasons(), "CALL_PERMISSION_EXPIRED");
    });
    INFO(Describe(r));
    CHECK(absl::Now() >= expires);
    CHECK(Has(r.blocking_reasons(), "CALL_PERMISSION_EXPIRED"));
    CHECK_FALSE(r.eligible());
  }
}

TEST_CASE("a message dated 30 days ahead holds the service window only from its arrival") {
  Payloads meta;
  // A short window stands for Meta's 24 h, so the test can see it close.
  ev1::TenantPolicy policy;
  policy.mutable_service_window()->set_seconds(8);
  REQUIRE(meta.UpdatePolicy(policy, "service_window").ok());

  const std::string user = "5511966883001";
  const absl::Time posted = absl::Now();
  meta.PostApplied(OneChange(
      kBiz, MessagesChange(kBiz, Contact("Vera", user),
                           TextMessage(user, "wamid.from-the-future", posted + absl::Hours(24 * 30),
                                       "Hello from a clock that runs ahead"))));
  CHECK(meta.Metric("switchboard_webhook_clamped_times_total", {{"kind", "inbound_message"}}) >= 1);
  auto open = meta.CheckUntil(user, kBiz, WindowOpen);
  INFO(Describe(open));
  CHECK(WindowOpen(open));
  // The window ran from the arrival, not from the date Meta gave: it closes one window later.
  auto closed = meta.CheckUntil(
      user, kBiz, [](const auto& c) { return Has(c.blocking_reasons(), "OUTSIDE_SERVICE_WINDOW"); },
      absl::Seconds(30));
  INFO(Describe(closed));
  REQUIRE(Has(closed.blocking_reasons(), "OUTSIDE_SERVICE_WINDOW"));
  for (const auto& r : closed.blocking_reasons()) {
    if (r.code() != "OUTSIDE_SERVICE_WINDOW") continue;
    absl::Time last;
    std::string err;
    INFO(r.metadata().at("last_inbound_time"));
    REQUIRE(absl::ParseTime(absl::RFC3339_full, r.metadata().at("last_inbound_time"), &last, &err));
    CHECK(last >= posted - absl::Seconds(2));
    CHECK(last <= posted + absl::Seconds(10));
  }
}

// Meta's order for a number's quality, a rating that comes back, and calling restrictions. When
// this was written the code failed all three (reported): quality is ordered by arrival (the
// entry's `time` is not read), a repeated rating has the same de-duplication id as its first
// (only `time` differs) and is dropped, and no service acts on account_update.
TEST_CASE("updates about a number: Meta's order for quality ratings, and calling restrictions") {
  Payloads meta;
  const absl::Time now = absl::Now();
  auto update = [&](const Business& b, absl::Time time, const std::string& field,
                    const std::string& value) {
    meta.PostApplied(Webhook({TimedEntry(
        b.waba_id, time, absl::Substitute(R"({"field":"$0","value":$1})", field, value))}));
  };
  auto quality_red = [&](const Business& b) {
    return Has(meta.Check("5511966884001", b).blocking_reasons(), "QUALITY_RED");
  };

  // 12. A newer FLAGGED (RED), then an older UNFLAGGED delivered late: RED stays.
  update(kBiz2, now - absl::Seconds(60), "phone_number_quality_update",
         R"({"display_phone_number":"16315553602","event":"FLAGGED","current_limit":"TIER_250"})");
  REQUIRE(testing::Eventually([&] { return quality_red(kBiz2); }));
  update(
      kBiz2, now - absl::Seconds(3600), "phone_number_quality_update",
      R"({"display_phone_number":"16315553602","event":"UNFLAGGED","current_limit":"TIER_100K"})");
  CHECK(testing::Eventually([&] { return quality_red(kBiz2); }, absl::Seconds(2)));

  {
    // 12. RED, GREEN, RED again: Meta's second FLAGGED carries the same value as its first (only
    // the entry's time differs) and still counts.
    const std::string flagged =
        R"({"display_phone_number":"16315553601","event":"FLAGGED","current_limit":"TIER_10K"})";
    update(kBiz, now - absl::Seconds(300), "phone_number_quality_update", flagged);
    REQUIRE(testing::Eventually([&] { return quality_red(kBiz); }));
    update(
        kBiz, now - absl::Seconds(200), "phone_number_quality_update",
        R"({"display_phone_number":"16315553601","event":"UNFLAGGED","current_limit":"TIER_10K"})");
    REQUIRE(testing::Eventually([&] { return !quality_red(kBiz); }));
    update(kBiz, now - absl::Seconds(100), "phone_number_quality_update", flagged);
    INFO("quality updates the edge dropped as duplicates: " << meta.Metric(
             "switchboard_webhook_events_total",
             {{"kind", "quality_update"}, {"outcome", "duplicate"}}));
    CHECK(testing::Eventually([&] { return quality_red(kBiz); }, absl::Seconds(3)));
  }

  // 12. account_update: Meta restricts business-initiated calling on the number until a date.
  // It reaches the edge and is published; a contact who was callable on it no longer is.
  {
    const std::string user = "5511966884002";
    meta.MakeCallable(user, kBiz3, now - absl::Seconds(30));
    update(
        kBiz3, now - absl::Seconds(10), "account_update",
        absl::Substitute(
            R"({"phone_number":"16315553603","event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_CALLING","expiration":"$0"}]})",
            Epoch(now + absl::Hours(24 * 7))));
    CHECK(meta.Metric("switchboard_webhook_events_total",
                      {{"kind", "account_update"}, {"outcome", "published"}}) == 1);
    auto r = meta.CheckUntil(
        user, kBiz3, [](const auto& c) { return !c.eligible(); }, absl::Seconds(3));
    INFO(Describe(r));
    CHECK_FALSE(r.eligible());
  }
}

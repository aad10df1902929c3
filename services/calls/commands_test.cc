// The agents' commands in process: the real lifecycle and rules, in-memory records, a fake
// Graph API and a fake eligibility. What Meta is asked, in what order, and what is recorded.
#include "services/calls/commands.h"

#include <catch2/catch.hpp>

#include "libs/core/clock.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/runtime/testing/fake_numbers.h"
#include "libs/whatsapp/testing/fake_graph.h"
#include "services/calls/testing/fake_claimer.h"
#include "services/calls/testing/fake_records.h"

namespace switchboard::calls {
namespace {

using core::ReasonOf;

constexpr char kNumber[] = "106540352242922";
constexpr char kSdp[] = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n";

class FakeReserver final : public Reserver {
 public:
  absl::StatusOr<eligibility::v1::ReserveCallResponse> Reserve(
      const grpc::ServerContextBase*, const eligibility::v1::ReserveCallRequest& req) override {
    ++reservations;
    last = req;
    if (!failure.ok()) return failure;
    return answer;
  }
  eligibility::v1::ReserveCallResponse answer = Granted();
  absl::Status failure;
  int reservations = 0;
  eligibility::v1::ReserveCallRequest last;

  static eligibility::v1::ReserveCallResponse Granted() {
    eligibility::v1::ReserveCallResponse r;
    r.set_granted(true);
    r.set_reservation_id("reservation-1");
    return r;
  }
};

struct Env {
  core::FakeClock clock{absl::FromUnixSeconds(1796000000)};
  testing::FakeRecords records;
  whatsapp::testing::FakeGraph graph;
  FakeReserver eligibility;
  testing::FakeClaimer routing;
  runtime::testing::FakeNumbers numbers{{{"acme", kNumber}}};
  Commands commands{records, graph, eligibility, routing, numbers, clock};

  static Caller As(const std::string& subject, std::vector<std::string> roles = {"agent"}) {
    return {.principal = {.tenant_id = "acme", .subject = subject, .roles = std::move(roles)},
            .correlation_id = "corr-1"};
  }
  static v1::StartCallRequest StartRequest(const std::string& request_id = "start-1") {
    v1::StartCallRequest req;
    req.mutable_contact()->set_wa_id("5511966881746");
    req.mutable_contact()->set_phone_e164("+5511966881746");
    req.set_business_phone_number_id(kNumber);
    req.set_sdp_offer(kSdp);
    req.set_request_id(request_id);
    req.set_call_kind(eligibility::v1::CALL_KIND_USER_REQUESTED);
    return req;
  }
  // An inbound call ringing, as the webhook consumer would have recorded it.
  v1::Call Ringing(const std::string& id = "call-in-1") {
    v1::Call c;
    c.set_call_id(id);
    c.set_tenant_id("acme");
    c.set_meta_call_id("wacid.in." + id);
    c.set_direction(v1::CALL_DIRECTION_INBOUND);
    c.set_state(v1::CALL_STATE_RINGING);
    c.set_business_phone_number_id(kNumber);
    c.mutable_contact()->set_wa_id("5511966881746");
    *c.mutable_offered_time() = core::ToProto(clock.Now());
    records.Put(c);
    return c;
  }
  static v1::AnswerCallRequest AnswerRequest(const std::string& call_id,
                                             const std::string& request_id) {
    v1::AnswerCallRequest req;
    req.set_call_id(call_id);
    req.set_sdp_answer(kSdp);
    req.set_request_id(request_id);
    return req;
  }
};

TEST_CASE("StartCall reserves, records the call, then asks Meta with our id") {
  Env env;
  absl::StatusOr<v1::Call> call = env.commands.Start(Env::As("agent-1"), Env::StartRequest());
  REQUIRE(call.ok());
  CHECK(call->state() == v1::CALL_STATE_OFFERED);
  CHECK(call->direction() == v1::CALL_DIRECTION_OUTBOUND);
  CHECK(call->answered_by_agent_id() == "agent-1");
  CHECK(call->contact_region_code() == "BR");
  CHECK(call->meta_call_id() == "wacid.fake.1");
  CHECK(env.eligibility.last.call_id() == call->call_id());
  CHECK(env.eligibility.last.request_id() == "start-1");
  auto requests = env.graph.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].action == "connect");
  CHECK(requests[0].detail == call->call_id());  // biz_opaque_callback_data

  // A retry gets the same call; neither eligibility nor Meta is asked again.
  absl::StatusOr<v1::Call> again = env.commands.Start(Env::As("agent-1"), Env::StartRequest());
  REQUIRE(again.ok());
  CHECK(again->call_id() == call->call_id());
  CHECK(env.graph.Requests("connect") == 1);
  CHECK(env.eligibility.reservations == 1);

  // The same request_id for another contact is a client bug, refused.
  v1::StartCallRequest other = Env::StartRequest();
  other.mutable_contact()->set_wa_id("5511966880000");
  absl::StatusOr<v1::Call> reused = env.commands.Start(Env::As("agent-1"), other);
  CHECK(ReasonOf(reused.status()) == "REQUEST_ID_REUSED");
  CHECK(env.records.size() == 1);
}

TEST_CASE("StartCall refused by eligibility places nothing and says every reason") {
  Env env;
  env.eligibility.answer = {};
  auto* r = env.eligibility.answer.add_blocking_reasons();
  r->set_code("OPTED_OUT");
  r->set_message("The contact opted out of calls.");
  env.eligibility.answer.add_blocking_reasons()->set_code("NO_CALL_PERMISSION");
  absl::StatusOr<v1::Call> call = env.commands.Start(Env::As("agent-1"), Env::StartRequest());
  CHECK(call.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(ReasonOf(call.status()) == "CALL_NOT_ELIGIBLE");
  CHECK(core::MetadataOf(call.status())["blocking_reasons"] == "OPTED_OUT,NO_CALL_PERMISSION");
  CHECK(env.graph.requests().empty());
  CHECK(env.records.size() == 0);

  env.eligibility.failure = absl::UnavailableError("down");
  CHECK(ReasonOf(env.commands.Start(Env::As("agent-1"), Env::StartRequest("start-2")).status()) ==
        "ELIGIBILITY_UNAVAILABLE");
}

TEST_CASE("Meta refusing the connect fails the call; a lost answer leaves it to Meta") {
  Env env;
  env.graph.Fail("connect", core::Error(absl::StatusCode::kFailedPrecondition, "META_138006",
                                        "no permission", {{"meta_code", "138006"}}));
  absl::StatusOr<v1::Call> refused = env.commands.Start(Env::As("agent-1"), Env::StartRequest());
  CHECK(ReasonOf(refused.status()) == "META_NO_CALL_PERMISSION");
  std::string call_id = core::MetadataOf(refused.status())["call_id"];
  std::optional<v1::Call> failed = env.records.Find("acme", call_id);
  REQUIRE(failed.has_value());
  CHECK(failed->state() == v1::CALL_STATE_FAILED);
  CHECK(failed->meta_error_code() == 138006);

  // The request may have reached Meta: not failed here; its webhooks or the timer decide.
  env.graph.Fail("connect",
                 core::Error(absl::StatusCode::kUnavailable, "HTTP_TRANSPORT", "connection reset"));
  absl::StatusOr<v1::Call> lost =
      env.commands.Start(Env::As("agent-1"), Env::StartRequest("start-2"));
  CHECK(ReasonOf(lost.status()) == "META_UNAVAILABLE");
  std::optional<v1::Call> waiting =
      env.records.Find("acme", core::MetadataOf(lost.status())["call_id"]);
  REQUIRE(waiting.has_value());
  CHECK(waiting->state() == v1::CALL_STATE_OFFERED);
}

TEST_CASE("bad StartCall requests are refused with the field's reason, before anything") {
  Env env;
  struct Case {
    const char* what;
    std::function<void(v1::StartCallRequest&)> spoil;
    const char* reason;
  };
  const Case cases[] = {
      {"no request id", [](auto& r) { r.clear_request_id(); }, "MISSING_REQUEST_ID"},
      {"bad request id", [](auto& r) { r.set_request_id("a b"); }, "INVALID_REQUEST_ID"},
      {"no contact", [](auto& r) { r.clear_contact(); }, "MISSING_CONTACT"},
      {"user id only",
       [](auto& r) {
         r.mutable_contact()->set_wa_id(""), r.mutable_contact()->set_user_id("US.1");
       },
       "MISSING_WA_ID"},
      {"bad phone", [](auto& r) { r.mutable_contact()->set_phone_e164("+1234"); },
       "INVALID_PHONE_NUMBER"},
      {"no sdp", [](auto& r) { r.clear_sdp_offer(); }, "MISSING_SDP_OFFER"},
      {"huge sdp", [](auto& r) { r.set_sdp_offer(std::string(70000, 'a')); }, "TEXT_TOO_LONG"},
      {"no kind", [](auto& r) { r.set_call_kind(eligibility::v1::CALL_KIND_UNSPECIFIED); },
       "MISSING_CALL_KIND"},
      {"unknown kind", [](auto& r) { r.set_call_kind(static_cast<eligibility::v1::CallKind>(99)); },
       "INVALID_ENUM"},
      {"bad number", [](auto& r) { r.set_business_phone_number_id("12 34"); }, "INVALID_ID"},
  };
  for (const Case& c : cases) {
    v1::StartCallRequest req = Env::StartRequest();
    c.spoil(req);
    absl::Status s = env.commands.Start(Env::As("agent-1"), req).status();
    INFO(c.what << ": " << s.ToString());
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(ReasonOf(s) == c.reason);
  }
  v1::StartCallRequest other_agent = Env::StartRequest();
  other_agent.set_agent_id("agent-9");
  CHECK(ReasonOf(env.commands.Start(Env::As("agent-1"), other_agent).status()) ==
        "NOT_CALLER_AGENT");
  CHECK(env.commands.Start(Env::As("sup", {"supervisor"}), other_agent).ok());
  CHECK(env.eligibility.reservations == 1);  // only the supervisor's
}

TEST_CASE("a call through another tenant's number is refused before anything happens") {
  Env env;
  Caller globex = Env::As("agent-1");
  globex.principal.tenant_id = "globex";
  absl::Status s = env.commands.Start(globex, Env::StartRequest()).status();
  CHECK(s.code() == absl::StatusCode::kNotFound);
  CHECK(ReasonOf(s) == "PHONE_NUMBER_NOT_FOUND");
  CHECK(env.eligibility.reservations == 0);
  CHECK(env.graph.requests().empty());
  CHECK(env.records.size() == 0);
}

TEST_CASE("the agent routing lets win answers the call; Meta is asked once") {
  Env env;
  v1::Call ringing = env.Ringing();
  absl::StatusOr<v1::Call> answered =
      env.commands.Answer(Env::As("agent-1"), Env::AnswerRequest(ringing.call_id(), "ans-1"));
  REQUIRE(answered.ok());
  CHECK(answered->state() == v1::CALL_STATE_ANSWERED);
  CHECK(answered->answered_by_agent_id() == "agent-1");
  CHECK(env.graph.Requests("pre_accept") == 1);
  CHECK(env.graph.Requests("accept") == 1);

  absl::StatusOr<v1::Call> late =
      env.commands.Answer(Env::As("agent-2"), Env::AnswerRequest(ringing.call_id(), "ans-2"));
  CHECK(late.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(env.graph.Requests("accept") == 1);

  // While an identical request is in progress, a duplicate is told to retry, not sent to Meta.
  pg::RequestKey busy = pg::KeyOf("acme", Env::AnswerRequest(ringing.call_id(), "ans-3"));
  REQUIRE_FALSE(env.records.Begin(busy)->has_value());
  CHECK(ReasonOf(
            env.commands.Answer(Env::As("agent-1"), Env::AnswerRequest(ringing.call_id(), "ans-3"))
                .status()) == "REQUEST_IN_PROGRESS");
  CHECK(env.graph.Requests("accept") == 1);

  // The winner's retry gets its answer back, and Meta is not asked again.
  absl::StatusOr<v1::Call> repeat =
      env.commands.Answer(Env::As("agent-1"), Env::AnswerRequest(ringing.call_id(), "ans-1"));
  REQUIRE(repeat.ok());
  CHECK(repeat->state() == v1::CALL_STATE_ANSWERED);
  CHECK(env.graph.Requests("accept") == 1);
}

TEST_CASE("an answer Meta refuses leaves the call with its winner, who may try again") {
  Env env;
  v1::Call ringing = env.Ringing();
  env.graph.Fail("accept", core::Error(absl::StatusCode::kUnavailable, "HTTP_TRANSPORT", "reset"));
  absl::StatusOr<v1::Call> failed =
      env.commands.Answer(Env::As("agent-1"), Env::AnswerRequest(ringing.call_id(), "a-1"));
  CHECK(ReasonOf(failed.status()) == "META_UNAVAILABLE");
  CHECK(env.records.Find("acme", ringing.call_id())->state() == v1::CALL_STATE_RINGING);
  // Routing's claim is final: nobody else takes the call.
  absl::StatusOr<v1::Call> other =
      env.commands.Answer(Env::As("agent-2"), Env::AnswerRequest(ringing.call_id(), "a-2"));
  CHECK(ReasonOf(other.status()) == "CALL_CLAIMED_BY_OTHER");
  CHECK(core::MetadataOf(other.status())["agent_id"] == "agent-1");
  absl::StatusOr<v1::Call> retried =
      env.commands.Answer(Env::As("agent-1"), Env::AnswerRequest(ringing.call_id(), "a-3"));
  REQUIRE(retried.ok());
  CHECK(retried->answered_by_agent_id() == "agent-1");
}

TEST_CASE("routing's refusal of a claim is the answer's, and Meta is not asked") {
  Env env;
  v1::Call ringing = env.Ringing();
  env.routing.RefuseWith(core::Error(absl::StatusCode::kFailedPrecondition, "OFFER_CLOSED",
                                     "the call is no longer ringing"));
  absl::StatusOr<v1::Call> refused =
      env.commands.Answer(Env::As("agent-1"), Env::AnswerRequest(ringing.call_id(), "r-1"));
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(ReasonOf(refused.status()) == "OFFER_CLOSED");
  CHECK(env.graph.Requests("pre_accept") == 0);
  CHECK(env.records.Find("acme", ringing.call_id())->state() == v1::CALL_STATE_RINGING);
  // A call that cannot be answered any more is refused before routing is asked.
  v1::Call outbound = env.Ringing("call-out");
  outbound.set_direction(v1::CALL_DIRECTION_OUTBOUND);
  env.records.Put(outbound);
  const int claims = env.routing.claims();
  CHECK(ReasonOf(env.commands.Answer(Env::As("agent-1"), Env::AnswerRequest("call-out", "r-2"))
                     .status()) == "WRONG_DIRECTION");
  CHECK(env.routing.claims() == claims);
}

TEST_CASE("reject and end: what Meta is told, and what the call becomes") {
  Env env;
  v1::Call first = env.Ringing("call-a");
  v1::RejectCallRequest reject;
  reject.set_call_id(first.call_id());
  reject.set_reason("Wrong department");
  absl::StatusOr<v1::Call> rejected = env.commands.Reject(Env::As("agent-1"), reject);
  REQUIRE(rejected.ok());
  CHECK(rejected->state() == v1::CALL_STATE_REJECTED);
  CHECK(env.graph.Requests("reject") == 1);
  CHECK(env.records.RejectReason("acme", first.call_id()) == "Wrong department");

  // Ending an unanswered inbound call declines it.
  v1::Call second = env.Ringing("call-b");
  v1::EndCallRequest end;
  end.set_call_id(second.call_id());
  REQUIRE(env.commands.End(Env::As("agent-1"), end).ok());
  CHECK(env.graph.Requests("reject") == 2);

  // Ending an answered call asks Meta to terminate; Meta's terminate will end it.
  v1::Call third = env.Ringing("call-c");
  REQUIRE(env.commands.Answer(Env::As("agent-1"), Env::AnswerRequest("call-c", "a-c")).ok());
  end.set_call_id(third.call_id());
  CHECK(ReasonOf(env.commands.End(Env::As("agent-2"), end).status()) == "NOT_CALL_AGENT");
  absl::StatusOr<v1::Call> hung_up = env.commands.End(Env::As("agent-1"), end);
  REQUIRE(hung_up.ok());
  CHECK(hung_up->state() == v1::CALL_STATE_ANSWERED);
  CHECK(hung_up->has_hangup_requested_time());
  CHECK(env.graph.Requests("terminate") == 1);

  // A finished call: nothing to do, nothing to refuse, Meta not asked.
  end.set_call_id(first.call_id());
  CHECK(env.commands.End(Env::As("agent-1"), end).ok());
  CHECK(env.graph.Requests("terminate") == 1);
}

TEST_CASE("after a timer: the ringing caller is rejected, an unconfirmed call terminated") {
  Env env;
  v1::Call ring = env.Ringing("call-r");
  v1::Call unconfirmed = ring;
  unconfirmed.set_call_id("call-u");
  unconfirmed.set_meta_call_id("wacid.u");
  v1::Call unknown = ring;
  unknown.set_meta_call_id("");  // Meta's id never came: nothing to tell Meta
  env.commands.AfterTimers({{ring, TimerKind::kRing},
                            {unconfirmed, TimerKind::kUnconfirmed},
                            {unknown, TimerKind::kRing}});
  auto requests = env.graph.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].action == "reject");
  CHECK(requests[0].target == "wacid.in.call-r");
  CHECK(requests[1].action == "terminate");
  CHECK(requests[1].target == "wacid.u");
}

}  // namespace
}  // namespace switchboard::calls

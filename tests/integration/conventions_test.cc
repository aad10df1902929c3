// The API conventions (docs/api-conventions.md), checked on every RPC of every service at once:
// the same fault gets the same code and reason wherever it is made. Requests are built and sent
// generically from the service descriptors, so a method added later is covered (or this test
// says which table below it is missing from).
//
//   - a request that does not decode (truncated, or a string that is not UTF-8): INVALID_ARGUMENT
//     UNDECODABLE_REQUEST, from every unary method, implemented or not;
//   - a malformed request_id: INVALID_ARGUMENT INVALID_REQUEST_ID;
//   - the same request_id again with another body: INVALID_ARGUMENT REQUEST_ID_REUSED, and the
//     first request's effect is all there is;
//   - page_size below zero: INVALID_ARGUMENT INVALID_PAGE_SIZE; far above the maximum: served,
//     at most the maximum.
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/kafka.h"
#include "services/billing/module.h"
#include "services/calls/module.h"
#include "services/eligibility/module.h"
#include "services/notifications/module.h"
#include "services/routing/module.h"
#include "services/webhooks/module.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "switchboard/notifications/v1/notifications_service.grpc.pb.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"
#include "tests/support/suite.h"

namespace sb = switchboard;
namespace testing = switchboard::testing;
namespace cv1 = switchboard::calls::v1;
namespace ev1 = switchboard::eligibility::v1;
namespace wv1 = switchboard::webhooks::v1;
namespace rv1 = switchboard::routing::v1;
namespace bv1 = switchboard::billing::v1;
namespace nv1 = switchboard::notifications::v1;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using sb::core::ReasonOf;

namespace {

const std::string kNumber = "106540352242922";
const std::string kOtherNumber = "106540352242999";
const std::string kContact = "5511966880100";
const std::string kSdp =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
const std::vector<std::string> kServices = {
    "switchboard.webhooks.v1.WebhooksService", "switchboard.eligibility.v1.EligibilityService",
    "switchboard.calls.v1.CallsService",       "switchboard.routing.v1.RoutingService",
    "switchboard.billing.v1.BillingService",   "switchboard.notifications.v1.NotificationsService"};

const testing::Who kAgent{};

void SetContact(sb::events::v1::ContactRef* c) { c->set_wa_id(kContact); }
const testing::Who kAdmin{.subject = "ops", .roles = {"admin", "supervisor"}};

// A valid request for a method, as the caller it needs, and a change to its body that keeps it
// valid (for the reused request_id).
struct Valid {
  std::function<std::unique_ptr<Message>()> make;
  std::function<void(Message&)> vary;
  testing::Who who = kAgent;
};

template <typename M>
Valid Make(std::function<void(M&)> fill, std::function<void(M&)> vary, testing::Who who = kAgent) {
  return {[fill] {
            auto m = std::make_unique<M>();
            fill(*m);
            return m;
          },
          [vary](Message& m) { vary(static_cast<M&>(m)); }, who};
}

class Conventions {
 public:
  Conventions()
      : suite_(
            {.services = {sb::webhooks::Register, sb::eligibility::Register, sb::calls::Register,
                          sb::routing::Register, sb::billing::Register,
                          sb::notifications::Register},
             .meta_sim = true,
             .sim_options = [](sb::metasim::SimOptions& o) { o.ring_timeout = absl::Minutes(5); },
             .numbers = {{.phone_number_id = kNumber}}}) {}

  testing::Suite& suite() { return suite_; }

  // Sends `bytes` to `method` ("/pkg.Service/Method") as `who`; the response lands in `resp`.
  absl::Status SendBytes(const std::string& method, const std::string& bytes,
                         const testing::Who& who, Message* resp = nullptr) {
    absl::StatusOr<std::string> got = suite_.CallBytes(method, bytes, who);
    if (!got.ok()) return got.status();
    if (resp != nullptr) REQUIRE(resp->ParseFromString(*got));
    return absl::OkStatus();
  }
  absl::Status Send(const std::string& method, const Message& req, const testing::Who& who,
                    Message* resp = nullptr) {
    return SendBytes(method, req.SerializeAsString(), who, resp);
  }

  // The state the valid requests refer to: a callable contact, ringing inbound calls, a call
  // with a note, callbacks, a second number.
  void Prepare() {
    sb::metasim::UserBehaviour patient;
    patient.on_call = sb::metasim::CallAnswer::kNoAnswer;
    suite_.sim()->SetDefaultBehaviour(patient);
    REQUIRE(suite_.sim()->SendUserMessage(kNumber, kContact, "Hi! Please call me").ok());
    REQUIRE(suite_.sim()->SendPermissionReply(kNumber, kContact, {.accept = true}).ok());
    REQUIRE(testing::Eventually(
        [&] {
          ev1::CheckEligibilityRequest req;
          req.mutable_contact()->set_wa_id(kContact);
          req.set_business_phone_number_id(kNumber);
          req.set_call_kind(ev1::CALL_KIND_USER_REQUESTED);
          ev1::CheckEligibilityResponse resp;
          return Send("/switchboard.eligibility.v1.EligibilityService/CheckEligibility", req,
                      kAgent, &resp)
                     .ok() &&
                 resp.eligible();
        },
        absl::Seconds(60)));
    // Agents who take calls (others than kAgent, who must stay free to place calls): a
    // round-robin team on the number rings each inbound call to one of them for a whole
    // minute, so the calls below still ring when the table reaches them.
    rv1::UpsertTeamRequest front;
    rv1::Team& team = *front.mutable_team();
    team.set_team_id("front");
    team.set_routing_mode(rv1::ROUTING_MODE_ROUND_ROBIN);
    team.mutable_ring_timeout()->set_seconds(60);
    team.mutable_agent_ring_timeout()->set_seconds(60);
    team.add_business_phone_number_ids(kNumber);
    for (const char* agent : {"agent-10", "agent-11", "agent-12", "agent-13"}) {
      team.add_members()->set_agent_id(agent);
      rv1::SetAgentAvailabilityRequest available;
      available.set_availability(rv1::AVAILABILITY_AVAILABLE);
      REQUIRE(Send("/switchboard.routing.v1.RoutingService/SetAgentAvailability", available,
                   {.subject = agent})
                  .ok());
    }
    REQUIRE(Send("/switchboard.routing.v1.RoutingService/UpsertTeam", front, kAdmin).ok());
    for (const char* name : {"answer", "reject", "end", "noted"}) {
      std::string meta_id =
          suite_.sim()
              ->PlaceUserCall(kNumber, "55119668802" + std::to_string(calls_.size()))
              .value();
      calls_[name] = InboundCall(meta_id);
    }
    // The agent the "answer" call rings claims it now, so AnswerCall and ClaimCall in the
    // table are answered the same however long the test takes to reach them.
    REQUIRE(testing::Eventually([&] {
      cv1::GetCallRequest get;
      get.set_call_id(calls_["answer"]);
      cv1::GetCallResponse got;
      if (!Send("/switchboard.calls.v1.CallsService/GetCall", get, kAgent, &got).ok() ||
          got.call().offered_agent_ids().empty()) {
        return false;
      }
      answerer_.subject = got.call().offered_agent_ids(0);
      return true;
    }));
    rv1::ClaimCallRequest claim;
    claim.set_call_id(calls_["answer"]);
    rv1::ClaimCallResponse claimed;
    REQUIRE(
        Send("/switchboard.routing.v1.RoutingService/ClaimCall", claim, answerer_, &claimed).ok());
    REQUIRE(claimed.won());
    cv1::AddCallNoteRequest note;
    note.set_call_id(calls_["noted"]);
    note.set_text("First note");
    cv1::AddCallNoteResponse noted;
    REQUIRE(Send("/switchboard.calls.v1.CallsService/AddCallNote", note, kAgent, &noted).ok());
    note_id_ = noted.note().note_id();
    for (int i = 0; i < 2; ++i) {
      cv1::ScheduleCallbackRequest cb;
      cb.mutable_contact()->set_wa_id(kContact);
      cb.set_business_phone_number_id(kNumber);
      *cb.mutable_due_time() = sb::core::ToProto(absl::Now() + absl::Hours(2));
      cv1::ScheduleCallbackResponse scheduled;
      REQUIRE(
          Send("/switchboard.calls.v1.CallsService/ScheduleCallback", cb, kAgent, &scheduled).ok());
      callbacks_.push_back(scheduled.callback().callback_id());
    }
    REQUIRE(suite_.RegisterNumber({.phone_number_id = kOtherNumber}).ok());
    // A rated call, for RefundCall: an ended call published as calls publishes it.
    cv1::CallStateChanged ended;
    cv1::Call& call = *ended.mutable_call();
    call.set_call_id("conventions-rated");
    call.set_tenant_id("acme");
    call.set_direction(cv1::CALL_DIRECTION_OUTBOUND);
    call.set_state(cv1::CALL_STATE_ENDED);
    call.mutable_contact()->set_wa_id(kContact);
    *call.mutable_answered_time() = sb::core::ToProto(absl::Now() - absl::Minutes(2));
    *call.mutable_ended_time() = sb::core::ToProto(absl::Now());
    *call.mutable_duration() = sb::core::ToProto(absl::Minutes(2));
    ended.set_state(cv1::CALL_STATE_ENDED);
    ended.mutable_header()->set_tenant_id("acme");
    ended.mutable_header()->set_entity_id(call.call_id());
    auto producer = sb::kafka::Producer::Create({.brokers = suite_.kafka_bootstrap()}).value();
    REQUIRE(producer
                ->PublishAndWait(sb::kafka::kCallsState,
                                 sb::kafka::MakeEvent(ended, call.call_id(), "calls"),
                                 absl::Seconds(10))
                .ok());
    REQUIRE(testing::Eventually([&] {
      bv1::ListUsageEntriesRequest req;
      req.set_filter(R"(call_id = "conventions-rated")");
      bv1::ListUsageEntriesResponse resp;
      return Send("/switchboard.billing.v1.BillingService/ListUsageEntries", req, kAdmin, &resp)
                 .ok() &&
             resp.entries_size() == 1;
    }));
  }

  // The valid request of every method that takes a request_id or a page_size.
  std::map<std::string, Valid> Table() {
    std::map<std::string, Valid> t;
    const std::string w = "/switchboard.webhooks.v1.WebhooksService/";
    t[w + "RegisterPhoneNumber"] = Make<wv1::RegisterPhoneNumberRequest>(
        [](auto& r) {
          r.set_phone_number_id("106540352243001");
          r.set_waba_id("102290129340398");
          r.set_display_phone_number("+1 631-555-3602");
        },
        [](auto& r) { r.set_display_phone_number("+1 631-555-3603"); }, kAdmin);
    t[w + "DeletePhoneNumber"] = Make<wv1::DeletePhoneNumberRequest>(
        [](auto& r) { r.set_phone_number_id(kOtherNumber); },
        [](auto& r) { r.set_phone_number_id(kNumber); }, kAdmin);
    t[w + "UpdateCallingSettings"] = Make<wv1::UpdateCallingSettingsRequest>(
        [](auto& r) {
          r.set_phone_number_id(kNumber);
          r.mutable_calling_settings()->set_calling_enabled(true);
          r.mutable_update_mask()->add_paths("calling_enabled");
        },
        [](auto& r) { r.mutable_calling_settings()->set_calling_enabled(false); }, kAdmin);
    t[w + "ListPhoneNumbers"] = Make<wv1::ListPhoneNumbersRequest>([](auto&) {}, nullptr, kAdmin);
    t[w + "ListDeadLetters"] = Make<wv1::ListDeadLettersRequest>([](auto&) {}, nullptr, kAdmin);

    const std::string e = "/switchboard.eligibility.v1.EligibilityService/";
    t[e + "ReserveCall"] = Make<ev1::ReserveCallRequest>(
        [](auto& r) {
          SetContact(r.mutable_contact());
          r.set_business_phone_number_id(kNumber);
          r.set_call_kind(ev1::CALL_KIND_USER_REQUESTED);
        },
        [](auto& r) { r.set_agent_id("agent-2"); });
    t[e + "RecordInboundMessage"] = Make<ev1::RecordInboundMessageRequest>(
        [](auto& r) {
          SetContact(r.mutable_contact());
          r.set_business_phone_number_id(kNumber);
          r.set_text("thanks");
        },
        [](auto& r) { r.set_text("thank you"); });
    t[e + "RecordConsent"] = Make<ev1::RecordConsentRequest>(
        [](auto& r) {
          SetContact(r.mutable_contact());
          r.set_business_phone_number_id(kNumber);
          r.set_kind(ev1::CONSENT_KIND_LONG_TERM);
          r.set_source(ev1::CONSENT_SOURCE_AGENT);
        },
        [](auto& r) { r.set_evidence("said yes on the phone"); });
    t[e + "RecordCallOffer"] = Make<ev1::RecordCallOfferRequest>(
        [](auto& r) {
          SetContact(r.mutable_contact());
          r.set_business_phone_number_id(kNumber);
        },
        [](auto& r) { r.set_agent_id("agent-2"); });
    for (const char* refusal : {"RecordOptOut", "RecordDecline"}) {
      bool opt_out = std::string(refusal) == "RecordOptOut";
      auto fill = [](Message& m) {
        auto* d = m.GetDescriptor();
        auto* r = m.GetReflection();
        // Another contact: the one StartCall calls must not opt out first.
        static_cast<sb::events::v1::ContactRef*>(
            r->MutableMessage(&m, d->FindFieldByName("contact")))
            ->set_wa_id("5511966880999");
        r->SetString(&m, d->FindFieldByName("business_phone_number_id"), kNumber);
        r->SetEnumValue(&m, d->FindFieldByName("source"), ev1::CONSENT_SOURCE_AGENT);
      };
      auto vary = [](Message& m) {
        m.GetReflection()->SetString(&m, m.GetDescriptor()->FindFieldByName("evidence"), "other");
      };
      t[e + refusal] = opt_out ? Make<ev1::RecordOptOutRequest>(fill, vary)
                               : Make<ev1::RecordDeclineRequest>(fill, vary);
    }
    t[e + "SetAutomationState"] = Make<ev1::SetAutomationStateRequest>(
        [](auto& r) {
          SetContact(r.mutable_contact());
          r.set_business_phone_number_id(kNumber);
          r.set_automation_state("bot");
        },
        [](auto& r) { r.set_automation_state("human"); });
    t[e + "SetQualityRating"] = Make<ev1::SetQualityRatingRequest>(
        [](auto& r) {
          r.set_business_phone_number_id(kNumber);
          r.set_quality_rating(ev1::QUALITY_RATING_GREEN);
        },
        [](auto& r) { r.set_quality_rating(ev1::QUALITY_RATING_YELLOW); }, kAdmin);
    t[e + "UpdateTenantPolicy"] = Make<ev1::UpdateTenantPolicyRequest>(
        [](auto& r) {
          r.mutable_policy()->set_calls_per_minute(6);
          r.mutable_update_mask()->add_paths("calls_per_minute");
        },
        [](auto& r) { r.mutable_policy()->set_calls_per_minute(7); }, kAdmin);
    t[e + "ListConsentAudit"] = Make<ev1::ListConsentAuditRequest>([](auto&) {}, nullptr);

    const std::string c = "/switchboard.calls.v1.CallsService/";
    t[c + "StartCall"] = Make<cv1::StartCallRequest>(
        [](auto& r) {
          SetContact(r.mutable_contact());
          r.set_business_phone_number_id(kNumber);
          r.set_sdp_offer(kSdp);
          r.set_call_kind(ev1::CALL_KIND_USER_REQUESTED);
        },
        [](auto& r) { r.set_sdp_offer(kSdp + "a=sendrecv\r\n"); });
    t[c + "AnswerCall"] = Make<cv1::AnswerCallRequest>(
        [this](auto& r) {
          r.set_call_id(calls_["answer"]);
          r.set_sdp_answer(kSdp);
        },
        [](auto& r) { r.set_sdp_answer(kSdp + "a=sendrecv\r\n"); }, answerer_);
    t[c + "RejectCall"] =
        Make<cv1::RejectCallRequest>([this](auto& r) { r.set_call_id(calls_["reject"]); },
                                     [](auto& r) { r.set_reason("busy"); });
    t[c + "EndCall"] =
        Make<cv1::EndCallRequest>([this](auto& r) { r.set_call_id(calls_["end"]); },
                                  [this](auto& r) { r.set_call_id(calls_["noted"]); });
    t[c + "AddCallNote"] = Make<cv1::AddCallNoteRequest>(
        [this](auto& r) {
          r.set_call_id(calls_["noted"]);
          r.set_text("Asked about the invoice");
        },
        [](auto& r) { r.set_text("Asked about the refund"); });
    t[c + "UpdateCallNote"] = Make<cv1::UpdateCallNoteRequest>(
        [this](auto& r) {
          r.set_note_id(note_id_);
          r.set_text("Edited");
        },
        [](auto& r) { r.set_text("Edited again"); });
    t[c + "DeleteCallNote"] =
        Make<cv1::DeleteCallNoteRequest>([this](auto& r) { r.set_note_id(note_id_); },
                                         [](auto& r) { r.set_note_id("another-note"); });
    t[c + "ScheduleCallback"] = Make<cv1::ScheduleCallbackRequest>(
        [](auto& r) {
          SetContact(r.mutable_contact());
          r.set_business_phone_number_id(kNumber);
          *r.mutable_due_time() = sb::core::ToProto(absl::Now() + absl::Hours(3));
        },
        [](auto& r) { r.set_note("call after lunch"); });
    t[c + "CompleteCallback"] =
        Make<cv1::CompleteCallbackRequest>([this](auto& r) { r.set_callback_id(callbacks_[0]); },
                                           [this](auto& r) { r.set_call_id(calls_["noted"]); });
    t[c + "CancelCallback"] =
        Make<cv1::CancelCallbackRequest>([this](auto& r) { r.set_callback_id(callbacks_[1]); },
                                         [](auto& r) { r.set_reason("no longer needed"); });
    t[c + "RequestCallPermission"] = Make<cv1::RequestCallPermissionRequest>(
        [](auto& r) {
          SetContact(r.mutable_contact());
          r.set_business_phone_number_id(kNumber);
          r.set_body_text("May we call you?");
        },
        [](auto& r) { r.set_body_text("May we call you about your order?"); });
    t[c + "ListCalls"] = Make<cv1::ListCallsRequest>([](auto&) {}, nullptr);
    t[c + "ListCallNotes"] = Make<cv1::ListCallNotesRequest>(
        [this](auto& r) { r.set_call_id(calls_["noted"]); }, nullptr);
    t[c + "ListCallbacks"] = Make<cv1::ListCallbacksRequest>([](auto&) {}, nullptr);

    const std::string r = "/switchboard.routing.v1.RoutingService/";
    t[r + "SetAgentAvailability"] = Make<rv1::SetAgentAvailabilityRequest>(
        [](auto& q) { q.set_availability(rv1::AVAILABILITY_AVAILABLE); },
        [](auto& q) { q.set_availability(rv1::AVAILABILITY_DND); });
    t[r + "UpsertTeam"] = Make<rv1::UpsertTeamRequest>(
        [](auto& q) {
          q.mutable_team()->set_team_id("conventions");
          q.mutable_team()->set_routing_mode(rv1::ROUTING_MODE_BROADCAST);
          q.mutable_team()->add_members()->set_agent_id(kAgent.subject);
        },
        [](auto& q) { q.mutable_team()->set_display_name("Conventions"); }, kAdmin);
    t[r + "ClaimCall"] = Make<rv1::ClaimCallRequest>(
        [this](auto& q) { q.set_call_id(calls_["answer"]); },
        [this](auto& q) { q.set_agent_id(answerer_.subject); }, answerer_);
    t[r + "SetContactAssignment"] = Make<rv1::SetContactAssignmentRequest>(
        [](auto& q) {
          SetContact(q.mutable_contact());
          q.set_agent_id(kAgent.subject);
        },
        [](auto& q) { q.set_agent_id("agent-2"); });
    t[r + "ListAgents"] = Make<rv1::ListAgentsRequest>([](auto&) {}, nullptr);
    t[r + "ListTeams"] = Make<rv1::ListTeamsRequest>([](auto&) {}, nullptr);

    const std::string b = "/switchboard.billing.v1.BillingService/";
    t[b + "UpdateRatePlan"] = Make<bv1::UpdateRatePlanRequest>(
        [](auto& q) {
          q.mutable_rate_plan()->set_monthly_minutes_limit(100000);
          q.mutable_update_mask()->add_paths("monthly_minutes_limit");
        },
        [](auto& q) { q.mutable_rate_plan()->set_monthly_minutes_limit(200000); }, kAdmin);
    t[b + "PurchaseMinutes"] = Make<bv1::PurchaseMinutesRequest>(
        [](auto& q) { q.set_minutes(10); }, [](auto& q) { q.set_minutes(20); }, kAdmin);
    t[b + "AdjustUsage"] = Make<bv1::AdjustUsageRequest>(
        [](auto& q) {
          q.set_minutes(-5);
          q.set_reason("goodwill");
        },
        [](auto& q) { q.set_reason("goodwill, again"); }, kAdmin);
    t[b + "RefundCall"] = Make<bv1::RefundCallRequest>(
        [](auto& q) {
          q.set_call_id("conventions-rated");
          q.set_reason("could not hear the agent");
        },
        [](auto& q) { q.set_reason("dropped"); }, kAdmin);
    t[b + "ListUsageEntries"] = Make<bv1::ListUsageEntriesRequest>([](auto&) {}, nullptr, kAdmin);
    t[b + "ListQuarantinedCalls"] =
        Make<bv1::ListQuarantinedCallsRequest>([](auto&) {}, nullptr, kAdmin);
    t[b + "ListInvoices"] = Make<bv1::ListInvoicesRequest>([](auto&) {}, nullptr, kAdmin);

    const std::string n = "/switchboard.notifications.v1.NotificationsService/";
    t[n + "UpdateNoticeSettings"] = Make<nv1::UpdateNoticeSettingsRequest>(
        [](auto& q) {
          q.mutable_settings()->set_business_phone_number_id(kNumber);
          q.mutable_settings()->add_recipient_wa_ids(kContact);
          q.mutable_settings()->set_usage_alerts(true);
        },
        [](auto& q) { q.mutable_settings()->set_suspension_alerts(true); }, kAdmin);
    return t;
  }

 private:
  // The calls service's id of the inbound call Meta knows as `meta_id`.
  std::string InboundCall(const std::string& meta_id) {
    std::string id;
    REQUIRE(testing::Eventually(
        [&] {
          cv1::ListCallsRequest req;
          cv1::ListCallsResponse resp;
          if (!Send("/switchboard.calls.v1.CallsService/ListCalls", req, kAgent, &resp).ok()) {
            return false;
          }
          for (const auto& c : resp.calls()) {
            if (c.meta_call_id() == meta_id) id = c.call_id();
          }
          return !id.empty();
        },
        absl::Seconds(30)));
    return id;
  }

  testing::Suite suite_;
  std::map<std::string, std::string> calls_;
  testing::Who answerer_;  // the agent the "answer" call rings, who claimed it
  std::string note_id_;
  std::vector<std::string> callbacks_;
};

struct Method {
  std::string service;
  std::string path;
  const google::protobuf::MethodDescriptor* descriptor;
};

std::vector<Method> Methods() {
  std::vector<Method> out;
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : kServices) {
    const auto* service = pool->FindServiceByName(name);
    REQUIRE(service != nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* m = service->method(i);
      out.push_back({name, absl::StrCat("/", name, "/", m->name()), m});
    }
  }
  return out;
}

// `m` with its first string field (searched depth-first) holding bytes that are not UTF-8;
// false when it has none.
bool SpoilUtf8(Message& m) {
  const Descriptor* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated()) continue;
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      r->SetString(&m, f, "caf\xc3(\xff");
      return true;
    }
    if (f->type() == FieldDescriptor::TYPE_MESSAGE && SpoilUtf8(*r->MutableMessage(&m, f))) {
      return true;
    }
  }
  return false;
}

bool Has(const Descriptor* d, const char* field) { return d->FindFieldByName(field) != nullptr; }

// Whether a request names a business number: at its top, or in a message it carries (the
// settings an Update RPC replaces, a team's numbers).
bool NamesNumber(const Descriptor* d, int depth = 0) {
  for (const char* name :
       {"business_phone_number_id", "phone_number_id", "business_phone_number_ids"}) {
    if (Has(d, name)) return true;
  }
  if (depth > 0) return false;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->message_type() != nullptr && !f->is_repeated() &&
        absl::StartsWith(f->message_type()->full_name(), "switchboard.") &&
        NamesNumber(f->message_type(), depth + 1)) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("no RPC acts through another tenant's business number") {
  Conventions t;
  t.Prepare();
  std::map<std::string, Valid> table = t.Table();
  // Those that name a number without taking a request_id.
  table["/switchboard.eligibility.v1.EligibilityService/CheckEligibility"] =
      Make<ev1::CheckEligibilityRequest>(
          [](auto& r) {
            SetContact(r.mutable_contact());
            r.set_business_phone_number_id(kNumber);
            r.set_call_kind(ev1::CALL_KIND_USER_REQUESTED);
          },
          nullptr);
  table["/switchboard.webhooks.v1.WebhooksService/GetPhoneNumber"] =
      Make<wv1::GetPhoneNumberRequest>([](auto& r) { r.set_phone_number_id(kNumber); }, nullptr);
  // A team that answers on the number (the table's names none).
  table["/switchboard.routing.v1.RoutingService/UpsertTeam"] = Make<rv1::UpsertTeamRequest>(
      [](auto& r) {
        r.mutable_team()->set_team_id("stolen");
        r.mutable_team()->set_routing_mode(rv1::ROUTING_MODE_BROADCAST);
        r.mutable_team()->add_members()->set_agent_id("mallory");
        r.mutable_team()->add_business_phone_number_ids(kNumber);
      },
      nullptr, kAdmin);
  // Registering another tenant's number is ALREADY_EXISTS PHONE_NUMBER_REGISTERED_ELSEWHERE, and
  // deleting an unknown number succeeds (its contract): neither acts through the number.
  const std::set<std::string> elsewhere = {
      "/switchboard.webhooks.v1.WebhooksService/RegisterPhoneNumber",
      "/switchboard.webhooks.v1.WebhooksService/DeletePhoneNumber"};
  const testing::Who globex_agent{.subject = "mallory", .roles = {"agent"}, .tenant = "globex"};
  const testing::Who globex_admin{.subject = "mallory", .roles = {"admin"}, .tenant = "globex"};
  auto graph_requests = [&] {
    int64_t n = 0;
    for (const auto& [action, count] : t.suite().sim()->Stats().graph_requests) n += count;
    return n;
  };
  const int64_t graph_before = graph_requests();
  int refused = 0;
  for (const Method& m : Methods()) {
    if (elsewhere.count(m.path) > 0) continue;
    const Descriptor* input = m.descriptor->input_type();
    if (!NamesNumber(input)) continue;
    INFO(m.path);
    auto it = table.find(m.path);
    REQUIRE(it != table.end());
    std::unique_ptr<Message> req = it->second.make();
    if (const FieldDescriptor* id = input->FindFieldByName("request_id")) {
      req->GetReflection()->SetString(req.get(), id, "xt-" + sb::core::NewId());
    }
    const testing::Who& who = it->second.who.roles == kAdmin.roles ? globex_admin : globex_agent;
    absl::Status s = t.Send(m.path, *req, who);
    CHECK(s.code() == absl::StatusCode::kNotFound);
    CHECK(ReasonOf(s) == "PHONE_NUMBER_NOT_FOUND");
    ++refused;
  }
  CHECK(refused == 16);
  // Nothing was asked of Meta, and the other tenant has nothing to show for it.
  CHECK(graph_requests() == graph_before);
  cv1::ListCallsResponse calls;
  REQUIRE(t.Send("/switchboard.calls.v1.CallsService/ListCalls", cv1::ListCallsRequest(),
                 globex_agent, &calls)
              .ok());
  CHECK(calls.calls().empty());
  cv1::ListCallbacksResponse callbacks;
  REQUIRE(t.Send("/switchboard.calls.v1.CallsService/ListCallbacks", cv1::ListCallbacksRequest(),
                 globex_agent, &callbacks)
              .ok());
  CHECK(callbacks.callbacks().empty());
  ev1::ListConsentAuditResponse audit;
  REQUIRE(t.Send("/switchboard.eligibility.v1.EligibilityService/ListConsentAudit",
                 ev1::ListConsentAuditRequest(), globex_agent, &audit)
              .ok());
  CHECK(audit.entries().empty());
}

TEST_CASE("the same fault gets the same code and reason from every RPC of every service") {
  Conventions t;
  t.Prepare();
  std::map<std::string, Valid> table = t.Table();
  google::protobuf::MessageFactory* factory = google::protobuf::MessageFactory::generated_factory();
  int undecodable = 0, bad_ids = 0, reused = 0, pages = 0;

  for (const Method& m : Methods()) {
    INFO(m.path);
    const Descriptor* input = m.descriptor->input_type();
    const bool streaming = m.descriptor->client_streaming() || m.descriptor->server_streaming();

    // Undecodable: field 1 claims 5 bytes and brings 2; and a string that is not UTF-8.
    if (!streaming) {
      absl::Status truncated = t.SendBytes(m.path,
                                           std::string("\x0a\x05"
                                                       "ab",
                                                       4),
                                           kAdmin);
      CHECK(truncated.code() == absl::StatusCode::kInvalidArgument);
      CHECK(ReasonOf(truncated) == "UNDECODABLE_REQUEST");
      std::unique_ptr<Message> spoiled(factory->GetPrototype(input)->New());
      if (SpoilUtf8(*spoiled)) {
        absl::Status not_utf8 = t.Send(m.path, *spoiled, kAdmin);
        INFO(not_utf8.ToString());
        CHECK(not_utf8.code() == absl::StatusCode::kInvalidArgument);
        CHECK(ReasonOf(not_utf8) == "UNDECODABLE_REQUEST");
      }
      ++undecodable;
    }
    const bool takes_id = Has(input, "request_id");
    const bool pages_of = Has(input, "page_size");
    if (!takes_id && !pages_of) continue;
    auto it = table.find(m.path);
    REQUIRE(it != table.end());  // add the method's valid request to Table()
    const Valid& valid = it->second;
    const FieldDescriptor* id_field = input->FindFieldByName("request_id");

    if (takes_id) {
      std::unique_ptr<Message> bad = valid.make();
      bad->GetReflection()->SetString(bad.get(), id_field, "not an id!");
      absl::Status s = t.Send(m.path, *bad, valid.who);
      CHECK(s.code() == absl::StatusCode::kInvalidArgument);
      CHECK(ReasonOf(s) == "INVALID_REQUEST_ID");
      ++bad_ids;

      const std::string id = "conv-" + sb::core::NewId();
      std::unique_ptr<Message> first = valid.make();
      first->GetReflection()->SetString(first.get(), id_field, id);
      std::unique_ptr<Message> response(factory->GetPrototype(m.descriptor->output_type())->New());
      absl::Status ok = t.Send(m.path, *first, valid.who, response.get());
      INFO("first: " << ok.ToString());
      REQUIRE(ok.ok());
      // The same request again: the first answer.
      std::unique_ptr<Message> again(response->New());
      REQUIRE(t.Send(m.path, *first, valid.who, again.get()).ok());
      // (StartCall's repeat is the call as it stands now, by contract.)
      if (m.descriptor->name() != "StartCall") {
        CHECK(again->SerializeAsString() == response->SerializeAsString());
      }
      // The same id, another body: refused.
      std::unique_ptr<Message> other = valid.make();
      valid.vary(*other);
      other->GetReflection()->SetString(other.get(), id_field, id);
      absl::Status reuse = t.Send(m.path, *other, valid.who);
      CHECK(reuse.code() == absl::StatusCode::kInvalidArgument);
      CHECK(ReasonOf(reuse) == "REQUEST_ID_REUSED");
      ++reused;
    }
    if (pages_of) {
      const FieldDescriptor* size = input->FindFieldByName("page_size");
      std::unique_ptr<Message> negative = valid.make();
      negative->GetReflection()->SetInt32(negative.get(), size, -1);
      absl::Status s = t.Send(m.path, *negative, valid.who);
      CHECK(s.code() == absl::StatusCode::kInvalidArgument);
      CHECK(ReasonOf(s) == "INVALID_PAGE_SIZE");
      std::unique_ptr<Message> huge = valid.make();
      huge->GetReflection()->SetInt32(huge.get(), size, 2000000000);
      CHECK(t.Send(m.path, *huge, valid.who).ok());
      ++pages;
    }
  }
  // Everything the table lists was met (a renamed method would silently drop out otherwise).
  CHECK(reused == 31);
  CHECK(pages == 11);
  CHECK(bad_ids == reused);
  CHECK(undecodable > 40);

  // The streamed export says the same for a filter that is not UTF-8.
  auto calls = t.suite().Stub<cv1::CallsService>();
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + testing::Suite::Token(kAgent));
  cv1::ExportCallsRequest req;
  req.set_filter("state = \"\xff\"");
  auto reader = calls->ExportCalls(&ctx, req);
  cv1::ExportCallsResponse chunk;
  while (reader->Read(&chunk)) {
  }
  absl::Status exported = sb::runtime::FromGrpcStatus(reader->Finish());
  CHECK(exported.code() == absl::StatusCode::kInvalidArgument);
  CHECK(ReasonOf(exported) == "UNDECODABLE_REQUEST");
}

TEST_CASE("every RPC names the roles that may call it, and only those get past the runtime") {
  Conventions t;
  // "service": a target calling another for work no request started (ServiceIdentity).
  const std::set<std::string> known = {"agent", "supervisor", "admin", "gateway", "service"};
  const testing::Who nobody{.subject = "intruder", .roles = {}};
  const testing::Who stranger{.subject = "intruder", .roles = {"auditor"}};
  int checked = 0;
  for (const Method& m : Methods()) {
    INFO(m.path);
    std::vector<std::string> roles = sb::runtime::MethodRoles(m.path);
    REQUIRE_FALSE(roles.empty());
    for (const std::string& role : roles) CHECK(known.count(role) == 1);
    const std::string expected = absl::AsciiStrToUpper(roles.front()) + "_ROLE_REQUIRED";

    // No role, or one no method names: refused before the request is read (an empty body
    // would otherwise be INVALID_ARGUMENT, so the refusal is the runtime's).
    for (const testing::Who* who : {&nobody, &stranger}) {
      absl::Status s = t.SendBytes(m.path, "", *who);
      CHECK(s.code() == absl::StatusCode::kPermissionDenied);
      CHECK(ReasonOf(s) == expected);
    }
    // Each role it names gets to the handler, which may still refuse (for a missing field, or
    // acting for someone else), but never for want of a role.
    for (const std::string& role : roles) {
      INFO(role);
      absl::Status s = t.SendBytes(m.path, "", {.subject = "agent-1", .roles = {role}});
      CHECK_FALSE(absl::EndsWith(ReasonOf(s), "_ROLE_REQUIRED"));
    }
    // Every role it does not name is refused.
    for (const std::string& role : known) {
      if (std::find(roles.begin(), roles.end(), role) != roles.end()) continue;
      INFO(role);
      absl::Status s = t.SendBytes(m.path, "", {.subject = "agent-1", .roles = {role}});
      CHECK(s.code() == absl::StatusCode::kPermissionDenied);
      CHECK(ReasonOf(s) == expected);
    }
    ++checked;
  }
  CHECK(checked > 45);

  // The configuration is the admin's: an agent changes none of it, and nothing changed.
  ev1::UpdateTenantPolicyRequest policy;
  policy.mutable_policy()->set_calls_per_minute(1);
  policy.mutable_update_mask()->add_paths("calls_per_minute");
  absl::Status denied =
      t.Send("/switchboard.eligibility.v1.EligibilityService/UpdateTenantPolicy", policy, kAgent);
  CHECK(denied.code() == absl::StatusCode::kPermissionDenied);
  CHECK(ReasonOf(denied) == "ADMIN_ROLE_REQUIRED");
  ev1::GetTenantPolicyResponse now;
  REQUIRE(t.Send("/switchboard.eligibility.v1.EligibilityService/GetTenantPolicy",
                 ev1::GetTenantPolicyRequest(), kAgent, &now)
              .ok());
  CHECK(now.policy().calls_per_minute() != 1);
}

#include "services/calls/commands.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "services/calls/rules/format.h"
#include "services/calls/rules/graph_errors.h"

namespace switchboard::calls {
namespace {

using core::FromProto;
using core::ToProto;

constexpr int64_t kMaxSdpBytes = 64 * 1024;
constexpr int64_t kMaxReasonChars = 1000;

absl::Status Sdp(absl::string_view sdp, absl::string_view field) {
  if (sdp.empty()) return api::Missing(field, absl::StrCat(field, " is required (at most 64 KiB)"));
  if (static_cast<int64_t>(sdp.size()) > kMaxSdpBytes) {
    return core::InvalidArgument(api::kTextTooLong, absl::StrCat(field, " is over 64 KiB"),
                                 {{"field", std::string(field)}});
  }
  return api::Text(sdp, field, {.max_chars = kMaxSdpBytes});
}

// Acts for agents other than itself: the gateway (on behalf of the signed-in agent) and
// supervisors.
bool ActsForOthers(const auth::Principal& caller) {
  return caller.HasRole("gateway") || caller.HasRole("supervisor");
}

// CALL_NOT_ELIGIBLE with every blocking code and when the last of them clears.
absl::Status NotEligible(const eligibility::v1::ReserveCallResponse& reserved) {
  std::vector<std::string> codes;
  std::optional<absl::Time> retry;
  for (const auto& r : reserved.blocking_reasons()) {
    codes.push_back(r.code());
    if (r.has_clears_time()) {
      absl::Time t = FromProto(r.clears_time());
      retry = retry.has_value() ? std::max(*retry, t) : t;
    }
  }
  core::ErrorMetadata md = {{"blocking_reasons", absl::StrJoin(codes, ",")}};
  if (retry) md["retry_time"] = format::Time(*retry, absl::UTCTimeZone());
  std::string first = reserved.blocking_reasons().empty() ? "the call is not allowed now"
                                                          : reserved.blocking_reasons(0).message();
  return core::Error(absl::StatusCode::kFailedPrecondition, "CALL_NOT_ELIGIBLE", first, md);
}

}  // namespace

Commands::Commands(CallRecords& records, whatsapp::Graph& graph, Reserver& eligibility,
                   Claimer& routing, runtime::Numbers& numbers, const core::Clock& clock,
                   Probe* probe)
    : records_(records),
      graph_(graph),
      eligibility_(eligibility),
      routing_(routing),
      numbers_(numbers),
      clock_(clock),
      probe_(probe) {}

absl::Status Commands::GraphRaw(absl::string_view action,
                                const std::function<absl::Status()>& request) {
  absl::Status s = request();
  std::string reason = core::ReasonOf(s);
  if (probe_ != nullptr) probe_->Graph(action, s.ok() ? "ok" : (reason.empty() ? "error" : reason));
  if (!s.ok()) {
    log::Warning("graph request failed",
                 {{"action", std::string(action)}, {"error", s.ToString()}});
  }
  return s;
}

absl::Status Commands::Graph(absl::string_view action,
                             const std::function<absl::Status()>& request) {
  absl::Status s = GraphRaw(action, request);
  return s.ok() ? s : rules::GraphError(s);
}

// ---- StartCall --------------------------------------------------------------------------------

absl::StatusOr<v1::Call> Commands::Start(const Caller& caller, const v1::StartCallRequest& req) {
  ASSIGN_OR_RETURN(std::string agent, api::ActingAgent(caller.principal, req.agent_id(), "agent_id",
                                                       {"gateway", "supervisor"}));
  RETURN_IF_ERROR(api::Contact(req.contact(), "contact"));
  if (req.contact().wa_id().empty()) {
    return api::Missing("contact.wa_id", "contact.wa_id is required to place a call");
  }
  RETURN_IF_ERROR(api::RequireId(req.business_phone_number_id(), "business_phone_number_id"));
  RETURN_IF_ERROR(Sdp(req.sdp_offer(), "sdp_offer"));
  RETURN_IF_ERROR(api::RequireId(req.request_id(), "request_id"));
  RETURN_IF_ERROR(
      api::RequireEnum(req.call_kind(), eligibility::v1::CallKind_descriptor(), "call_kind"));
  RETURN_IF_ERROR(
      numbers_.Check(caller.context, caller.principal.tenant_id, req.business_phone_number_id()));

  // A retry gets the call it placed, as it stands now.
  const pg::RequestKey key = pg::KeyOf(caller.principal.tenant_id, req);
  ASSIGN_OR_RETURN(std::optional<v1::Call> earlier, records_.Placed(key));
  if (earlier.has_value()) return *std::move(earlier);
  absl::StatusOr<v1::Call> placed = Place(caller, req, agent, key);
  if (placed.status().code() == absl::StatusCode::kAlreadyExists) {
    // The same request raced this one and placed the call first.
    ASSIGN_OR_RETURN(earlier, records_.Placed(key));
    if (earlier.has_value()) return *std::move(earlier);
  }
  return placed;
}

absl::StatusOr<v1::Call> Commands::Place(const Caller& caller, const v1::StartCallRequest& req,
                                         const std::string& agent, const pg::RequestKey& key) {
  const std::string& tenant = caller.principal.tenant_id;
  // The authoritative gate: eligibility re-checks and takes the rate-limit token.
  std::string call_id = core::NewId(clock_);
  eligibility::v1::ReserveCallRequest reserve;
  *reserve.mutable_contact() = req.contact();
  reserve.set_business_phone_number_id(req.business_phone_number_id());
  reserve.set_agent_id(agent);
  reserve.set_call_kind(req.call_kind());
  reserve.set_request_id(req.request_id());
  reserve.set_call_id(call_id);
  absl::StatusOr<eligibility::v1::ReserveCallResponse> reserved =
      eligibility_.Reserve(caller.context, reserve);
  if (!reserved.ok()) {
    const absl::Status& s = reserved.status();
    if (s.code() == absl::StatusCode::kInvalidArgument) return s;  // its validation, as is
    return core::Error(absl::StatusCode::kUnavailable, "ELIGIBILITY_UNAVAILABLE",
                       absl::StrCat("eligibility could not reserve the call: ", s.message()));
  }
  if (!reserved->granted()) return NotEligible(*reserved);

  // The call exists before Meta hears of it, so webhooks that beat the Graph response (they
  // echo our id in biz_opaque_callback_data) find it.
  const absl::Time now = clock_.Now();
  v1::Call call;
  call.set_call_id(call_id);
  call.set_tenant_id(tenant);
  call.set_direction(v1::CALL_DIRECTION_OUTBOUND);
  call.set_state(v1::CALL_STATE_OFFERED);
  call.set_business_phone_number_id(req.business_phone_number_id());
  *call.mutable_contact() = req.contact();
  call.set_contact_region_code(api::RegionOf(req.contact().phone_e164()));
  call.set_answered_by_agent_id(agent);
  *call.mutable_offered_time() = ToProto(now);
  const Cause cause{.at = now, .correlation_id = caller.correlation_id};
  RETURN_IF_ERROR(records_.Create(call, cause, key));

  std::string meta_call_id;
  absl::Status connected = GraphRaw("connect", [&]() -> absl::Status {
    ASSIGN_OR_RETURN(meta_call_id, graph_.Connect(req.business_phone_number_id(),
                                                  {.to = req.contact().wa_id(),
                                                   .sdp = req.sdp_offer(),
                                                   .biz_opaque_callback_data = call_id}));
    return absl::OkStatus();
  });
  if (!connected.ok()) {
    absl::Status answer = rules::GraphError(connected);
    core::ErrorMetadata md = core::MetadataOf(answer);
    md["call_id"] = call_id;
    answer = core::Error(answer.code(), core::ReasonOf(answer), answer.message(), md);
    // When Meta may have the call after all, the webhooks (or the unconfirmed-call timer)
    // decide how it ends; when it certainly did not, it failed here.
    if (rules::CertainlyNotPlaced(connected)) {
      absl::StatusOr<v1::Call> failed =
          records_.Record(tenant, call_id,
                          {.kind = EventKind::kConnectRefused,
                           .at = clock_.Now(),
                           .meta_error_code = rules::MetaCode(connected),
                           .meta_error_message = core::MetadataOf(connected)["meta_message"],
                           .meta_error_details = core::MetadataOf(connected)["details"]},
                          cause, {});
      if (!failed.ok()) {
        log::Error("refused call not recorded as failed",
                   {{"call_id", call_id}, {"error", failed.status().ToString()}});
      }
    }
    return answer;
  }

  // Meta's id, and whatever Meta said about the call before we knew it.
  ASSIGN_OR_RETURN(call, records_.AttachMetaId(tenant, call_id, meta_call_id, cause));
  // The agent hung up while Meta was still taking the call.
  if (call.state() == v1::CALL_STATE_MISSED && call.end_reason() == "CANCELED") {
    (void)Graph("terminate",
                [&] { return graph_.Terminate(call.business_phone_number_id(), meta_call_id); });
  }
  return call;
}

// ---- AnswerCall, RejectCall, EndCall ----------------------------------------------------------

absl::StatusOr<v1::Call> Commands::Answer(const Caller& caller, const v1::AnswerCallRequest& req) {
  const std::string& tenant = caller.principal.tenant_id;
  RETURN_IF_ERROR(api::RequireId(req.call_id(), "call_id"));
  RETURN_IF_ERROR(Sdp(req.sdp_answer(), "sdp_answer"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  ASSIGN_OR_RETURN(std::string agent,
                   api::ActingAgent(caller.principal, req.agent_id(), "agent_id", {"gateway"}));
  const pg::RequestKey key = pg::KeyOf(tenant, req);
  ASSIGN_OR_RETURN(std::optional<v1::Call> earlier, records_.Begin(key));
  if (earlier.has_value()) return *std::move(earlier);
  absl::StatusOr<v1::Call> answered = [&]() -> absl::StatusOr<v1::Call> {
    ASSIGN_OR_RETURN(std::optional<v1::Call> call, records_.Get(tenant, req.call_id()));
    if (!call.has_value()) return api::NotFound("call");
    v1::Call probe = *call;  // may it be answered now? (nothing is saved yet)
    RETURN_IF_ERROR(
        Apply(probe, {.kind = EventKind::kAgentAnswered, .at = clock_.Now(), .agent_id = agent})
            .status());
    // Routing decides who answers: exactly one of the agents it rings wins.
    routing::v1::ClaimCallRequest claim;
    claim.set_call_id(req.call_id());
    claim.set_agent_id(agent);
    ASSIGN_OR_RETURN(routing::v1::ClaimCallResponse claimed, routing_.Claim(caller.context, claim));
    if (!claimed.won()) {
      return core::Error(absl::StatusCode::kFailedPrecondition, "CALL_CLAIMED_BY_OTHER",
                         "another agent answered this call",
                         {{"agent_id", claimed.winner_agent_id()}});
    }
    RETURN_IF_ERROR(Graph("pre_accept", [&] {
      return graph_.PreAccept(call->business_phone_number_id(), call->meta_call_id(),
                              req.sdp_answer());
    }));
    RETURN_IF_ERROR(Graph("accept", [&] {
      return graph_.Accept(call->business_phone_number_id(), call->meta_call_id(),
                           req.sdp_answer());
    }));
    return records_.Record(
        tenant, req.call_id(),
        {.kind = EventKind::kAgentAnswered, .at = clock_.Now(), .agent_id = agent},
        {.at = clock_.Now(), .correlation_id = caller.correlation_id}, key);
  }();
  if (!answered.ok()) records_.Abandon(key);
  return answered;
}

absl::StatusOr<v1::Call> Commands::Reject(const Caller& caller, const v1::RejectCallRequest& req) {
  const std::string& tenant = caller.principal.tenant_id;
  RETURN_IF_ERROR(api::RequireId(req.call_id(), "call_id"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  RETURN_IF_ERROR(api::Text(req.reason(), "reason", {.max_chars = kMaxReasonChars}));
  const pg::RequestKey key = pg::KeyOf(tenant, req);
  ASSIGN_OR_RETURN(std::optional<v1::Call> earlier, records_.Begin(key));
  if (earlier.has_value()) return *std::move(earlier);
  absl::StatusOr<v1::Call> rejected = [&]() -> absl::StatusOr<v1::Call> {
    ASSIGN_OR_RETURN(std::optional<v1::Call> call, records_.Get(tenant, req.call_id()));
    if (!call.has_value()) return api::NotFound("call");
    const Event event{.kind = EventKind::kAgentRejected,
                      .at = clock_.Now(),
                      .agent_id = caller.principal.subject};
    v1::Call probe = *call;  // may it be rejected now? (nothing is saved yet)
    RETURN_IF_ERROR(Apply(probe, event).status());
    RETURN_IF_ERROR(Graph("reject", [&] {
      return graph_.Reject(call->business_phone_number_id(), call->meta_call_id());
    }));
    return records_.Record(tenant, req.call_id(), event,
                           {.at = event.at, .correlation_id = caller.correlation_id}, key,
                           req.reason());
  }();
  if (!rejected.ok()) records_.Abandon(key);
  return rejected;
}

absl::StatusOr<v1::Call> Commands::End(const Caller& caller, const v1::EndCallRequest& req) {
  const std::string& tenant = caller.principal.tenant_id;
  RETURN_IF_ERROR(api::RequireId(req.call_id(), "call_id"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  const pg::RequestKey key = pg::KeyOf(tenant, req);
  ASSIGN_OR_RETURN(std::optional<v1::Call> earlier, records_.Begin(key));
  if (earlier.has_value()) return *std::move(earlier);
  absl::StatusOr<v1::Call> ended = EndNow(caller, req, key);
  if (!ended.ok()) records_.Abandon(key);
  return ended;
}

absl::StatusOr<v1::Call> Commands::EndNow(const Caller& caller, const v1::EndCallRequest& req,
                                          const pg::RequestKey& key) {
  const std::string& tenant = caller.principal.tenant_id;
  ASSIGN_OR_RETURN(std::optional<v1::Call> call, records_.Get(tenant, req.call_id()));
  if (!call.has_value()) return api::NotFound("call");
  if (IsTerminal(call->state())) {  // over already: nothing to do, nothing to refuse
    records_.Abandon(key);
    return *std::move(call);
  }
  if (!call->answered_by_agent_id().empty() &&
      call->answered_by_agent_id() != caller.principal.subject &&
      !ActsForOthers(caller.principal)) {
    return core::Error(absl::StatusCode::kPermissionDenied, "NOT_CALL_AGENT",
                       "only the agent on the call, or a supervisor, can end it");
  }
  const bool inbound = call->direction() == v1::CALL_DIRECTION_INBOUND;
  const absl::Time now = clock_.Now();
  const Cause cause{.at = now, .correlation_id = caller.correlation_id};
  if (inbound && call->state() != v1::CALL_STATE_ANSWERED) {
    // Not answered yet: declining it is the only way to end it.
    RETURN_IF_ERROR(Graph("reject", [&] {
      return graph_.Reject(call->business_phone_number_id(), call->meta_call_id());
    }));
    return records_.Record(
        tenant, req.call_id(),
        {.kind = EventKind::kAgentRejected, .at = now, .agent_id = caller.principal.subject}, cause,
        key);
  }
  if (!call->meta_call_id().empty()) {
    RETURN_IF_ERROR(Graph("terminate", [&] {
      return graph_.Terminate(call->business_phone_number_id(), call->meta_call_id());
    }));
  }
  // Answered: Meta's terminate ends it with the authoritative duration (or the grace timer
  // does). Not answered (outbound): it ends here, canceled; if Meta's id is not known yet,
  // Start terminates it once it is.
  EventKind kind = call->state() == v1::CALL_STATE_ANSWERED ? EventKind::kHangupRequested
                                                            : EventKind::kAgentEnded;
  return records_.Record(tenant, req.call_id(),
                         {.kind = kind, .at = now, .agent_id = caller.principal.subject}, cause,
                         key);
}

void Commands::AfterTimers(const std::vector<Fired>& fired) {
  for (const Fired& f : fired) {
    const v1::Call& call = f.call;
    if (call.meta_call_id().empty()) continue;
    if (f.kind == TimerKind::kRing) {
      (void)Graph("reject", [&] {
        return graph_.Reject(call.business_phone_number_id(), call.meta_call_id());
      });
    } else if (f.kind == TimerKind::kUnconfirmed || f.kind == TimerKind::kMaxDuration) {
      // A call Meta may still think live (its terminate lost): end it there too.
      (void)Graph("terminate", [&] {
        return graph_.Terminate(call.business_phone_number_id(), call.meta_call_id());
      });
    }
  }
}

}  // namespace switchboard::calls

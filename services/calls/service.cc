#include "services/calls/service.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "libs/runtime/grpc.h"
#include "services/calls/contact.h"
#include "services/calls/format.h"
#include "services/calls/lifecycle.h"
#include "services/calls/query.h"

namespace switchboard::calls {
namespace {

using core::FromProto;
using core::ToProto;

constexpr int kMaxSdpBytes = 64 * 1024;
constexpr int kMaxNoteChars = 4000;
constexpr int kMaxCallbackNoteChars = 1000;
constexpr int kMaxReasonBytes = 1000;
constexpr int kMaxPermissionBodyChars = 1024;
constexpr absl::Duration kMaxCallbackAhead = absl::Hours(24 * 90);
constexpr absl::Duration kMaxStatsRange = absl::Hours(24 * 400);
constexpr size_t kExportChunkBytes = 60 * 1024;  // under the 64 KiB the API promises
constexpr absl::Duration kEligibilityDeadline = absl::Seconds(2);

absl::Status Invalid(absl::string_view reason, absl::string_view message, absl::string_view field) {
  return core::InvalidArgument(reason, message, {{"field", std::string(field)}});
}

absl::Status RequireId(absl::string_view value, absl::string_view field) {
  if (value.empty()) {
    return Invalid("INVALID_ARGUMENT", absl::StrCat(field, " is required"), field);
  }
  if (!IsSafeId(value)) {
    return Invalid("INVALID_ARGUMENT",
                   absl::StrCat(field, " must be 1-64 characters of [A-Za-z0-9._-]"), field);
  }
  return absl::OkStatus();
}

absl::Status OptionalId(absl::string_view value, absl::string_view field) {
  return value.empty() ? absl::OkStatus() : RequireId(value, field);
}

// Characters, not bytes: a note's limit is what its author sees.
int64_t Utf8Chars(absl::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

absl::Status Text(absl::string_view value, absl::string_view field, int64_t max_chars,
                  bool required) {
  if (required && value.empty()) {
    return Invalid("INVALID_ARGUMENT", absl::StrCat(field, " is required"), field);
  }
  if (Utf8Chars(value) > max_chars) {
    return Invalid("INVALID_ARGUMENT",
                   absl::StrCat(field, " is longer than ", max_chars, " characters"), field);
  }
  return absl::OkStatus();
}

absl::Status NotFound(absl::string_view reason, absl::string_view what) {
  return core::Error(absl::StatusCode::kNotFound, reason, absl::StrCat(what, " not found"));
}

// Acts for agents other than itself: the gateway (on behalf of the signed-in agent) and
// supervisors.
bool ActsForOthers(const auth::Principal& caller) {
  return caller.HasRole("gateway") || caller.HasRole("supervisor");
}

// The agent a command acts for: the caller unless `agent_id` names another agent, which only
// callers with one of `roles` may do.
absl::StatusOr<std::string> ActingAgent(const auth::Principal& caller, absl::string_view agent_id,
                                        absl::string_view field,
                                        std::initializer_list<absl::string_view> roles) {
  if (agent_id.empty() || agent_id == caller.subject) return caller.subject;
  RETURN_IF_ERROR(RequireId(agent_id, field));
  for (absl::string_view role : roles) {
    if (caller.HasRole(role)) return std::string(agent_id);
  }
  return core::Error(absl::StatusCode::kPermissionDenied, "NOT_CALLER_AGENT",
                     absl::StrCat(field, " must be the caller unless it has the ",
                                  absl::StrJoin(roles, " or "), " role"));
}

int PageSize(int32_t requested, int fallback, int max) {
  if (requested <= 0) return fallback;
  return std::min<int>(requested, max);
}

absl::Status CheckPageSize(int32_t requested) {
  if (requested < 0) return Invalid("INVALID_ARGUMENT", "page_size must be >= 0", "page_size");
  return absl::OkStatus();
}

// The API's error for a Graph request that failed.
absl::Status GraphError(const absl::Status& s) {
  core::ErrorMetadata md = core::MetadataOf(s);
  std::string reason = core::ReasonOf(s);
  int code = 0;
  if (auto it = md.find("meta_code"); it != md.end()) (void)absl::SimpleAtoi(it->second, &code);
  core::ErrorMetadata out;
  if (code != 0) out["meta_error_code"] = absl::StrCat(code);
  std::string message(s.message());
  switch (code) {
    case 0:
      break;
    case 138006:
      return core::Error(absl::StatusCode::kFailedPrecondition, "META_NO_CALL_PERMISSION", message,
                         out);
    case 138002:
    case 138005:
    case 138012:
      return core::Error(absl::StatusCode::kResourceExhausted, "META_RATE_LIMITED", message, out);
    default:
      if (s.code() == absl::StatusCode::kUnavailable) break;
      return core::Error(absl::StatusCode::kFailedPrecondition, "META_CALL_REFUSED", message, out);
  }
  if (reason == "META_RATE_LIMITED") {
    return core::Error(absl::StatusCode::kResourceExhausted, "META_RATE_LIMITED", message, out);
  }
  return core::Error(absl::StatusCode::kUnavailable, "META_UNAVAILABLE",
                     absl::StrCat("the WhatsApp Graph API could not be reached: ", message), out);
}

// Whether a failed Graph request certainly did not place anything at Meta: Meta answered with
// an error, or the connection was refused before anything was sent.
bool CertainlyNotPlaced(const absl::Status& s) {
  std::string reason = core::ReasonOf(s);
  if (reason == "HTTP_CONNECT_FAILED") return true;
  return core::MetadataOf(s).count("meta_code") > 0 && s.code() != absl::StatusCode::kUnavailable;
}

std::string CorrelationId(const grpc::ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find("x-correlation-id");
  if (it != md.end() && it->second.size() <= 64) {
    std::string id(it->second.data(), it->second.size());
    if (IsSafeId(id)) return id;
  }
  return core::NewId();
}

template <typename Response>
absl::Status Restore(const std::string& bytes, Response* resp) {
  if (!resp->ParseFromString(bytes)) {
    return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_RECORD",
                       "a stored response does not parse");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::TimeZone> Zone(absl::string_view name, absl::string_view field) {
  absl::TimeZone zone;
  if (name.empty() || name.size() > 64 || !absl::LoadTimeZone(std::string(name), &zone)) {
    return core::InvalidArgument("INVALID_TIME_ZONE",
                                 absl::StrCat(field, " is not an IANA time zone"),
                                 {{"field", std::string(field)}});
  }
  return zone;
}

bool IsLanguageTag(absl::string_view s) {
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (s.size() != 2 && s.size() != 5) return false;
  if (!lower(s[0]) || !lower(s[1])) return false;
  return s.size() == 2 || (s[2] == '-' && upper(s[3]) && upper(s[4]));
}

void FillTotals(const Totals& t, v1::CallBucket* b) {
  b->set_total_calls(t.total);
  b->set_answered_calls(t.answered);
  b->set_missed_calls(t.missed);
  b->set_rejected_calls(t.rejected);
  b->set_failed_calls(t.failed);
  b->set_inbound_calls(t.inbound);
  b->set_outbound_calls(t.outbound);
  b->mutable_total_duration()->set_seconds(t.duration_seconds);
  b->mutable_total_cost()->set_amount_micros(t.cost_micros);
  b->mutable_total_cost()->set_currency_code(t.currency.empty() ? "USD" : t.currency);
}

int32_t SuccessRateBps(const Totals& t) {
  return t.total == 0 ? 0 : static_cast<int32_t>(t.answered * 10000 / t.total);
}

void Add(Totals& sum, const Totals& t) {
  sum.total += t.total;
  sum.answered += t.answered;
  sum.missed += t.missed;
  sum.rejected += t.rejected;
  sum.failed += t.failed;
  sum.inbound += t.inbound;
  sum.outbound += t.outbound;
  sum.duration_seconds += t.duration_seconds;
  sum.billed_minutes += t.billed_minutes;
  sum.cost_micros += t.cost_micros;
  if (sum.currency.empty()) sum.currency = t.currency;
}

}  // namespace

Service::Service(Store& store, Ingest& ingest, whatsapp::GraphClient& graph, Reserve reserve,
                 const core::Clock& clock, std::function<void()> written, Probe* probe)
    : store_(store),
      ingest_(ingest),
      graph_(graph),
      reserve_(std::move(reserve)),
      clock_(clock),
      written_(std::move(written)),
      probe_(probe) {}

Service::~Service() = default;

void Service::Woke(bool enqueued) {
  if (enqueued && written_) written_();
}

absl::Status Service::GraphRaw(absl::string_view action,
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

absl::Status Service::Graph(absl::string_view action,
                            const std::function<absl::Status()>& request) {
  absl::Status s = GraphRaw(action, request);
  return s.ok() ? s : GraphError(s);
}

absl::StatusOr<v1::Call> Service::Record(absl::string_view tenant, absl::string_view call_id,
                                         const Event& event, absl::string_view request_id,
                                         absl::string_view method, absl::string_view correlation_id,
                                         const std::function<absl::Status(pg::Conn&)>& also) {
  v1::Call out;
  bool enqueued = false;
  RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    enqueued = false;
    ASSIGN_OR_RETURN(std::optional<v1::Call> call,
                     Store::Lock(tx, tenant, CallKey::Id(std::string(call_id))));
    if (!call.has_value()) return NotFound("CALL_NOT_FOUND", "call");
    ASSIGN_OR_RETURN(Transition t, Apply(*call, event));
    if (t.changed) {
      ASSIGN_OR_RETURN(
          enqueued, store_.Save(tx, *call, t,
                                {.at = event.at, .correlation_id = std::string(correlation_id)}));
    }
    if (also) RETURN_IF_ERROR(also(tx));
    out = *std::move(call);
    RETURN_IF_ERROR(
        pg::Idempotency::Remember(tx, tenant, request_id, method, out.SerializeAsString()));
    return absl::OkStatus();
  }));
  Woke(enqueued);
  return out;
}

// ---- the agents' commands -------------------------------------------------------------------

grpc::Status Service::StartCall(grpc::ServerContext* ctx, const v1::StartCallRequest* req,
                                v1::StartCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    const std::string& tenant = caller.tenant_id;
    ASSIGN_OR_RETURN(std::string agent,
                     ActingAgent(caller, req->agent_id(), "agent_id", {"gateway", "supervisor"}));
    RETURN_IF_ERROR(RequireId(agent, "agent_id"));
    RETURN_IF_ERROR(ValidateContact(req->contact(), "contact"));
    if (req->contact().wa_id().empty()) {
      return Invalid("INVALID_ARGUMENT", "contact.wa_id is required to place a call",
                     "contact.wa_id");
    }
    RETURN_IF_ERROR(RequireId(req->business_phone_number_id(), "business_phone_number_id"));
    if (req->sdp_offer().empty() || req->sdp_offer().size() > kMaxSdpBytes) {
      return Invalid("INVALID_ARGUMENT", "sdp_offer is required (at most 64 KiB)", "sdp_offer");
    }
    RETURN_IF_ERROR(RequireId(req->request_id(), "request_id"));
    if (req->call_kind() == eligibility::v1::CALL_KIND_UNSPECIFIED ||
        !eligibility::v1::CallKind_IsValid(req->call_kind())) {
      return Invalid("INVALID_ARGUMENT", "call_kind is required", "call_kind");
    }
    std::string correlation = CorrelationId(ctx);

    // A retry gets the call it placed, as it stands now.
    ASSIGN_OR_RETURN(std::optional<v1::Call> earlier,
                     store_.Get(tenant, CallKey::Request(req->request_id())));
    if (earlier.has_value()) {
      *resp->mutable_call() = *std::move(earlier);
      return absl::OkStatus();
    }

    // The authoritative gate: eligibility re-checks and takes the rate-limit token.
    std::string call_id = core::NewId(clock_);
    eligibility::v1::ReserveCallRequest reserve;
    *reserve.mutable_contact() = req->contact();
    reserve.set_business_phone_number_id(req->business_phone_number_id());
    reserve.set_agent_id(agent);
    reserve.set_call_kind(req->call_kind());
    reserve.set_request_id(req->request_id());
    reserve.set_call_id(call_id);
    eligibility::v1::ReserveCallResponse reserved;
    grpc::ClientContext rctx;
    rctx.set_deadline(absl::ToChronoTime(absl::Now() + kEligibilityDeadline));
    const auto& md = ctx->client_metadata();
    if (auto it = md.find("authorization"); it != md.end()) {
      rctx.AddMetadata("authorization", std::string(it->second.data(), it->second.size()));
    }
    rctx.AddMetadata("x-correlation-id", correlation);
    grpc::Status rs = reserve_(&rctx, reserve, &reserved);
    if (!rs.ok()) {
      absl::Status s = runtime::FromGrpcStatus(rs);
      if (s.code() == absl::StatusCode::kInvalidArgument) return s;  // its validation, as is
      return core::Error(absl::StatusCode::kUnavailable, "ELIGIBILITY_UNAVAILABLE",
                         absl::StrCat("eligibility could not reserve the call: ", s.message()));
    }
    if (!reserved.granted()) {
      std::vector<std::string> codes;
      std::optional<absl::Time> retry;
      for (const auto& r : reserved.blocking_reasons()) {
        codes.push_back(r.code());
        if (r.has_clears_time()) {
          absl::Time t = FromProto(r.clears_time());
          retry = retry.has_value() ? std::max(*retry, t) : t;
        }
      }
      core::ErrorMetadata md_out = {{"blocking_reasons", absl::StrJoin(codes, ",")}};
      if (retry) md_out["retry_time"] = format::Time(*retry, absl::UTCTimeZone());
      std::string first = reserved.blocking_reasons().empty()
                              ? "the call is not allowed now"
                              : reserved.blocking_reasons(0).message();
      return core::Error(absl::StatusCode::kFailedPrecondition, "CALL_NOT_ELIGIBLE", first, md_out);
    }

    // The call exists before Meta hears of it, so webhooks that beat the Graph response (they
    // echo our id in biz_opaque_callback_data) find it.
    absl::Time now = clock_.Now();
    v1::Call call;
    call.set_call_id(call_id);
    call.set_tenant_id(tenant);
    call.set_direction(v1::CALL_DIRECTION_OUTBOUND);
    call.set_state(v1::CALL_STATE_OFFERED);
    call.set_business_phone_number_id(req->business_phone_number_id());
    *call.mutable_contact() = req->contact();
    call.set_contact_region_code(RegionOf(req->contact().phone_e164()));
    call.set_answered_by_agent_id(agent);
    *call.mutable_offered_time() = ToProto(now);
    bool enqueued = false;
    absl::Status created = store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
      v1::Call fresh = call;
      ASSIGN_OR_RETURN(enqueued,
                       store_.Save(tx, fresh,
                                   {.from = v1::CALL_STATE_UNSPECIFIED,
                                    .to = v1::CALL_STATE_OFFERED,
                                    .publish = true,
                                    .changed = true},
                                   {.at = now, .correlation_id = correlation}, req->request_id()));
      call = std::move(fresh);
      return absl::OkStatus();
    });
    if (created.code() == absl::StatusCode::kAlreadyExists) {
      // The same request raced this one and placed the call first.
      ASSIGN_OR_RETURN(earlier, store_.Get(tenant, CallKey::Request(req->request_id())));
      if (earlier.has_value()) {
        *resp->mutable_call() = *std::move(earlier);
        return absl::OkStatus();
      }
    }
    RETURN_IF_ERROR(created);
    Woke(enqueued);

    std::string meta_call_id;
    absl::Status placed = GraphRaw("connect", [&]() -> absl::Status {
      ASSIGN_OR_RETURN(meta_call_id, graph_.Connect(req->business_phone_number_id(),
                                                    {.to = req->contact().wa_id(),
                                                     .sdp = req->sdp_offer(),
                                                     .biz_opaque_callback_data = call_id}));
      return absl::OkStatus();
    });
    if (!placed.ok()) {
      absl::Status answer = GraphError(placed);
      core::ErrorMetadata md_answer = core::MetadataOf(answer);
      md_answer["call_id"] = call_id;
      answer = core::Error(answer.code(), core::ReasonOf(answer), answer.message(), md_answer);
      // When Meta may have the call after all, the webhooks (or the unconfirmed-call timer)
      // decide how it ends; when it certainly did not, it failed here.
      if (CertainlyNotPlaced(placed)) {
        int code = 0;
        auto md_placed = core::MetadataOf(placed);
        if (auto it = md_placed.find("meta_code"); it != md_placed.end()) {
          (void)absl::SimpleAtoi(it->second, &code);
        }
        absl::StatusOr<v1::Call> failed = Record(
            tenant, call_id,
            {.kind = EventKind::kConnectRefused, .at = clock_.Now(), .meta_error_code = code}, "",
            "StartCall", correlation);
        if (!failed.ok()) {
          log::Error("refused call not recorded as failed",
                     {{"call_id", call_id}, {"error", failed.status().ToString()}});
        }
      }
      return answer;
    }

    // Meta's id, and whatever Meta said about the call before we knew it.
    bool hang_up = false;
    RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
      enqueued = false;
      ASSIGN_OR_RETURN(std::optional<v1::Call> stored,
                       Store::Lock(tx, tenant, CallKey::Id(call_id)));
      if (!stored.has_value()) return NotFound("CALL_NOT_FOUND", "call");
      if (stored->meta_call_id().empty()) {
        stored->set_meta_call_id(meta_call_id);
        ASSIGN_OR_RETURN(bool saved, store_.Save(tx, *stored, Transition{.changed = true},
                                                 {.at = now, .correlation_id = correlation}));
        ASSIGN_OR_RETURN(bool replayed, ingest_.ApplyParked(tx, *stored));
        enqueued = saved || replayed;
      }
      // The agent hung up while Meta was still taking the call.
      hang_up = stored->state() == v1::CALL_STATE_MISSED && stored->end_reason() == "CANCELED";
      call = *std::move(stored);
      return absl::OkStatus();
    }));
    Woke(enqueued);
    if (hang_up) {
      (void)Graph("terminate",
                  [&] { return graph_.Terminate(call.business_phone_number_id(), meta_call_id); });
    }
    *resp->mutable_call() = std::move(call);
    return absl::OkStatus();
  });
}

grpc::Status Service::AnswerCall(grpc::ServerContext* ctx, const v1::AnswerCallRequest* req,
                                 v1::AnswerCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    const std::string& tenant = caller.tenant_id;
    RETURN_IF_ERROR(RequireId(req->call_id(), "call_id"));
    if (req->sdp_answer().empty() || req->sdp_answer().size() > kMaxSdpBytes) {
      return Invalid("INVALID_ARGUMENT", "sdp_answer is required (at most 64 KiB)", "sdp_answer");
    }
    RETURN_IF_ERROR(OptionalId(req->request_id(), "request_id"));
    ASSIGN_OR_RETURN(std::string agent,
                     ActingAgent(caller, req->agent_id(), "agent_id", {"gateway"}));
    RETURN_IF_ERROR(RequireId(agent, "agent_id"));
    std::string correlation = CorrelationId(ctx);

    // Claim it: the first agent to claim a waiting call answers it.
    v1::Call call;
    bool repeat = false;
    RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<std::string> earlier,
                       pg::Idempotency::Find(tx, tenant, req->request_id(), "AnswerCall"));
      if (earlier.has_value()) {
        repeat = true;
        return Restore(*earlier, resp->mutable_call());
      }
      ASSIGN_OR_RETURN(std::optional<v1::Call> found,
                       Store::Lock(tx, tenant, CallKey::Id(req->call_id())));
      if (!found.has_value()) return NotFound("CALL_NOT_FOUND", "call");
      v1::Call probe = *found;
      RETURN_IF_ERROR(
          Apply(probe, {.kind = EventKind::kAgentAnswered, .at = clock_.Now(), .agent_id = agent})
              .status());
      ASSIGN_OR_RETURN(std::string holder,
                       Store::Claim(tx, tenant, req->call_id(), agent, clock_.Now(), kClaimLease));
      if (holder != agent) {
        return core::Error(absl::StatusCode::kFailedPrecondition, "CALL_CLAIMED_BY_OTHER",
                           "another agent is answering this call", {{"agent_id", holder}});
      }
      call = *std::move(found);
      return absl::OkStatus();
    }));
    if (repeat) return absl::OkStatus();

    absl::Status accepted = Graph("pre_accept", [&] {
      return graph_.PreAccept(call.business_phone_number_id(), call.meta_call_id(),
                              req->sdp_answer());
    });
    if (accepted.ok()) {
      accepted = Graph("accept", [&] {
        return graph_.Accept(call.business_phone_number_id(), call.meta_call_id(),
                             req->sdp_answer());
      });
    }
    if (!accepted.ok()) {
      absl::Status released = store_.ReleaseClaim(tenant, req->call_id(), agent);
      if (!released.ok()) {
        log::Warning("answer claim not released; it expires by itself",
                     {{"call_id", req->call_id()}, {"error", released.ToString()}});
      }
      return accepted;
    }
    ASSIGN_OR_RETURN(
        *resp->mutable_call(),
        Record(tenant, req->call_id(),
               {.kind = EventKind::kAgentAnswered, .at = clock_.Now(), .agent_id = agent},
               req->request_id(), "AnswerCall", correlation));
    return absl::OkStatus();
  });
}

grpc::Status Service::RejectCall(grpc::ServerContext* ctx, const v1::RejectCallRequest* req,
                                 v1::RejectCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    const std::string& tenant = caller.tenant_id;
    RETURN_IF_ERROR(RequireId(req->call_id(), "call_id"));
    RETURN_IF_ERROR(OptionalId(req->request_id(), "request_id"));
    if (req->reason().size() > kMaxReasonBytes) {
      return Invalid("INVALID_ARGUMENT", "reason is longer than 1000 bytes", "reason");
    }
    std::string correlation = CorrelationId(ctx);
    ASSIGN_OR_RETURN(std::optional<v1::Call> call, store_.Get(tenant, CallKey::Id(req->call_id())));
    if (!call.has_value()) return NotFound("CALL_NOT_FOUND", "call");
    if (!req->request_id().empty()) {
      std::optional<std::string> earlier;
      RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
        ASSIGN_OR_RETURN(earlier,
                         pg::Idempotency::Find(tx, tenant, req->request_id(), "RejectCall"));
        return absl::OkStatus();
      }));
      if (earlier.has_value()) return Restore(*earlier, resp->mutable_call());
    }
    Event event{.kind = EventKind::kAgentRejected, .at = clock_.Now(), .agent_id = caller.subject};
    v1::Call probe = *call;
    RETURN_IF_ERROR(Apply(probe, event).status());
    RETURN_IF_ERROR(Graph("reject", [&] {
      return graph_.Reject(call->business_phone_number_id(), call->meta_call_id());
    }));
    ASSIGN_OR_RETURN(*resp->mutable_call(), Record(tenant, req->call_id(), event, req->request_id(),
                                                   "RejectCall", correlation, [&](pg::Conn& tx) {
                                                     return req->reason().empty()
                                                                ? absl::OkStatus()
                                                                : Store::SetRejectReason(
                                                                      tx, tenant, req->call_id(),
                                                                      req->reason());
                                                   }));
    return absl::OkStatus();
  });
}

grpc::Status Service::EndCall(grpc::ServerContext* ctx, const v1::EndCallRequest* req,
                              v1::EndCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    const std::string& tenant = caller.tenant_id;
    RETURN_IF_ERROR(RequireId(req->call_id(), "call_id"));
    RETURN_IF_ERROR(OptionalId(req->request_id(), "request_id"));
    std::string correlation = CorrelationId(ctx);
    ASSIGN_OR_RETURN(std::optional<v1::Call> call, store_.Get(tenant, CallKey::Id(req->call_id())));
    if (!call.has_value()) return NotFound("CALL_NOT_FOUND", "call");
    if (IsTerminal(call->state())) {  // over already: nothing to do, nothing to refuse
      *resp->mutable_call() = *std::move(call);
      return absl::OkStatus();
    }
    if (!call->answered_by_agent_id().empty() && call->answered_by_agent_id() != caller.subject &&
        !ActsForOthers(caller)) {
      return core::Error(absl::StatusCode::kPermissionDenied, "NOT_CALL_AGENT",
                         "only the agent on the call, or a supervisor, can end it");
    }
    const bool inbound = call->direction() == v1::CALL_DIRECTION_INBOUND;
    const absl::Time now = clock_.Now();
    if (inbound && call->state() != v1::CALL_STATE_ANSWERED) {
      // Not answered yet: declining it is the only way to end it.
      RETURN_IF_ERROR(Graph("reject", [&] {
        return graph_.Reject(call->business_phone_number_id(), call->meta_call_id());
      }));
      ASSIGN_OR_RETURN(
          *resp->mutable_call(),
          Record(tenant, req->call_id(),
                 {.kind = EventKind::kAgentRejected, .at = now, .agent_id = caller.subject},
                 req->request_id(), "EndCall", correlation));
      return absl::OkStatus();
    }
    if (!call->meta_call_id().empty()) {
      RETURN_IF_ERROR(Graph("terminate", [&] {
        return graph_.Terminate(call->business_phone_number_id(), call->meta_call_id());
      }));
    }
    // Answered: Meta's terminate ends it with the authoritative duration (or the grace timer
    // does). Not answered (outbound): it ends here, canceled; if Meta's id is not known yet,
    // StartCall terminates it once it is.
    EventKind kind = call->state() == v1::CALL_STATE_ANSWERED ? EventKind::kHangupRequested
                                                              : EventKind::kAgentEnded;
    ASSIGN_OR_RETURN(
        *resp->mutable_call(),
        Record(tenant, req->call_id(), {.kind = kind, .at = now, .agent_id = caller.subject},
               req->request_id(), "EndCall", correlation));
    return absl::OkStatus();
  });
}

void Service::AfterTimers(const std::vector<Fired>& fired) {
  for (const Fired& f : fired) {
    const v1::Call& call = f.call;
    if (call.meta_call_id().empty()) continue;
    if (f.kind == TimerKind::kRing) {
      (void)Graph("reject", [&] {
        return graph_.Reject(call.business_phone_number_id(), call.meta_call_id());
      });
    } else if (f.kind == TimerKind::kUnconfirmed) {
      (void)Graph("terminate", [&] {
        return graph_.Terminate(call.business_phone_number_id(), call.meta_call_id());
      });
    }
  }
}

// ---- reading calls --------------------------------------------------------------------------

grpc::Status Service::GetCall(grpc::ServerContext* ctx, const v1::GetCallRequest* req,
                              v1::GetCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(RequireId(req->call_id(), "call_id"));
    ASSIGN_OR_RETURN(std::optional<v1::Call> call,
                     store_.Get(caller.tenant_id, CallKey::Id(req->call_id())));
    if (!call.has_value()) return NotFound("CALL_NOT_FOUND", "call");
    *resp->mutable_call() = *std::move(call);
    return absl::OkStatus();
  });
}

grpc::Status Service::ListCalls(grpc::ServerContext* ctx, const v1::ListCallsRequest* req,
                                v1::ListCallsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(CheckPageSize(req->page_size()));
    ASSIGN_OR_RETURN(query::Filter filter, query::ParseFilter(req->filter()));
    ASSIGN_OR_RETURN(std::string needle, query::NormalizeQuery(req->query()));
    std::string fingerprint = query::Fingerprint(filter, needle);
    ASSIGN_OR_RETURN(std::optional<query::Cursor> after,
                     query::DecodePageToken(req->page_token(), fingerprint));
    ASSIGN_OR_RETURN(CallPage page, store_.List(caller.tenant_id, filter, needle, after,
                                                PageSize(req->page_size(), 50, 500)));
    for (auto& c : page.calls) *resp->add_calls() = std::move(c);
    if (page.last.has_value()) {
      resp->set_next_page_token(query::EncodePageToken(*page.last, fingerprint));
    }
    return absl::OkStatus();
  });
}

grpc::Status Service::GetCallStats(grpc::ServerContext* ctx, const v1::GetCallStatsRequest* req,
                                   v1::GetCallStatsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(query::Filter filter,
                     query::ParseFilter(req->filter(), query::TimeTerms::kRefused));
    absl::Time start, end;
    if (!req->has_start_time() && !req->has_end_time()) {
      ASSIGN_OR_RETURN(v1::CallsSettings settings, store_.Settings(caller.tenant_id));
      ASSIGN_OR_RETURN(absl::TimeZone zone, Zone(settings.time_zone(), "settings.time_zone"));
      std::tie(start, end) = query::MonthOf(clock_.Now(), zone);
    } else {
      if (!req->has_start_time() || !req->has_end_time()) {
        return core::InvalidArgument("INVALID_RANGE",
                                     "give both start_time and end_time, or neither");
      }
      start = FromProto(req->start_time());
      end = FromProto(req->end_time());
      if (end <= start || end - start > kMaxStatsRange) {
        return core::InvalidArgument("INVALID_RANGE",
                                     "end_time must follow start_time, at most 400 days later");
      }
    }
    ASSIGN_OR_RETURN(Totals t, store_.Stats(caller.tenant_id, filter, start, end));
    *resp->mutable_start_time() = ToProto(start);
    *resp->mutable_end_time() = ToProto(end);
    resp->set_total_calls(t.total);
    resp->set_answered_calls(t.answered);
    resp->set_missed_calls(t.missed);
    resp->set_rejected_calls(t.rejected);
    resp->set_failed_calls(t.failed);
    resp->set_inbound_calls(t.inbound);
    resp->set_outbound_calls(t.outbound);
    resp->set_success_rate_bps(SuccessRateBps(t));
    resp->mutable_total_duration()->set_seconds(t.duration_seconds);
    resp->set_billed_minutes(t.billed_minutes);
    resp->mutable_total_cost()->set_amount_micros(t.cost_micros);
    resp->mutable_total_cost()->set_currency_code(t.currency.empty() ? "USD" : t.currency);
    resp->mutable_average_duration()->set_seconds(
        t.answered == 0 ? 0 : t.duration_seconds / t.answered);
    return absl::OkStatus();
  });
}

grpc::Status Service::GetCallAnalytics(grpc::ServerContext* ctx,
                                       const v1::GetCallAnalyticsRequest* req,
                                       v1::GetCallAnalyticsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(query::Filter filter,
                     query::ParseFilter(req->filter(), query::TimeTerms::kRefused));
    std::string zone_name = req->time_zone();
    if (zone_name.empty()) {
      ASSIGN_OR_RETURN(v1::CallsSettings settings, store_.Settings(caller.tenant_id));
      zone_name = settings.time_zone();
    }
    ASSIGN_OR_RETURN(absl::TimeZone zone, Zone(zone_name, "time_zone"));
    if (req->top_contacts_limit() < 0) {
      return Invalid("INVALID_ARGUMENT", "top_contacts_limit must be >= 0", "top_contacts_limit");
    }
    ASSIGN_OR_RETURN(
        query::Period period,
        query::ResolvePeriod(
            req->period(), req->granularity(),
            req->has_start_time() ? std::optional(FromProto(req->start_time())) : std::nullopt,
            req->has_end_time() ? std::optional(FromProto(req->end_time())) : std::nullopt,
            clock_.Now(), zone));
    ASSIGN_OR_RETURN(std::vector<Totals> buckets, store_.Buckets(caller.tenant_id, filter, period));
    ASSIGN_OR_RETURN(std::vector<TopContact> top,
                     store_.TopContacts(caller.tenant_id, filter, period.start, period.end,
                                        PageSize(req->top_contacts_limit(), 10, 50)));
    *resp->mutable_start_time() = ToProto(period.start);
    *resp->mutable_end_time() = ToProto(period.end);
    resp->set_granularity(period.granularity);
    Totals sum;
    for (size_t i = 0; i < buckets.size(); ++i) {
      v1::CallBucket* b = resp->add_buckets();
      *b->mutable_start_time() = ToProto(period.bucket_starts[i]);
      Add(sum, buckets[i]);
    }
    for (size_t i = 0; i < buckets.size(); ++i) {
      // One currency per tenant: empty buckets show it too.
      if (buckets[i].currency.empty()) buckets[i].currency = sum.currency;
      FillTotals(buckets[i], resp->mutable_buckets(static_cast<int>(i)));
    }
    FillTotals(sum, resp->mutable_totals());
    *resp->mutable_totals()->mutable_start_time() = ToProto(period.start);
    for (const TopContact& t : top) {
      v1::TopContact* out = resp->add_top_contacts();
      *out->mutable_contact() = t.contact;
      out->set_call_count(t.calls);
      out->mutable_total_duration()->set_seconds(t.duration_seconds);
    }
    resp->mutable_average_duration()->set_seconds(
        sum.answered == 0 ? 0 : sum.duration_seconds / sum.answered);
    resp->set_success_rate_bps(SuccessRateBps(sum));
    return absl::OkStatus();
  });
}

grpc::Status Service::ExportCalls(grpc::ServerContext* ctx, const v1::ExportCallsRequest* req,
                                  grpc::ServerWriter<v1::ExportCallsResponse>* writer) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(query::Filter filter, query::ParseFilter(req->filter()));
    ASSIGN_OR_RETURN(std::string needle, query::NormalizeQuery(req->query()));
    absl::TimeZone zone = absl::UTCTimeZone();
    if (!req->time_zone().empty()) {
      ASSIGN_OR_RETURN(zone, Zone(req->time_zone(), "time_zone"));
    }
    v1::ExportCallsResponse chunk;
    std::string* buffer = chunk.mutable_data();
    buffer->reserve(kExportChunkBytes + 4096);
    format::AppendCsvHeader(buffer);
    auto flush = [&]() -> absl::Status {
      if (ctx->IsCancelled() || !writer->Write(chunk)) {
        return core::Error(absl::StatusCode::kCancelled, "EXPORT_CANCELLED",
                           "the client stopped reading the export");
      }
      buffer->clear();
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(
        store_.Export(caller.tenant_id, filter, needle, [&](const v1::Call& call) -> absl::Status {
          format::AppendCsvRow(call, zone, buffer);
          if (buffer->size() >= kExportChunkBytes) return flush();
          return absl::OkStatus();
        }));
    if (!buffer->empty()) RETURN_IF_ERROR(flush());
    return absl::OkStatus();
  });
}

// ---- notes ----------------------------------------------------------------------------------

grpc::Status Service::AddCallNote(grpc::ServerContext* ctx, const v1::AddCallNoteRequest* req,
                                  v1::AddCallNoteResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    const std::string& tenant = caller.tenant_id;
    RETURN_IF_ERROR(RequireId(req->call_id(), "call_id"));
    RETURN_IF_ERROR(Text(req->text(), "text", kMaxNoteChars, true));
    RETURN_IF_ERROR(OptionalId(req->request_id(), "request_id"));
    return store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<std::string> earlier,
                       pg::Idempotency::Find(tx, tenant, req->request_id(), "AddCallNote"));
      if (earlier.has_value()) return Restore(*earlier, resp);
      ASSIGN_OR_RETURN(std::optional<v1::Call> call,
                       Store::Lock(tx, tenant, CallKey::Id(req->call_id())));
      if (!call.has_value()) return NotFound("CALL_NOT_FOUND", "call");
      absl::Time now = clock_.Now();
      v1::CallNote note;
      note.set_note_id(core::NewId(clock_));
      note.set_call_id(req->call_id());
      *note.mutable_contact() = call->contact();
      note.set_author_agent_id(caller.subject);
      note.set_text(req->text());
      *note.mutable_create_time() = ToProto(now);
      *note.mutable_update_time() = ToProto(now);
      RETURN_IF_ERROR(Store::InsertNote(tx, tenant, note, ContactKey(call->contact())));
      *resp->mutable_note() = std::move(note);
      return pg::Idempotency::Remember(tx, tenant, req->request_id(), "AddCallNote",
                                       resp->SerializeAsString());
    });
  });
}

namespace {

absl::Status MayEditNote(const auth::Principal& caller, const v1::CallNote& note) {
  if (note.author_agent_id() == caller.subject || caller.HasRole("supervisor")) {
    return absl::OkStatus();
  }
  return core::Error(absl::StatusCode::kPermissionDenied, "NOT_NOTE_AUTHOR",
                     "only the note's author or a supervisor can change it");
}

}  // namespace

grpc::Status Service::UpdateCallNote(grpc::ServerContext* ctx, const v1::UpdateCallNoteRequest* req,
                                     v1::UpdateCallNoteResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    const std::string& tenant = caller.tenant_id;
    RETURN_IF_ERROR(RequireId(req->note_id(), "note_id"));
    RETURN_IF_ERROR(Text(req->text(), "text", kMaxNoteChars, true));
    RETURN_IF_ERROR(OptionalId(req->request_id(), "request_id"));
    return store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<std::string> earlier,
                       pg::Idempotency::Find(tx, tenant, req->request_id(), "UpdateCallNote"));
      if (earlier.has_value()) return Restore(*earlier, resp);
      ASSIGN_OR_RETURN(std::optional<v1::CallNote> note,
                       Store::LockNote(tx, tenant, req->note_id()));
      if (!note.has_value()) return NotFound("NOTE_NOT_FOUND", "note");
      RETURN_IF_ERROR(MayEditNote(caller, *note));
      note->set_text(req->text());
      *note->mutable_update_time() = ToProto(clock_.Now());
      RETURN_IF_ERROR(Store::UpdateNote(tx, tenant, *note));
      *resp->mutable_note() = *std::move(note);
      return pg::Idempotency::Remember(tx, tenant, req->request_id(), "UpdateCallNote",
                                       resp->SerializeAsString());
    });
  });
}

grpc::Status Service::ListCallNotes(grpc::ServerContext* ctx, const v1::ListCallNotesRequest* req,
                                    v1::ListCallNotesResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(CheckPageSize(req->page_size()));
    std::string call_id, contact_key;
    switch (req->parent_case()) {
      case v1::ListCallNotesRequest::kCallId:
        RETURN_IF_ERROR(RequireId(req->call_id(), "call_id"));
        call_id = req->call_id();
        break;
      case v1::ListCallNotesRequest::kContact:
        RETURN_IF_ERROR(ValidateContact(req->contact(), "contact"));
        contact_key = ContactKey(req->contact());
        break;
      default:
        return Invalid("INVALID_ARGUMENT", "call_id or contact is required", "parent");
    }
    std::string fingerprint = absl::StrCat("notes|", call_id, "|", contact_key);
    ASSIGN_OR_RETURN(std::optional<query::Cursor> after,
                     query::DecodePageToken(req->page_token(), fingerprint));
    ASSIGN_OR_RETURN(NotePage page, store_.ListNotes(caller.tenant_id, call_id, contact_key, after,
                                                     PageSize(req->page_size(), 50, 200)));
    for (auto& n : page.notes) *resp->add_notes() = std::move(n);
    if (page.last.has_value()) {
      resp->set_next_page_token(query::EncodePageToken(*page.last, fingerprint));
    }
    return absl::OkStatus();
  });
}

grpc::Status Service::DeleteCallNote(grpc::ServerContext* ctx, const v1::DeleteCallNoteRequest* req,
                                     v1::DeleteCallNoteResponse* /*resp*/) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    const std::string& tenant = caller.tenant_id;
    RETURN_IF_ERROR(RequireId(req->note_id(), "note_id"));
    RETURN_IF_ERROR(OptionalId(req->request_id(), "request_id"));
    return store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<v1::CallNote> note,
                       Store::LockNote(tx, tenant, req->note_id()));
      if (!note.has_value()) return absl::OkStatus();  // gone already
      RETURN_IF_ERROR(MayEditNote(caller, *note));
      return Store::DeleteNote(tx, tenant, req->note_id());
    });
  });
}

// ---- callbacks ------------------------------------------------------------------------------

grpc::Status Service::ScheduleCallback(grpc::ServerContext* ctx,
                                       const v1::ScheduleCallbackRequest* req,
                                       v1::ScheduleCallbackResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    const std::string& tenant = caller.tenant_id;
    RETURN_IF_ERROR(ValidateContact(req->contact(), "contact"));
    RETURN_IF_ERROR(RequireId(req->business_phone_number_id(), "business_phone_number_id"));
    RETURN_IF_ERROR(OptionalId(req->assigned_agent_id(), "assigned_agent_id"));
    RETURN_IF_ERROR(OptionalId(req->source_call_id(), "source_call_id"));
    RETURN_IF_ERROR(OptionalId(req->request_id(), "request_id"));
    RETURN_IF_ERROR(Text(req->note(), "note", kMaxCallbackNoteChars, false));
    absl::Time now = clock_.Now();
    if (!req->has_due_time())
      return Invalid("INVALID_ARGUMENT", "due_time is required", "due_time");
    absl::Time due = FromProto(req->due_time());
    if (due <= now || due > now + kMaxCallbackAhead) {
      return Invalid("INVALID_ARGUMENT", "due_time must be in the future, at most 90 days ahead",
                     "due_time");
    }
    return store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<std::string> earlier,
                       pg::Idempotency::Find(tx, tenant, req->request_id(), "ScheduleCallback"));
      if (earlier.has_value()) return Restore(*earlier, resp);
      if (!req->source_call_id().empty()) {
        ASSIGN_OR_RETURN(std::optional<v1::Call> source,
                         Store::Lock(tx, tenant, CallKey::Id(req->source_call_id())));
        if (!source.has_value()) return NotFound("CALL_NOT_FOUND", "source call");
      }
      v1::Callback cb;
      cb.set_callback_id(core::NewId(clock_));
      *cb.mutable_contact() = req->contact();
      cb.set_business_phone_number_id(req->business_phone_number_id());
      cb.set_assigned_agent_id(req->assigned_agent_id());
      *cb.mutable_due_time() = req->due_time();
      cb.set_note(req->note());
      cb.set_state(v1::CALLBACK_STATE_PENDING);
      cb.set_source_call_id(req->source_call_id());
      cb.set_created_by(caller.subject);
      *cb.mutable_create_time() = ToProto(now);
      RETURN_IF_ERROR(Store::SaveCallback(tx, tenant, cb, 0, now));
      *resp->mutable_callback() = std::move(cb);
      return pg::Idempotency::Remember(tx, tenant, req->request_id(), "ScheduleCallback",
                                       resp->SerializeAsString());
    });
  });
}

grpc::Status Service::ListCallbacks(grpc::ServerContext* ctx, const v1::ListCallbacksRequest* req,
                                    v1::ListCallbacksResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(CheckPageSize(req->page_size()));
    ASSIGN_OR_RETURN(query::CallbackFilter filter, query::ParseCallbackFilter(req->filter()));
    std::string fingerprint = absl::StrCat("callbacks|", req->filter());
    ASSIGN_OR_RETURN(std::optional<query::Cursor> after,
                     query::DecodePageToken(req->page_token(), fingerprint));
    ASSIGN_OR_RETURN(CallbackPage page, store_.ListCallbacks(caller.tenant_id, filter, after,
                                                             PageSize(req->page_size(), 50, 200)));
    for (auto& c : page.callbacks) *resp->add_callbacks() = std::move(c);
    if (page.last.has_value()) {
      resp->set_next_page_token(query::EncodePageToken(*page.last, fingerprint));
    }
    return absl::OkStatus();
  });
}

namespace {

// Closes a callback (COMPLETED or CANCELED). Closing it the same way again returns it as is.
template <typename Request, typename Response>
absl::Status CloseCallback(Store& store, const core::Clock& clock, const auth::Principal& caller,
                           const Request& req, Response* resp, v1::CallbackState to,
                           absl::string_view method,
                           const std::function<void(v1::Callback&)>& fill) {
  const std::string& tenant = caller.tenant_id;
  RETURN_IF_ERROR(RequireId(req.callback_id(), "callback_id"));
  RETURN_IF_ERROR(OptionalId(req.request_id(), "request_id"));
  return store.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> earlier,
                     pg::Idempotency::Find(tx, tenant, req.request_id(), method));
    if (earlier.has_value()) return Restore(*earlier, resp);
    ASSIGN_OR_RETURN(std::optional<StoredCallback> stored,
                     Store::LockCallback(tx, tenant, req.callback_id()));
    if (!stored.has_value()) return NotFound("CALLBACK_NOT_FOUND", "callback");
    v1::Callback& cb = stored->callback;
    if (cb.state() != to) {
      if (cb.state() == v1::CALLBACK_STATE_CANCELED) {
        return core::Error(absl::StatusCode::kFailedPrecondition, "CALLBACK_CANCELED",
                           "the callback was canceled");
      }
      if (cb.state() == v1::CALLBACK_STATE_COMPLETED) {
        return core::Error(absl::StatusCode::kFailedPrecondition, "CALLBACK_COMPLETED",
                           "the callback was completed");
      }
      absl::Time now = clock.Now();
      cb.set_state(to);
      *cb.mutable_close_time() = ToProto(now);
      fill(cb);
      RETURN_IF_ERROR(Store::SaveCallback(tx, tenant, cb, stored->sequence, now));
    }
    *resp->mutable_callback() = cb;
    return pg::Idempotency::Remember(tx, tenant, req.request_id(), method,
                                     resp->SerializeAsString());
  });
}

}  // namespace

grpc::Status Service::CompleteCallback(grpc::ServerContext* ctx,
                                       const v1::CompleteCallbackRequest* req,
                                       v1::CompleteCallbackResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(OptionalId(req->call_id(), "call_id"));
    return CloseCallback(store_, clock_, caller, *req, resp, v1::CALLBACK_STATE_COMPLETED,
                         "CompleteCallback",
                         [&](v1::Callback& cb) { cb.set_completed_call_id(req->call_id()); });
  });
}

grpc::Status Service::CancelCallback(grpc::ServerContext* ctx, const v1::CancelCallbackRequest* req,
                                     v1::CancelCallbackResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(Text(req->reason(), "reason", kMaxReasonBytes, false));
    return CloseCallback(store_, clock_, caller, *req, resp, v1::CALLBACK_STATE_CANCELED,
                         "CancelCallback",
                         [&](v1::Callback& cb) { cb.set_cancel_reason(req->reason()); });
  });
}

// ---- permission requests and settings -------------------------------------------------------

grpc::Status Service::RequestCallPermission(grpc::ServerContext* ctx,
                                            const v1::RequestCallPermissionRequest* req,
                                            v1::RequestCallPermissionResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    const std::string& tenant = caller.tenant_id;
    RETURN_IF_ERROR(ValidateContact(req->contact(), "contact"));
    if (req->contact().wa_id().empty()) {
      return Invalid("INVALID_ARGUMENT", "contact.wa_id is required", "contact.wa_id");
    }
    RETURN_IF_ERROR(RequireId(req->business_phone_number_id(), "business_phone_number_id"));
    RETURN_IF_ERROR(Text(req->body_text(), "body_text", kMaxPermissionBodyChars, true));
    RETURN_IF_ERROR(OptionalId(req->request_id(), "request_id"));
    std::optional<std::string> earlier;
    RETURN_IF_ERROR(store_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
      ASSIGN_OR_RETURN(
          earlier, pg::Idempotency::Find(tx, tenant, req->request_id(), "RequestCallPermission"));
      return absl::OkStatus();
    }));
    if (earlier.has_value()) return Restore(*earlier, resp);
    absl::Status sent = GraphRaw("call_permission_request", [&] {
      return graph_
          .SendCallPermissionRequest(req->business_phone_number_id(), req->contact().wa_id(),
                                     req->body_text())
          .status();
    });
    if (!sent.ok()) {
      std::string reason = core::ReasonOf(sent);
      if (reason == "META_131047") {
        return core::Error(absl::StatusCode::kFailedPrecondition, "OUTSIDE_SERVICE_WINDOW",
                           "the contact has not written in the last 24 hours; use a template");
      }
      if (reason == "META_138009") {
        core::ErrorMetadata md;
        auto meta = core::MetadataOf(sent);
        if (auto it = meta.find("details"); it != meta.end()) md["details"] = it->second;
        return core::Error(absl::StatusCode::kResourceExhausted, "PERMISSION_REQUEST_LIMIT",
                           "Meta allows 1 permission request per 24 h and 2 per 7 days", md);
      }
      return GraphError(sent);
    }
    *resp->mutable_request_time() = ToProto(clock_.Now());
    return store_.pool().InTransaction([&](pg::Conn& tx) {
      return pg::Idempotency::Remember(tx, tenant, req->request_id(), "RequestCallPermission",
                                       resp->SerializeAsString());
    });
  });
}

grpc::Status Service::GetCallsSettings(grpc::ServerContext* ctx,
                                       const v1::GetCallsSettingsRequest* /*req*/,
                                       v1::GetCallsSettingsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_settings(), store_.Settings(caller.tenant_id));
    return absl::OkStatus();
  });
}

grpc::Status Service::UpdateCallsSettings(grpc::ServerContext* ctx,
                                          const v1::UpdateCallsSettingsRequest* req,
                                          v1::UpdateCallsSettingsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    if (!caller.HasRole("admin")) {
      return core::Error(absl::StatusCode::kPermissionDenied, "ADMIN_ROLE_REQUIRED",
                         "changing the calls settings needs the admin role");
    }
    std::vector<std::string> paths(req->update_mask().paths().begin(),
                                   req->update_mask().paths().end());
    if (paths.empty()) paths = {"time_zone", "language"};
    ASSIGN_OR_RETURN(v1::CallsSettings settings, store_.Settings(caller.tenant_id));
    for (const std::string& path : paths) {
      if (path == "time_zone") {
        RETURN_IF_ERROR(Zone(req->settings().time_zone(), "settings.time_zone").status());
        settings.set_time_zone(req->settings().time_zone());
      } else if (path == "language") {
        if (!IsLanguageTag(req->settings().language())) {
          return core::InvalidArgument("INVALID_LANGUAGE",
                                       "settings.language is an ISO 639-1 code, e.g. en or pt-BR",
                                       {{"field", "settings.language"}});
        }
        settings.set_language(req->settings().language());
      } else {
        return core::InvalidArgument("INVALID_UPDATE_MASK",
                                     absl::StrCat("unknown update_mask path: ", path),
                                     {{"path", path}});
      }
    }
    RETURN_IF_ERROR(store_.SaveSettings(caller.tenant_id, settings));
    *resp->mutable_settings() = std::move(settings);
    return absl::OkStatus();
  });
}

}  // namespace switchboard::calls

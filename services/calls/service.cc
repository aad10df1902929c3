#include "services/calls/service.h"

#include "absl/strings/str_cat.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "libs/runtime/call_limits.h"
#include "libs/runtime/grpc.h"
#include "services/calls/rules/graph_errors.h"
#include "services/calls/rules/timers.h"

namespace switchboard::calls {
namespace {

constexpr int64_t kMaxPermissionBodyChars = 1024;

// The request's correlation id (x-correlation-id), else a fresh one.
std::string CorrelationId(const grpc::ServerContext* ctx) {
  const auto& md = ctx->client_metadata();
  auto it = md.find("x-correlation-id");
  if (it != md.end() && it->second.size() <= 64) {
    std::string id(it->second.data(), it->second.size());
    if (api::IsId(id)) return id;
  }
  return core::NewId();
}

Caller CallerOf(const grpc::ServerContext* ctx, const auth::Principal& principal) {
  return {.principal = principal, .correlation_id = CorrelationId(ctx), .context = ctx};
}

bool IsLanguageTag(absl::string_view s) {
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  if (s.size() != 2 && s.size() != 5) return false;
  if (!lower(s[0]) || !lower(s[1])) return false;
  return s.size() == 2 || (s[2] == '-' && upper(s[3]) && upper(s[4]));
}

}  // namespace

Service::Service(Features features) : f_(features) {}

// ---- the agents' commands ---------------------------------------------------------------------

grpc::Status Service::StartCall(grpc::ServerContext* ctx, const v1::StartCallRequest* req,
                                v1::StartCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_call(), f_.commands->Start(CallerOf(ctx, caller), *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::AnswerCall(grpc::ServerContext* ctx, const v1::AnswerCallRequest* req,
                                 v1::AnswerCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_call(), f_.commands->Answer(CallerOf(ctx, caller), *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::RejectCall(grpc::ServerContext* ctx, const v1::RejectCallRequest* req,
                                 v1::RejectCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_call(), f_.commands->Reject(CallerOf(ctx, caller), *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::EndCall(grpc::ServerContext* ctx, const v1::EndCallRequest* req,
                              v1::EndCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_call(), f_.commands->End(CallerOf(ctx, caller), *req));
    return absl::OkStatus();
  });
}

// ---- the Calls page ---------------------------------------------------------------------------

grpc::Status Service::GetCall(grpc::ServerContext* ctx, const v1::GetCallRequest* req,
                              v1::GetCallResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.history->Get(caller.tenant_id, req->call_id(), resp);
  });
}

grpc::Status Service::ListCalls(grpc::ServerContext* ctx, const v1::ListCallsRequest* req,
                                v1::ListCallsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.history->List(caller.tenant_id, *req, resp);
  });
}

grpc::Status Service::GetCallStats(grpc::ServerContext* ctx, const v1::GetCallStatsRequest* req,
                                   v1::GetCallStatsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.history->Stats(caller.tenant_id, *req, resp);
  });
}

grpc::Status Service::GetCallAnalytics(grpc::ServerContext* ctx,
                                       const v1::GetCallAnalyticsRequest* req,
                                       v1::GetCallAnalyticsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.history->Analytics(caller.tenant_id, *req, resp);
  });
}

grpc::Status Service::ExportCalls(grpc::ServerContext* ctx, const v1::ExportCallsRequest* req,
                                  grpc::ServerWriter<v1::ExportCallsResponse>* writer) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    v1::ExportCallsResponse chunk;
    // A client that stops reading is cut after the idle limit: its Write returns false and
    // the export's connection goes back.
    runtime::ExpectProgress(ctx, f_.export_idle_timeout);
    chunk.set_content_type("text/csv; charset=utf-8");
    chunk.set_file_name(absl::StrCat(
        "calls-", absl::FormatTime("%Y-%m-%d", f_.clock->Now(), absl::UTCTimeZone()), ".csv"));
    return f_.history->Export(caller.tenant_id, *req, [&](const std::string& data) {
      chunk.set_data(data);
      if (ctx->IsCancelled() || !writer->Write(chunk)) {
        return core::Error(absl::StatusCode::kCancelled, "EXPORT_CANCELLED",
                           "the client stopped reading the export");
      }
      runtime::Progress(ctx);
      chunk.clear_content_type();
      chunk.clear_file_name();
      return absl::OkStatus();
    });
  });
}

// ---- notes and callbacks ----------------------------------------------------------------------

grpc::Status Service::AddCallNote(grpc::ServerContext* ctx, const v1::AddCallNoteRequest* req,
                                  v1::AddCallNoteResponse* resp) {
  return runtime::Handle(ctx,
                         [&](const auth::Principal& c) { return f_.notes->Add(c, *req, resp); });
}

grpc::Status Service::UpdateCallNote(grpc::ServerContext* ctx, const v1::UpdateCallNoteRequest* req,
                                     v1::UpdateCallNoteResponse* resp) {
  return runtime::Handle(ctx,
                         [&](const auth::Principal& c) { return f_.notes->Update(c, *req, resp); });
}

grpc::Status Service::ListCallNotes(grpc::ServerContext* ctx, const v1::ListCallNotesRequest* req,
                                    v1::ListCallNotesResponse* resp) {
  return runtime::Handle(ctx,
                         [&](const auth::Principal& c) { return f_.notes->List(c, *req, resp); });
}

grpc::Status Service::DeleteCallNote(grpc::ServerContext* ctx, const v1::DeleteCallNoteRequest* req,
                                     v1::DeleteCallNoteResponse* resp) {
  return runtime::Handle(ctx,
                         [&](const auth::Principal& c) { return f_.notes->Delete(c, *req, resp); });
}

grpc::Status Service::ScheduleCallback(grpc::ServerContext* ctx,
                                       const v1::ScheduleCallbackRequest* req,
                                       v1::ScheduleCallbackResponse* resp) {
  return runtime::Handle(
      ctx, [&](const auth::Principal& c) { return f_.callbacks->Schedule(ctx, c, *req, resp); });
}

grpc::Status Service::ListCallbacks(grpc::ServerContext* ctx, const v1::ListCallbacksRequest* req,
                                    v1::ListCallbacksResponse* resp) {
  return runtime::Handle(
      ctx, [&](const auth::Principal& c) { return f_.callbacks->List(c, *req, resp); });
}

grpc::Status Service::CompleteCallback(grpc::ServerContext* ctx,
                                       const v1::CompleteCallbackRequest* req,
                                       v1::CompleteCallbackResponse* resp) {
  return runtime::Handle(
      ctx, [&](const auth::Principal& c) { return f_.callbacks->Complete(c, *req, resp); });
}

grpc::Status Service::CancelCallback(grpc::ServerContext* ctx, const v1::CancelCallbackRequest* req,
                                     v1::CancelCallbackResponse* resp) {
  return runtime::Handle(
      ctx, [&](const auth::Principal& c) { return f_.callbacks->Cancel(c, *req, resp); });
}

// ---- permission requests and settings ---------------------------------------------------------

grpc::Status Service::RequestCallPermission(grpc::ServerContext* ctx,
                                            const v1::RequestCallPermissionRequest* req,
                                            v1::RequestCallPermissionResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(api::Contact(req->contact(), "contact"));
    if (req->contact().wa_id().empty()) return api::Missing("contact.wa_id");
    RETURN_IF_ERROR(api::RequireId(req->business_phone_number_id(), "business_phone_number_id"));
    RETURN_IF_ERROR(api::Text(req->body_text(), "body_text",
                              {.max_chars = kMaxPermissionBodyChars, .required = true}));
    RETURN_IF_ERROR(api::OptionalId(req->request_id(), "request_id"));
    RETURN_IF_ERROR(f_.numbers->Check(ctx, caller.tenant_id, req->business_phone_number_id()));
    // Meta is asked once per request: a repeat gets the first answer.
    pg::Pool& pool = f_.store->pool();
    const pg::RequestKey key = pg::KeyOf(caller.tenant_id, *req);
    ASSIGN_OR_RETURN(std::optional<std::string> earlier, pg::Idempotency::Claim(pool, key));
    if (earlier.has_value()) return pg::Restore(*earlier, resp);
    absl::Status sent = f_.graph
                            ->SendCallPermissionRequest(req->business_phone_number_id(),
                                                        req->contact().wa_id(), req->body_text())
                            .status();
    if (f_.probe != nullptr) {
      f_.probe->Graph("call_permission_request", sent.ok() ? "ok" : core::ReasonOf(sent));
    }
    if (!sent.ok()) {
      pg::Idempotency::Release(pool, key);
      return rules::PermissionRequestError(sent);
    }
    *resp->mutable_request_time() = core::ToProto(f_.clock->Now());
    return pool.InTransaction(
        [&](pg::Conn& tx) { return pg::Idempotency::Finish(tx, key, resp->SerializeAsString()); });
  });
}

grpc::Status Service::GetCallsSettings(grpc::ServerContext* ctx,
                                       const v1::GetCallsSettingsRequest* /*req*/,
                                       v1::GetCallsSettingsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_settings(), f_.store->Settings(caller.tenant_id));
    return absl::OkStatus();
  });
}

grpc::Status Service::UpdateCallsSettings(grpc::ServerContext* ctx,
                                          const v1::UpdateCallsSettingsRequest* req,
                                          v1::UpdateCallsSettingsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(api::RequireRole(caller, "admin", "changing the calls settings"));
    std::vector<std::string> paths(req->update_mask().paths().begin(),
                                   req->update_mask().paths().end());
    if (paths.empty()) {
      paths = req->settings().has_max_call_duration()
                  ? std::vector<std::string>{"time_zone", "language", "max_call_duration"}
                  : std::vector<std::string>{"time_zone", "language"};
    }
    ASSIGN_OR_RETURN(v1::CallsSettings settings, f_.store->Settings(caller.tenant_id));
    for (const std::string& path : paths) {
      if (path == "time_zone") {
        RETURN_IF_ERROR(api::TimeZone(req->settings().time_zone(), "settings.time_zone").status());
        settings.set_time_zone(req->settings().time_zone());
      } else if (path == "language") {
        if (!IsLanguageTag(req->settings().language())) {
          return core::InvalidArgument("INVALID_LANGUAGE",
                                       "settings.language is an ISO 639-1 code, e.g. en or pt-BR",
                                       {{"field", "settings.language"}});
        }
        settings.set_language(req->settings().language());
      } else if (path == "max_call_duration") {
        settings.clear_max_call_duration();  // unset: the deployment's --max-call-duration
        if (req->settings().has_max_call_duration()) {
          RETURN_IF_ERROR(api::DurationSetting(req->settings().max_call_duration(),
                                               "settings.max_call_duration", kMinMaxCallDuration,
                                               kMaxMaxCallDuration)
                              .status());
          *settings.mutable_max_call_duration() = req->settings().max_call_duration();
        }
      } else {
        return core::InvalidArgument(api::kInvalidUpdateMask,
                                     absl::StrCat("unknown update_mask path: ", path),
                                     {{"path", path}});
      }
    }
    RETURN_IF_ERROR(f_.store->SaveSettings(caller.tenant_id, settings));
    *resp->mutable_settings() = std::move(settings);
    return absl::OkStatus();
  });
}

}  // namespace switchboard::calls

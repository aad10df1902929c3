#include "services/calls/callbacks.h"

#include "absl/strings/str_cat.h"
#include "libs/api/page.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "services/calls/rules/query.h"

namespace switchboard::calls {
namespace {

constexpr api::PageSizes kCallbackPages = {.default_size = 50, .max = 200};
constexpr int64_t kMaxNoteChars = 1000;
constexpr int64_t kMaxReasonChars = 1000;
constexpr absl::Duration kMaxAhead = absl::Hours(24 * 90);

}  // namespace

Callbacks::Callbacks(Store& store, runtime::Numbers& numbers, const core::Clock& clock)
    : store_(store), numbers_(numbers), clock_(clock) {}

absl::Status Callbacks::Schedule(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                                 const v1::ScheduleCallbackRequest& req,
                                 v1::ScheduleCallbackResponse* resp) {
  const std::string& tenant = caller.tenant_id;
  RETURN_IF_ERROR(api::Contact(req.contact(), "contact"));
  RETURN_IF_ERROR(api::RequireId(req.business_phone_number_id(), "business_phone_number_id"));
  RETURN_IF_ERROR(api::OptionalId(req.assigned_agent_id(), "assigned_agent_id"));
  RETURN_IF_ERROR(api::OptionalId(req.source_call_id(), "source_call_id"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  RETURN_IF_ERROR(api::Text(req.note(), "note", {.max_chars = kMaxNoteChars}));
  const absl::Time now = clock_.Now();
  if (!req.has_due_time()) return api::Missing("due_time");
  ASSIGN_OR_RETURN(absl::Time due, api::Time(req.due_time(), "due_time"));
  if (due <= now || due > now + kMaxAhead) {
    return core::InvalidArgument(api::kInvalidTime,
                                 "due_time must be in the future, at most 90 days ahead",
                                 {{"field", "due_time"}});
  }
  RETURN_IF_ERROR(numbers_.Check(ctx, tenant, req.business_phone_number_id()));
  return pg::Once(store_.pool(), tenant, req, resp, [&](pg::Conn& tx) -> absl::Status {
    if (!req.source_call_id().empty()) {
      ASSIGN_OR_RETURN(std::optional<v1::Call> source,
                       Store::Lock(tx, tenant, CallKey::Id(req.source_call_id())));
      if (!source.has_value()) return api::NotFound("call");
    }
    v1::Callback cb;
    cb.set_callback_id(core::NewId(clock_));
    *cb.mutable_contact() = req.contact();
    cb.set_business_phone_number_id(req.business_phone_number_id());
    cb.set_assigned_agent_id(req.assigned_agent_id());
    *cb.mutable_due_time() = req.due_time();
    cb.set_note(req.note());
    cb.set_state(v1::CALLBACK_STATE_PENDING);
    cb.set_source_call_id(req.source_call_id());
    cb.set_created_by(caller.subject);
    *cb.mutable_create_time() = core::ToProto(now);
    RETURN_IF_ERROR(Store::SaveCallback(tx, tenant, cb, 0, now));
    *resp->mutable_callback() = std::move(cb);
    return absl::OkStatus();
  });
}

absl::Status Callbacks::List(const auth::Principal& caller, const v1::ListCallbacksRequest& req,
                             v1::ListCallbacksResponse* resp) {
  ASSIGN_OR_RETURN(int size, api::PageSize(req.page_size(), kCallbackPages));
  ASSIGN_OR_RETURN(query::CallbackFilter filter, query::ParseCallbackFilter(req.filter()));
  const std::string binding = api::Binding("calls.ListCallbacks", filter.Canonical());
  ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                   api::DecodePageToken(req.page_token(), binding));
  ASSIGN_OR_RETURN(CallbackPage page, store_.ListCallbacks(caller.tenant_id, filter, after, size));
  for (auto& c : page.callbacks) *resp->add_callbacks() = std::move(c);
  if (page.last.has_value()) resp->set_next_page_token(api::EncodePageToken(*page.last, binding));
  return absl::OkStatus();
}

template <typename Request, typename Response>
absl::Status Callbacks::Close(const auth::Principal& caller, const Request& req, Response* resp,
                              v1::CallbackState to,
                              const std::function<void(v1::Callback&)>& fill) {
  const std::string& tenant = caller.tenant_id;
  RETURN_IF_ERROR(api::RequireId(req.callback_id(), "callback_id"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  return pg::Once(store_.pool(), tenant, req, resp, [&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<StoredCallback> stored,
                     Store::LockCallback(tx, tenant, req.callback_id()));
    if (!stored.has_value()) return api::NotFound("callback");
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
      const absl::Time now = clock_.Now();
      cb.set_state(to);
      *cb.mutable_close_time() = core::ToProto(now);
      fill(cb);
      RETURN_IF_ERROR(Store::SaveCallback(tx, tenant, cb, stored->sequence, now));
    }
    *resp->mutable_callback() = cb;
    return absl::OkStatus();
  });
}

absl::Status Callbacks::Complete(const auth::Principal& caller,
                                 const v1::CompleteCallbackRequest& req,
                                 v1::CompleteCallbackResponse* resp) {
  RETURN_IF_ERROR(api::OptionalId(req.call_id(), "call_id"));
  return Close(caller, req, resp, v1::CALLBACK_STATE_COMPLETED,
               [&](v1::Callback& cb) { cb.set_completed_call_id(req.call_id()); });
}

absl::Status Callbacks::Cancel(const auth::Principal& caller, const v1::CancelCallbackRequest& req,
                               v1::CancelCallbackResponse* resp) {
  RETURN_IF_ERROR(api::Text(req.reason(), "reason", {.max_chars = kMaxReasonChars}));
  return Close(caller, req, resp, v1::CALLBACK_STATE_CANCELED,
               [&](v1::Callback& cb) { cb.set_cancel_reason(req.reason()); });
}

}  // namespace switchboard::calls

// Scheduled callbacks: a promise to call a contact back at a time, assigned to an agent. They
// come due by themselves (Ingest::FireCallbacks publishes CallbackDue) and are closed as
// completed (by a call) or canceled.
//
//   Callbacks callbacks(store, clock);
//   RETURN_IF_ERROR(callbacks.Schedule(caller, *req, resp));
#pragma once

#include "absl/status/status.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/runtime/numbers.h"
#include "services/calls/store/store.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls {

class Callbacks {
 public:
  // `numbers`: only the caller's tenant's business numbers may be named.
  Callbacks(Store& store, runtime::Numbers& numbers, const core::Clock& clock);

  absl::Status Schedule(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                        const v1::ScheduleCallbackRequest& req, v1::ScheduleCallbackResponse* resp);
  absl::Status List(const auth::Principal& caller, const v1::ListCallbacksRequest& req,
                    v1::ListCallbacksResponse* resp);
  // Closing a callback the same way again returns it as it is; closing it the other way is
  // FAILED_PRECONDITION CALLBACK_COMPLETED / CALLBACK_CANCELED.
  absl::Status Complete(const auth::Principal& caller, const v1::CompleteCallbackRequest& req,
                        v1::CompleteCallbackResponse* resp);
  absl::Status Cancel(const auth::Principal& caller, const v1::CancelCallbackRequest& req,
                      v1::CancelCallbackResponse* resp);

 private:
  template <typename Request, typename Response>
  absl::Status Close(const auth::Principal& caller, const Request& req, Response* resp,
                     v1::CallbackState to, const std::function<void(v1::Callback&)>& fill);

  Store& store_;
  runtime::Numbers& numbers_;
  const core::Clock& clock_;
};

}  // namespace switchboard::calls

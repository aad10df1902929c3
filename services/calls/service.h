// The calls gRPC API: the agents' call commands (start, answer, reject, end), the Calls page
// (history, stats, analytics, CSV export), notes, callbacks, permission requests and settings.
// Handlers validate everything before they touch a store or Meta; the lifecycle (lifecycle.h)
// decides every transition; a command's Graph API request runs outside any transaction, and
// its effect is recorded after Meta accepted it.
//
//   Service service(store, ingest, graph, reserve, clock, [&] { relay.Notify(); });
//   ctx.AddService(&service, v1::CallsService::service_full_name());
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "libs/core/clock.h"
#include "libs/whatsapp/graph_client.h"
#include "services/calls/ingest.h"
#include "services/calls/probe.h"
#include "services/calls/store.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"

namespace switchboard::calls {

// Eligibility's ReserveCall, as StartCall calls it.
using Reserve =
    std::function<grpc::Status(grpc::ClientContext*, const eligibility::v1::ReserveCallRequest&,
                               eligibility::v1::ReserveCallResponse*)>;

class Service final : public v1::CallsService::Service {
 public:
  // `eligibility` answers ReserveCall for StartCall (the caller's token is passed on);
  // `written` runs after a transaction enqueued events (to wake the outbox relay).
  Service(Store& store, Ingest& ingest, whatsapp::GraphClient& graph, Reserve reserve,
          const core::Clock& clock, std::function<void()> written = nullptr,
          Probe* probe = nullptr);
  ~Service() override;

  grpc::Status StartCall(grpc::ServerContext* ctx, const v1::StartCallRequest* req,
                         v1::StartCallResponse* resp) override;
  grpc::Status AnswerCall(grpc::ServerContext* ctx, const v1::AnswerCallRequest* req,
                          v1::AnswerCallResponse* resp) override;
  grpc::Status RejectCall(grpc::ServerContext* ctx, const v1::RejectCallRequest* req,
                          v1::RejectCallResponse* resp) override;
  grpc::Status EndCall(grpc::ServerContext* ctx, const v1::EndCallRequest* req,
                       v1::EndCallResponse* resp) override;
  grpc::Status GetCall(grpc::ServerContext* ctx, const v1::GetCallRequest* req,
                       v1::GetCallResponse* resp) override;
  grpc::Status ListCalls(grpc::ServerContext* ctx, const v1::ListCallsRequest* req,
                         v1::ListCallsResponse* resp) override;
  grpc::Status GetCallStats(grpc::ServerContext* ctx, const v1::GetCallStatsRequest* req,
                            v1::GetCallStatsResponse* resp) override;
  grpc::Status GetCallAnalytics(grpc::ServerContext* ctx, const v1::GetCallAnalyticsRequest* req,
                                v1::GetCallAnalyticsResponse* resp) override;
  grpc::Status ExportCalls(grpc::ServerContext* ctx, const v1::ExportCallsRequest* req,
                           grpc::ServerWriter<v1::ExportCallsResponse>* writer) override;
  grpc::Status AddCallNote(grpc::ServerContext* ctx, const v1::AddCallNoteRequest* req,
                           v1::AddCallNoteResponse* resp) override;
  grpc::Status UpdateCallNote(grpc::ServerContext* ctx, const v1::UpdateCallNoteRequest* req,
                              v1::UpdateCallNoteResponse* resp) override;
  grpc::Status ListCallNotes(grpc::ServerContext* ctx, const v1::ListCallNotesRequest* req,
                             v1::ListCallNotesResponse* resp) override;
  grpc::Status DeleteCallNote(grpc::ServerContext* ctx, const v1::DeleteCallNoteRequest* req,
                              v1::DeleteCallNoteResponse* resp) override;
  grpc::Status ScheduleCallback(grpc::ServerContext* ctx, const v1::ScheduleCallbackRequest* req,
                                v1::ScheduleCallbackResponse* resp) override;
  grpc::Status ListCallbacks(grpc::ServerContext* ctx, const v1::ListCallbacksRequest* req,
                             v1::ListCallbacksResponse* resp) override;
  grpc::Status CompleteCallback(grpc::ServerContext* ctx, const v1::CompleteCallbackRequest* req,
                                v1::CompleteCallbackResponse* resp) override;
  grpc::Status CancelCallback(grpc::ServerContext* ctx, const v1::CancelCallbackRequest* req,
                              v1::CancelCallbackResponse* resp) override;
  grpc::Status RequestCallPermission(grpc::ServerContext* ctx,
                                     const v1::RequestCallPermissionRequest* req,
                                     v1::RequestCallPermissionResponse* resp) override;
  grpc::Status GetCallsSettings(grpc::ServerContext* ctx, const v1::GetCallsSettingsRequest* req,
                                v1::GetCallsSettingsResponse* resp) override;
  grpc::Status UpdateCallsSettings(grpc::ServerContext* ctx,
                                   const v1::UpdateCallsSettingsRequest* req,
                                   v1::UpdateCallsSettingsResponse* resp) override;

  // Meta's side of what a timer decided (Ingest::FireTimers): an inbound call nobody answered
  // is rejected so the caller stops hearing it ring; an unconfirmed outbound call is
  // terminated. Best effort: Meta ends them by itself anyway.
  void AfterTimers(const std::vector<Fired>& fired);

  // How long an agent's answer claim holds while Graph pre_accept/accept run.
  static constexpr absl::Duration kClaimLease = absl::Seconds(20);

 private:
  // Records `event` on the call in one transaction (lock, lifecycle, save, and the request's
  // idempotent response when `request_id` is set).
  absl::StatusOr<v1::Call> Record(absl::string_view tenant, absl::string_view call_id,
                                  const Event& event, absl::string_view request_id,
                                  absl::string_view method, absl::string_view correlation_id,
                                  const std::function<absl::Status(pg::Conn&)>& also = nullptr);
  // A Graph API request, counted and logged when it fails; returns Meta's answer as is.
  absl::Status GraphRaw(absl::string_view action, const std::function<absl::Status()>& request);
  // The same, its failure as the API's error (GraphError).
  absl::Status Graph(absl::string_view action, const std::function<absl::Status()>& request);
  void Woke(bool enqueued);

  Store& store_;
  Ingest& ingest_;
  whatsapp::GraphClient& graph_;
  Reserve reserve_;
  const core::Clock& clock_;
  std::function<void()> written_;
  Probe* probe_;
};

}  // namespace switchboard::calls

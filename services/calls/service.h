// The calls gRPC API. Each handler is a few lines: the caller, then the feature that does the
// work: Commands (start/answer/reject/end), History (the Calls page), Notes, Callbacks, and the
// permission request and settings here.
//
//   Service service({.commands = &commands, .history = &history, ...});
//   ctx.AddService(&service, v1::CallsService::service_full_name());
#pragma once

#include "libs/core/clock.h"
#include "libs/whatsapp/graph_client.h"
#include "services/calls/callbacks.h"
#include "services/calls/commands.h"
#include "services/calls/history.h"
#include "services/calls/notes.h"
#include "services/calls/probe.h"
#include "services/calls/store/store.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"

namespace switchboard::calls {

struct Features {
  Commands* commands;
  History* history;
  Notes* notes;
  Callbacks* callbacks;
  Store* store;               // settings, permission requests' idempotency
  whatsapp::Graph* graph;     // permission requests
  runtime::Numbers* numbers;  // only the tenant's own numbers may be named
  const core::Clock* clock;
  Probe* probe = nullptr;
  // An export whose client reads nothing for this long is cut (--export-idle-timeout).
  absl::Duration export_idle_timeout = absl::Seconds(30);
};

class Service final : public v1::CallsService::Service {
 public:
  explicit Service(Features features);

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

 private:
  Features f_;
};

}  // namespace switchboard::calls

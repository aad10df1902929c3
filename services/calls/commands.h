// The agents' call commands (StartCall, AnswerCall, RejectCall, EndCall) and what Meta must be
// told after a timer ended a call: validation, the eligibility reservation, the Graph API
// requests and the records they leave, in the order that keeps Meta and our records agreeing.
// Every collaborator that does I/O is an interface (CallRecords, whatsapp::Graph, Reserver), so
// commands_test.cc runs them in process against fakes; calls_service_integration runs them for
// real.
//
//   Commands commands(journal, graph, eligibility, clock, &probe);
//   ASSIGN_OR_RETURN(v1::Call call, commands.Start(caller, req));
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/runtime/numbers.h"
#include "libs/whatsapp/graph_client.h"
#include "services/calls/journal.h"
#include "services/calls/probe.h"
#include "switchboard/calls/v1/calls_service.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"
#include "switchboard/routing/v1/routing_service.pb.h"

namespace switchboard::calls {

// Eligibility's ReserveCall, as StartCall needs it.
class Reserver {
 public:
  virtual ~Reserver() = default;
  // `incoming`: the agent's request, whose token and deadline are passed on (null in tests).
  virtual absl::StatusOr<eligibility::v1::ReserveCallResponse> Reserve(
      const grpc::ServerContextBase* incoming, const eligibility::v1::ReserveCallRequest& req) = 0;
};

// Routing's ClaimCall, as AnswerCall needs it: exactly one of the agents a call rings wins it.
class Claimer {
 public:
  virtual ~Claimer() = default;
  // `incoming`: the agent's request, whose token and deadline are passed on (null in tests).
  virtual absl::StatusOr<routing::v1::ClaimCallResponse> Claim(
      const grpc::ServerContextBase* incoming, const routing::v1::ClaimCallRequest& req) = 0;
};

// Who asked, as a command needs it.
struct Caller {
  auth::Principal principal;
  std::string correlation_id;
  const grpc::ServerContextBase* context = nullptr;  // the gRPC call, when there is one
};

// A call a timer ended, with the timer that did it (the Graph follow-up depends on it).
struct Fired {
  v1::Call call;
  TimerKind kind = TimerKind::kNone;
};

class Commands {
 public:
  // `numbers`: only the caller's tenant's business numbers may place calls.
  Commands(CallRecords& records, whatsapp::Graph& graph, Reserver& eligibility, Claimer& routing,
           runtime::Numbers& numbers, const core::Clock& clock, Probe* probe = nullptr);

  // Places a call: eligibility reserves it, the call is recorded OFFERED, then Graph `connect`
  // (biz_opaque_callback_data = our id). A repeat of the request gets the call as it stands.
  absl::StatusOr<v1::Call> Start(const Caller& caller, const v1::StartCallRequest& req);
  // Answers an inbound call: routing's ClaimCall first (one winner among the agents it rings,
  // CALL_CLAIMED_BY_OTHER for the others), then Graph pre_accept + accept. The claim is final:
  // a winner whose accept failed may try again; nobody else can take the call.
  absl::StatusOr<v1::Call> Answer(const Caller& caller, const v1::AnswerCallRequest& req);
  // Declines an inbound call for the whole business (Graph reject).
  absl::StatusOr<v1::Call> Reject(const Caller& caller, const v1::RejectCallRequest& req);
  // Hangs up: an answered call gets Graph terminate and ends when Meta confirms (or after the
  // grace); an unanswered inbound call is rejected; an unanswered outbound call is canceled.
  absl::StatusOr<v1::Call> End(const Caller& caller, const v1::EndCallRequest& req);

  // Meta's side of what a timer decided: an inbound call nobody answered is rejected so the
  // caller stops hearing it ring; an unconfirmed outbound call is terminated. Best effort:
  // Meta ends them by itself anyway.
  void AfterTimers(const std::vector<Fired>& fired);

 private:
  // A Graph API request, counted and logged when it fails; Meta's answer as it is.
  absl::Status GraphRaw(absl::string_view action, const std::function<absl::Status()>& request);
  // The same, its failure as the API's error (rules::GraphError).
  absl::Status Graph(absl::string_view action, const std::function<absl::Status()>& request);
  absl::StatusOr<v1::Call> Place(const Caller& caller, const v1::StartCallRequest& req,
                                 const std::string& agent, const pg::RequestKey& key);
  absl::StatusOr<v1::Call> EndNow(const Caller& caller, const v1::EndCallRequest& req,
                                  const pg::RequestKey& key);

  CallRecords& records_;
  whatsapp::Graph& graph_;
  Reserver& eligibility_;
  Claimer& routing_;
  runtime::Numbers& numbers_;
  const core::Clock& clock_;
  Probe* probe_;
};

}  // namespace switchboard::calls

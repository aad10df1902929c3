// The eligibility gRPC API. Each handler is a few lines: the caller, then the feature that does
// the work: Checks (CheckEligibility, ReserveCall), Consents (the Record* of consent and the
// audit trail), Ingest (inbound messages; also the Kafka consumers, wired in module.cc) and
// Settings (tenant policy, quality rating, automation state).
//
//   Service service({.checks = &checks, .consents = &consents, ...});
//   ctx.AddService(&service, v1::EligibilityService::service_full_name());
#pragma once

#include "libs/core/work_queue.h"
#include "services/eligibility/checks.h"
#include "services/eligibility/consents.h"
#include "services/eligibility/ingest.h"
#include "services/eligibility/settings.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"

namespace switchboard::eligibility {

struct Features {
  Checks* checks;
  Consents* consents;
  Ingest* ingest;
  Settings* settings;
  // Where the callback methods' blocking work runs (Redis and PostgreSQL round trips), so
  // gRPC's own threads keep reading requests.
  core::WorkQueue* blocking;
};

// CheckEligibility and ReserveCall, the hot paths, run on gRPC's callback API: the handler runs
// on the thread that read the request, where the synchronous server would hand every call to a
// worker thread (the profile was dominated by those hand-offs). The handlers are short and
// their Redis round trip is bounded by the pool's 20-25 ms timeouts. The rest stay synchronous.
using ServiceBase = v1::EligibilityService::WithCallbackMethod_CheckEligibility<
    v1::EligibilityService::WithCallbackMethod_ReserveCall<v1::EligibilityService::Service>>;

class Service final : public ServiceBase {
 public:
  explicit Service(Features features);

  // Answered on gRPC's thread when everything it needs is in memory; else on `blocking`.
  grpc::ServerUnaryReactor* CheckEligibility(grpc::CallbackServerContext* ctx,
                                             const v1::CheckEligibilityRequest* req,
                                             v1::CheckEligibilityResponse* resp) override;
  grpc::ServerUnaryReactor* ReserveCall(grpc::CallbackServerContext* ctx,
                                        const v1::ReserveCallRequest* req,
                                        v1::ReserveCallResponse* resp) override;
  grpc::Status RecordInboundMessage(grpc::ServerContext* ctx,
                                    const v1::RecordInboundMessageRequest* req,
                                    v1::RecordInboundMessageResponse* resp) override;
  grpc::Status RecordConsent(grpc::ServerContext* ctx, const v1::RecordConsentRequest* req,
                             v1::RecordConsentResponse* resp) override;
  grpc::Status RecordCallOffer(grpc::ServerContext* ctx, const v1::RecordCallOfferRequest* req,
                               v1::RecordCallOfferResponse* resp) override;
  grpc::Status RecordOptOut(grpc::ServerContext* ctx, const v1::RecordOptOutRequest* req,
                            v1::RecordOptOutResponse* resp) override;
  grpc::Status RecordDecline(grpc::ServerContext* ctx, const v1::RecordDeclineRequest* req,
                             v1::RecordDeclineResponse* resp) override;
  grpc::Status SetAutomationState(grpc::ServerContext* ctx,
                                  const v1::SetAutomationStateRequest* req,
                                  v1::SetAutomationStateResponse* resp) override;
  grpc::Status SetQualityRating(grpc::ServerContext* ctx, const v1::SetQualityRatingRequest* req,
                                v1::SetQualityRatingResponse* resp) override;
  grpc::Status ListConsentAudit(grpc::ServerContext* ctx, const v1::ListConsentAuditRequest* req,
                                v1::ListConsentAuditResponse* resp) override;
  grpc::Status GetTenantPolicy(grpc::ServerContext* ctx, const v1::GetTenantPolicyRequest* req,
                               v1::GetTenantPolicyResponse* resp) override;
  grpc::Status UpdateTenantPolicy(grpc::ServerContext* ctx,
                                  const v1::UpdateTenantPolicyRequest* req,
                                  v1::UpdateTenantPolicyResponse* resp) override;

 private:
  Features f_;
};

}  // namespace switchboard::eligibility

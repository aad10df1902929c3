#include "services/eligibility/service.h"

#include "libs/runtime/grpc.h"

namespace switchboard::eligibility {

Service::Service(Features features) : f_(features) {}

// ---- the two questions, on the callback API -------------------------------------------------

grpc::ServerUnaryReactor* Service::CheckEligibility(grpc::CallbackServerContext* ctx,
                                                    const v1::CheckEligibilityRequest* req,
                                                    v1::CheckEligibilityResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auto check = [this, ctx, req, resp](bool may_block, bool* blocks) {
    return runtime::Handle(ctx, [&](const auth::Principal& caller) {
      return f_.checks->Check(ctx, caller, *req, resp, may_block, blocks);
    });
  };
  bool blocks = false;
  grpc::Status status = check(/*may_block=*/false, &blocks);
  if (!blocks) {
    reactor->Finish(status);
  } else {
    f_.blocking->Submit([check, reactor] { reactor->Finish(check(/*may_block=*/true, nullptr)); });
  }
  return reactor;
}

grpc::ServerUnaryReactor* Service::ReserveCall(grpc::CallbackServerContext* ctx,
                                               const v1::ReserveCallRequest* req,
                                               v1::ReserveCallResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  f_.blocking->Submit([this, ctx, req, resp, reactor] {
    reactor->Finish(runtime::Handle(ctx, [&](const auth::Principal& caller) {
      return f_.checks->Reserve(ctx, caller, *req, resp);
    }));
  });
  return reactor;
}

// ---- consent and its audit trail ------------------------------------------------------------

grpc::Status Service::RecordConsent(grpc::ServerContext* ctx, const v1::RecordConsentRequest* req,
                                    v1::RecordConsentResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.consents->Record(ctx, caller, *req, resp);
  });
}

grpc::Status Service::RecordCallOffer(grpc::ServerContext* ctx,
                                      const v1::RecordCallOfferRequest* req,
                                      v1::RecordCallOfferResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.consents->Offer(ctx, caller, *req, resp);
  });
}

grpc::Status Service::RecordOptOut(grpc::ServerContext* ctx, const v1::RecordOptOutRequest* req,
                                   v1::RecordOptOutResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.consents->OptOut(ctx, caller, *req, resp);
  });
}

grpc::Status Service::RecordDecline(grpc::ServerContext* ctx, const v1::RecordDeclineRequest* req,
                                    v1::RecordDeclineResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.consents->Decline(ctx, caller, *req, resp);
  });
}

grpc::Status Service::ListConsentAudit(grpc::ServerContext* ctx,
                                       const v1::ListConsentAuditRequest* req,
                                       v1::ListConsentAuditResponse* resp) {
  return runtime::Handle(
      ctx, [&](const auth::Principal& caller) { return f_.consents->Audit(caller, *req, resp); });
}

// ---- what the business tells ----------------------------------------------------------------

grpc::Status Service::RecordInboundMessage(grpc::ServerContext* ctx,
                                           const v1::RecordInboundMessageRequest* req,
                                           v1::RecordInboundMessageResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.ingest->RecordMessage(ctx, caller, *req, resp);
  });
}

// ---- settings -------------------------------------------------------------------------------

grpc::Status Service::SetAutomationState(grpc::ServerContext* ctx,
                                         const v1::SetAutomationStateRequest* req,
                                         v1::SetAutomationStateResponse*) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.settings->SetAutomationState(ctx, caller, *req);
  });
}

grpc::Status Service::SetQualityRating(grpc::ServerContext* ctx,
                                       const v1::SetQualityRatingRequest* req,
                                       v1::SetQualityRatingResponse*) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.settings->SetQualityRating(ctx, caller, *req);
  });
}

grpc::Status Service::GetTenantPolicy(grpc::ServerContext* ctx, const v1::GetTenantPolicyRequest*,
                                      v1::GetTenantPolicyResponse* resp) {
  return runtime::Handle(
      ctx, [&](const auth::Principal& caller) { return f_.settings->GetPolicy(caller, resp); });
}

grpc::Status Service::UpdateTenantPolicy(grpc::ServerContext* ctx,
                                         const v1::UpdateTenantPolicyRequest* req,
                                         v1::UpdateTenantPolicyResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return f_.settings->UpdatePolicy(caller, *req, resp);
  });
}

}  // namespace switchboard::eligibility

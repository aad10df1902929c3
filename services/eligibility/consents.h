// What agents and the business record about a contact's consent: consents (a call request,
// an offer accepted, long-term, Meta's permission), offers of a call, opt-outs and declines,
// each changing the contact's facts and audited with who and how; and the audit trail read
// back. Every record is idempotent by request_id, a repeat getting the first answer.
//
//   Consents consents(contacts, settings, durable, clock);
//   RETURN_IF_ERROR(consents.OptOut(ctx, caller, *req, resp));
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "services/eligibility/contacts.h"
#include "services/eligibility/settings.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"

namespace switchboard::eligibility {

class Consents {
 public:
  Consents(Contacts& contacts, Settings& settings, store::Durable& durable,
           const core::Clock& clock);

  absl::Status Record(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                      const v1::RecordConsentRequest& req, v1::RecordConsentResponse* resp);
  // An agent offered a call: the contact's acceptance counts for the policy's
  // agent_offer_consent from the offer.
  absl::Status Offer(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                     const v1::RecordCallOfferRequest& req, v1::RecordCallOfferResponse* resp);
  // Evidence is kept up to kEvidenceChars (longer is cut, never refused).
  absl::Status OptOut(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                      const v1::RecordOptOutRequest& req, v1::RecordOptOutResponse* resp);
  absl::Status Decline(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                       const v1::RecordDeclineRequest& req, v1::RecordDeclineResponse* resp);
  // Newest first, paged; filter: empty, or contact = "<wa_id or user_id>".
  absl::Status Audit(const auth::Principal& caller, const v1::ListConsentAuditRequest& req,
                     v1::ListConsentAuditResponse* resp);

  // The evidence a consent change keeps: its first 1 000 characters, cut at a character
  // boundary. Longer evidence is cut, never refused: an opt-out must be recorded whatever came
  // with it.
  static constexpr int64_t kEvidenceChars = 1000;

 private:
  // What every consent the caller states carries: the contact, its source and evidence, when.
  struct Stated {
    Target target;
    std::string source;
    std::string evidence;
    absl::Time at;
  };
  // Validates what every such request has (the number, request_id, source).
  template <typename Request>
  absl::StatusOr<Stated> Read(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                              const Request& req);
  // Changes the contact's facts with `apply`, audited as `action`, answered with the audit entry
  // (a repeat of the request gets the first answer).
  template <typename Request, typename Response>
  absl::Status Apply(const auth::Principal& caller, const Request& req, Response* resp,
                     const Stated& s, v1::ConsentAction action,
                     std::function<void(rules::ContactFacts&)> apply);

  Contacts& contacts_;
  Settings& settings_;
  store::Durable& durable_;
  const core::Clock& clock_;
};

}  // namespace switchboard::eligibility

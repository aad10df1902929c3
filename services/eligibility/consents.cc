#include "services/eligibility/consents.h"

#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/api/page.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "services/eligibility/convert.h"
#include "services/eligibility/rules/facts.h"

namespace switchboard::eligibility {
namespace {

constexpr api::PageSizes kAuditPages = {.default_size = 50, .max = 200};

absl::StatusOr<std::string> Source(v1::ConsentSource s) {
  RETURN_IF_ERROR(api::RequireEnum(s, v1::ConsentSource_descriptor(), "source"));
  return std::string(absl::StripPrefix(v1::ConsentSource_Name(s), "CONSENT_SOURCE_"));
}

void FillEntry(const store::ContactRef& c, const events::v1::ContactRef& contact,
               v1::ConsentAction action, v1::ConsentSource source, absl::string_view actor,
               absl::string_view evidence, absl::Time at, v1::ConsentAuditEntry* e) {
  *e->mutable_contact() = contact;
  e->set_business_phone_number_id(c.business_number);
  e->set_action(action);
  e->set_source(source);
  e->set_actor(std::string(actor));
  e->set_evidence(std::string(evidence));
  ToProto(at, e->mutable_record_time());
}

// The first answer to a repeated request, else the one just built.
template <typename Response>
absl::Status Answer(const store::ApplyResult& r, Response* resp) {
  return r.earlier.has_value() ? pg::Restore(*r.earlier, resp) : absl::OkStatus();
}

// The audit filter's contact ("" for the whole tenant): empty, or contact = "<wa_id>".
absl::StatusOr<std::string> FilteredContact(absl::string_view filter) {
  filter = absl::StripAsciiWhitespace(filter);
  if (filter.empty()) return "";
  if (!absl::ConsumePrefix(&filter, "contact") ||
      !absl::ConsumePrefix(&(filter = absl::StripLeadingAsciiWhitespace(filter)), "=")) {
    return core::InvalidArgument("INVALID_FILTER", "supported filter: contact = \"<wa_id>\"");
  }
  filter = absl::StripAsciiWhitespace(filter);
  if (!absl::ConsumePrefix(&filter, "\"") || !absl::ConsumeSuffix(&filter, "\"") ||
      !api::IsId(filter)) {
    return core::InvalidArgument("INVALID_FILTER", "supported filter: contact = \"<wa_id>\"");
  }
  return std::string(filter);
}

}  // namespace

Consents::Consents(Contacts& contacts, Settings& settings, store::Durable& durable,
                   const core::Clock& clock)
    : contacts_(contacts), settings_(settings), durable_(durable), clock_(clock) {}

template <typename Request>
absl::StatusOr<Consents::Stated> Consents::Read(const grpc::ServerContextBase* ctx,
                                                const auth::Principal& caller, const Request& req) {
  ASSIGN_OR_RETURN(Target t, contacts_.ResolveOwned(ctx, caller.tenant_id, req.contact(),
                                                    req.business_phone_number_id()));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  ASSIGN_OR_RETURN(std::string source, Source(req.source()));
  return Stated{.target = std::move(t),
                .source = std::move(source),
                .evidence = api::CutUtf8(req.evidence(), kEvidenceChars),
                .at = clock_.Now()};
}

template <typename Request, typename Response>
absl::Status Consents::Apply(const auth::Principal& caller, const Request& req, Response* resp,
                             const Stated& s, v1::ConsentAction action,
                             std::function<void(rules::ContactFacts&)> apply) {
  FillEntry(s.target.contact, req.contact(), action, req.source(), caller.subject, s.evidence, s.at,
            resp->mutable_entry());
  const pg::RequestKey key = pg::KeyOf(caller.tenant_id, req);
  ASSIGN_OR_RETURN(
      store::ApplyResult r,
      contacts_.Change(s.target, {.apply = std::move(apply),
                                  .action = v1::ConsentAction_Name(action),
                                  .source = s.source,
                                  .actor = caller.subject,
                                  .detail = s.evidence,
                                  .request_id = req.request_id(),
                                  .at = s.at,
                                  .key = &key,
                                  .respond = [resp] { return resp->SerializeAsString(); }}));
  return Answer(r, resp);
}

absl::Status Consents::Record(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                              const v1::RecordConsentRequest& req,
                              v1::RecordConsentResponse* resp) {
  ASSIGN_OR_RETURN(Stated s, Read(ctx, caller, req));
  RETURN_IF_ERROR(api::RequireEnum(req.kind(), v1::ConsentKind_descriptor(), "kind"));
  const absl::Time now = s.at;
  std::optional<absl::Time> expires;
  if (req.has_expire_time()) {
    ASSIGN_OR_RETURN(expires, api::Time(req.expire_time(), "expire_time"));
    if (*expires <= now) {
      return core::InvalidArgument("INVALID_TIME", "expire_time must be in the future");
    }
  }
  v1::ConsentKind kind = req.kind();
  v1::ConsentAction action = v1::CONSENT_ACTION_CONSENT_RECORDED;
  rules::ConsentKind applied = rules::ConsentKind::kCallRequest;
  switch (kind) {
    case v1::CONSENT_KIND_AGENT_OFFER_ACCEPTED:
      action = v1::CONSENT_ACTION_OFFER_ACCEPTED;
      applied = rules::ConsentKind::kOfferAccepted;
      break;
    case v1::CONSENT_KIND_LONG_TERM:
      applied = rules::ConsentKind::kLongTerm;
      break;
    case v1::CONSENT_KIND_META_CALL_PERMISSION:
      action = v1::CONSENT_ACTION_PERMISSION_GRANTED;
      applied = rules::ConsentKind::kMetaPermission;
      break;
    default:
      break;
  }
  resp->mutable_entry()->set_kind(kind);
  if (expires.has_value()) ToProto(*expires, resp->mutable_entry()->mutable_expire_time());
  return Apply(caller, req, resp, s, action, [applied, now, expires](rules::ContactFacts& f) {
    rules::ApplyConsent(f, applied, now, expires);
  });
}

absl::Status Consents::Offer(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                             const v1::RecordCallOfferRequest& req,
                             v1::RecordCallOfferResponse* resp) {
  ASSIGN_OR_RETURN(Target t, contacts_.ResolveOwned(ctx, caller.tenant_id, req.contact(),
                                                    req.business_phone_number_id()));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(absl::Time at,
                   RequestTime(req.offer_time(), req.has_offer_time(), now, "offer_time"));
  ToProto(at + settings_.PolicyFor(caller.tenant_id).agent_offer_consent,
          resp->mutable_expire_time());
  const pg::RequestKey key = pg::KeyOf(caller.tenant_id, req);
  ASSIGN_OR_RETURN(
      store::ApplyResult r,
      contacts_.Change(t, {.apply = [at](rules::ContactFacts& f) { rules::ApplyCallOffer(f, at); },
                           .action = "CONSENT_ACTION_CALL_OFFERED",
                           .source = "AGENT",
                           .actor = caller.subject,
                           .request_id = req.request_id(),
                           .at = at,
                           .key = &key,
                           .respond = [resp] { return resp->SerializeAsString(); }}));
  return Answer(r, resp);
}

absl::Status Consents::OptOut(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                              const v1::RecordOptOutRequest& req, v1::RecordOptOutResponse* resp) {
  ASSIGN_OR_RETURN(Stated s, Read(ctx, caller, req));
  return Apply(caller, req, resp, s, v1::CONSENT_ACTION_OPTED_OUT,
               [at = s.at](rules::ContactFacts& f) { rules::ApplyOptOut(f, at); });
}

absl::Status Consents::Decline(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                               const v1::RecordDeclineRequest& req,
                               v1::RecordDeclineResponse* resp) {
  ASSIGN_OR_RETURN(Stated s, Read(ctx, caller, req));
  return Apply(caller, req, resp, s, v1::CONSENT_ACTION_DECLINED,
               [at = s.at](rules::ContactFacts& f) { rules::ApplyDecline(f, at); });
}

absl::Status Consents::Audit(const auth::Principal& caller, const v1::ListConsentAuditRequest& req,
                             v1::ListConsentAuditResponse* resp) {
  ASSIGN_OR_RETURN(std::string contact_key, FilteredContact(req.filter()));
  ASSIGN_OR_RETURN(int size, api::PageSize(req.page_size(), kAuditPages));
  const std::string binding = api::Binding("eligibility.ListConsentAudit", contact_key);
  ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                   api::DecodePageToken(req.page_token(), binding));
  ASSIGN_OR_RETURN(std::vector<store::AuditEntry> entries,
                   durable_.ListAudit(caller.tenant_id, contact_key, size + 1,
                                      after.has_value() ? after->id : ""));
  bool more = static_cast<int>(entries.size()) > size;
  if (more) entries.pop_back();
  for (const auto& e : entries) {
    v1::ConsentAuditEntry* out = resp->add_entries();
    out->set_entry_id(e.id);
    out->mutable_contact()->set_wa_id(e.contact.contact_key);
    out->set_business_phone_number_id(e.contact.business_number);
    v1::ConsentAction action;
    if (v1::ConsentAction_Parse(e.action, &action)) out->set_action(action);
    v1::ConsentSource source;
    if (v1::ConsentSource_Parse(absl::StrCat("CONSENT_SOURCE_", e.source), &source)) {
      out->set_source(source);
    }
    out->set_actor(e.actor);
    out->set_evidence(e.detail);
    ToProto(e.occurred_at, out->mutable_record_time());
  }
  if (more && !entries.empty()) {
    resp->set_next_page_token(api::EncodePageToken({.id = entries.back().id}, binding));
  }
  return absl::OkStatus();
}

}  // namespace switchboard::eligibility

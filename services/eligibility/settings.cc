#include "services/eligibility/settings.h"

#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "services/eligibility/convert.h"

namespace switchboard::eligibility {

Settings::Settings(Contacts& contacts, store::HotState& hot, store::Durable& durable,
                   core::WorkQueue& blocking, const core::Clock& clock)
    : contacts_(contacts), hot_(hot), durable_(durable), blocking_(blocking), clock_(clock) {}

std::shared_ptr<const TenantSettings> Settings::Cached(absl::string_view tenant, absl::Time now) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = policies_.find(tenant);
    if (it == policies_.end()) return nullptr;
    if (now - it->second.loaded < kPolicyCacheTtl || it->second.refreshing) {
      return it->second.settings;
    }
  }
  // Stale: keep answering with it while one refresh runs where it may block (otherwise every
  // check arriving in that moment would read PostgreSQL at once).
  absl::MutexLock lock(&mu_);
  auto it = policies_.find(tenant);
  if (it == policies_.end()) return nullptr;
  if (!it->second.refreshing) {
    it->second.refreshing = true;
    blocking_.Submit([this, name = std::string(tenant)] { (void)For(name); });
  }
  return it->second.settings;
}

std::shared_ptr<const TenantSettings> Settings::For(absl::string_view tenant) {
  absl::Time now = clock_.Now();
  std::shared_ptr<const TenantSettings> stale;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = policies_.find(tenant);
    if (it != policies_.end()) {
      if (now - it->second.loaded < kPolicyCacheTtl) return it->second.settings;
      stale = it->second.settings;
    }
  }
  absl::StatusOr<v1::TenantPolicy> stored = Stored(tenant);
  absl::StatusOr<TenantSettings> settings =
      stored.ok() ? Effective(*stored) : absl::StatusOr<TenantSettings>(stored.status());
  if (!settings.ok()) {
    log::Warning("tenant policy unavailable; using the last known or the defaults",
                 {{"tenant", std::string(tenant)}, {"error", settings.status().ToString()}});
    if (stale) {
      absl::MutexLock lock(&mu_);
      if (auto it = policies_.find(tenant); it != policies_.end()) it->second.refreshing = false;
      return stale;
    }
    settings = Effective(v1::TenantPolicy());
  }
  auto shared = std::make_shared<const TenantSettings>(*std::move(settings));
  absl::MutexLock lock(&mu_);
  policies_[tenant] = {shared, now, /*refreshing=*/false};
  return shared;
}

absl::StatusOr<v1::TenantPolicy> Settings::Stored(absl::string_view tenant) {
  ASSIGN_OR_RETURN(std::string bytes, durable_.LoadPolicy(tenant));
  v1::TenantPolicy stored;
  if (!stored.ParseFromString(bytes)) {
    return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_POLICY",
                       "the stored policy does not parse");
  }
  return stored;
}

absl::Status Settings::SetAutomationState(const grpc::ServerContextBase* ctx,
                                          const auth::Principal& caller,
                                          const v1::SetAutomationStateRequest& req) {
  ASSIGN_OR_RETURN(Target t, contacts_.ResolveOwned(ctx, caller.tenant_id, req.contact(),
                                                    req.business_phone_number_id()));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  RETURN_IF_ERROR(api::Text(req.automation_state(), "automation_state",
                            {.max_chars = 64, .single_line = true}));
  std::string state = req.automation_state();
  const pg::RequestKey key = pg::KeyOf(caller.tenant_id, req);
  return contacts_
      .Change(t, {.apply = [state](rules::ContactFacts& f) { f.automation_state = state; },
                  .action = "AUTOMATION_STATE",
                  .source = "API",
                  .actor = caller.subject,
                  .detail = state,
                  .at = clock_.Now(),
                  .audit = false,
                  .key = &key})
      .status();
}

absl::Status Settings::SetQualityRating(const grpc::ServerContextBase* ctx,
                                        const auth::Principal& caller,
                                        const v1::SetQualityRatingRequest& req) {
  RETURN_IF_ERROR(api::RequireId(req.business_phone_number_id(), "business_phone_number_id"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  RETURN_IF_ERROR(
      api::RequireEnum(req.quality_rating(), v1::QualityRating_descriptor(), "quality_rating"));
  RETURN_IF_ERROR(contacts_.numbers().Check(ctx, caller.tenant_id, req.business_phone_number_id()));
  ASSIGN_OR_RETURN(store::NumberKeys keys,
                   store::NumberKeys::For(caller.tenant_id, req.business_phone_number_id()));
  std::optional<rules::Quality> quality = QualityOf(req.quality_rating());
  if (!quality.has_value()) return api::Missing("quality_rating");
  return durable_.Once(pg::KeyOf(caller.tenant_id, req), [&]() -> absl::Status {
    absl::Status set = hot_.SetQuality(keys, *quality, clock_.Now()).status();
    contacts_.Wrote();
    return set;
  });
}

absl::Status Settings::GetPolicy(const auth::Principal& caller, v1::GetTenantPolicyResponse* resp) {
  ASSIGN_OR_RETURN(v1::TenantPolicy stored, Stored(caller.tenant_id));
  *resp->mutable_policy() = WithDefaults(stored);
  return absl::OkStatus();
}

absl::Status Settings::UpdatePolicy(const auth::Principal& caller,
                                    const v1::UpdateTenantPolicyRequest& req,
                                    v1::UpdateTenantPolicyResponse* resp) {
  RETURN_IF_ERROR(api::RequireRole(caller, "admin", "changing the tenant's policy"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  ASSIGN_OR_RETURN(v1::TenantPolicy stored, Stored(caller.tenant_id));
  ASSIGN_OR_RETURN(v1::TenantPolicy updated, Patch(stored, req.policy(), req.update_mask()));
  RETURN_IF_ERROR(Effective(updated).status());  // e.g. tenant phrases that do not compile
  RETURN_IF_ERROR(durable_.SavePolicy(caller.tenant_id, updated.SerializeAsString(), caller.subject,
                                      pg::KeyOf(caller.tenant_id, req)));
  {
    absl::MutexLock lock(&mu_);
    policies_.erase(caller.tenant_id);
  }
  *resp->mutable_policy() = WithDefaults(updated);
  return absl::OkStatus();
}

}  // namespace switchboard::eligibility

#include "services/eligibility/contacts.h"

#include "libs/api/contact.h"
#include "libs/api/validate.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"

namespace switchboard::eligibility {

Contacts::Contacts(store::HotState& hot, store::Durable& durable, runtime::Numbers& numbers)
    : hot_(hot), durable_(durable), numbers_(numbers) {}

absl::StatusOr<Target> Contacts::Resolve(absl::string_view tenant,
                                         const events::v1::ContactRef& contact,
                                         absl::string_view business_number) const {
  RETURN_IF_ERROR(api::Contact(contact, "contact"));
  RETURN_IF_ERROR(api::RequireId(business_number, "business_phone_number_id"));
  std::string key = api::ContactKey(contact);
  ASSIGN_OR_RETURN(store::NumberKeys keys, store::NumberKeys::For(tenant, business_number));
  return Target{std::move(keys),
                {std::string(tenant), std::string(business_number), std::move(key)}};
}

absl::StatusOr<Target> Contacts::ResolveOwned(const grpc::ServerContextBase* ctx,
                                              absl::string_view tenant,
                                              const events::v1::ContactRef& contact,
                                              absl::string_view business_number) {
  ASSIGN_OR_RETURN(Target t, Resolve(tenant, contact, business_number));
  RETURN_IF_ERROR(numbers_.Check(ctx, tenant, business_number));
  return t;
}

absl::StatusOr<store::ApplyResult> Contacts::Change(const Target& t, store::Change change) {
  absl::StatusOr<store::ApplyResult> applied = durable_.Apply(t.contact, change);
  Wrote();
  ASSIGN_OR_RETURN(store::ApplyResult r, std::move(applied));
  // The durable copy changed: drop the cached one. If Redis is down now, the cached copy's TTL
  // bounds how long it can be stale.
  absl::Status dropped = hot_.InvalidateContact(t.keys, t.contact.contact_key);
  if (!dropped.ok()) {
    log::Warning("could not invalidate cached contact", {{"error", dropped.ToString()}});
  }
  return r;
}

}  // namespace switchboard::eligibility

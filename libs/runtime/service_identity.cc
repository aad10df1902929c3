#include "libs/runtime/service_identity.h"

#include "absl/strings/str_cat.h"
#include "libs/auth/token.h"
#include "libs/core/status_macros.h"
#include "libs/core/trace.h"

namespace switchboard::runtime {

ServiceIdentity::ServiceIdentity(std::string secret, std::string service, const core::Clock& clock)
    : secret_(std::move(secret)), subject_(absl::StrCat("service:", service)), clock_(clock) {}

absl::Status ServiceIdentity::Prepare(grpc::ClientContext* client, absl::string_view tenant,
                                      absl::Duration timeout) {
  const absl::Time now = clock_.Now();
  std::string token;
  {
    absl::MutexLock lock(&mu_);
    auto it = tokens_.find(tenant);
    if (it != tokens_.end() && now < it->second.renew) token = it->second.text;
  }
  if (token.empty()) {
    ASSIGN_OR_RETURN(token, auth::SignToken(secret_,
                                            {.tenant_id = std::string(tenant),
                                             .subject = subject_,
                                             .roles = {"service"},
                                             .expires = now + kTokenLifetime},
                                            now));
    absl::MutexLock lock(&mu_);
    tokens_[tenant] = {token, now + kTokenLifetime / 2};
  }
  client->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  if (std::string trace = core::CurrentTraceparent(); !trace.empty()) {
    client->AddMetadata("traceparent", trace);
  }
  client->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return absl::OkStatus();
}

}  // namespace switchboard::runtime

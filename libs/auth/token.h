// Bearer tokens: JWTs signed with HS256 (ADR 0006). The runtime verifies them on every gRPC
// call; the principal they carry (tenant, subject, roles) is the only source of the tenant.
//
//   auth::TokenVerifier verifier(secret, clock);
//   ASSIGN_OR_RETURN(auth::Principal who, verifier.Verify(token));   // who.tenant_id
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"

namespace switchboard::auth {

struct Principal {
  std::string tenant_id;
  std::string subject;  // the agent, user or service acting
  std::vector<std::string> roles;
  absl::Time expires = absl::InfiniteFuture();

  bool HasRole(absl::string_view role) const;
};

class TokenVerifier {
 public:
  TokenVerifier(std::string secret, const core::Clock& clock = core::Clock::Real());
  ~TokenVerifier();

  // UNAUTHENTICATED with reason TOKEN_MISSING (empty), TOKEN_INVALID (malformed, bad
  // signature, an alg other than exactly "HS256", missing claims, exp/nbf/iat that are not
  // numbers, a name given twice in the header or claims), TOKEN_NOT_YET_VALID (before nbf) or
  // TOKEN_EXPIRED.
  // Tokens that verified are remembered (bounded, by the token's exact text) until they expire,
  // so the hot path does not decode and re-sign the same token on every call. Expiry is still
  // checked against the clock on every call.
  absl::StatusOr<Principal> Verify(absl::string_view token) const;

 private:
  absl::StatusOr<Principal> Decode(absl::string_view token) const;

  struct Cache;
  std::string secret_;
  const core::Clock& clock_;
  std::unique_ptr<Cache> cache_;
};

// Mints a token (the CLI, the demo and tests; in production the gateway's issuer does this).
absl::StatusOr<std::string> SignToken(absl::string_view secret, const Principal& principal,
                                      absl::Time issued_at);

// A tenant id is 1-64 characters of [A-Za-z0-9_-].
bool IsValidTenantId(absl::string_view tenant_id);

}  // namespace switchboard::auth

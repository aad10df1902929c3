// Bearer tokens (ADR 0006): JWTs signed with HS256 by the suite itself (the shared secret), or
// with RS256/ES256 by an identity provider whose keys are in a JWKS file (ADR 0022). The runtime
// verifies them on every gRPC call; the principal they carry (tenant, subject, roles) is the only
// source of the tenant.
//
//   ASSIGN_OR_RETURN(auto verifier, auth::TokenVerifier::Create({.secret = s, .jwks_file = f}));
//   ASSIGN_OR_RETURN(auth::Principal who, verifier->Verify(token));   // who.tenant_id
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"

namespace switchboard::auth {

class KeySet;

struct Principal {
  std::string tenant_id;
  std::string subject;  // the agent, user or service acting
  std::vector<std::string> roles;
  absl::Time expires = absl::InfiniteFuture();

  bool HasRole(absl::string_view role) const;
};

struct VerifierOptions {
  // HS256: the suite's own tokens (the CLI's, services acting for a tenant, the dev sign-in).
  std::string secret;
  // RS256/ES256: an identity provider's public keys (RFC 7517 JSON), chosen by the token's
  // `kid`. The file is read again when it changes (looked at every `jwks_recheck`), so keys
  // rotate without a restart; a change that does not parse keeps the keys in use (logged).
  std::string jwks_file;
  absl::Duration jwks_recheck = absl::Seconds(1);
  // When set, a token verified with the JWKS must carry exactly this `iss`, and this `aud` (a
  // string, or a list holding it). The suite's own HS256 tokens are not checked against them.
  std::string issuer;
  std::string audience;
};

class TokenVerifier {
 public:
  // HS256 with `secret` only.
  TokenVerifier(std::string secret, const core::Clock& clock = core::Clock::Real());
  // INVALID_ARGUMENT JWKS_INVALID when the JWKS file cannot be read or parsed.
  static absl::StatusOr<std::unique_ptr<TokenVerifier>> Create(
      VerifierOptions options, const core::Clock& clock = core::Clock::Real());
  ~TokenVerifier();

  // UNAUTHENTICATED with reason TOKEN_MISSING (empty), TOKEN_INVALID (malformed, bad
  // signature, an alg other than exactly "HS256", "RS256" or "ES256" with a key for it, no key
  // with the token's kid, missing claims, exp/nbf/iat that are not numbers, a name given twice
  // in the header or claims, another issuer or audience), TOKEN_NOT_YET_VALID (before nbf) or
  // TOKEN_EXPIRED.
  // Tokens that verified are remembered (bounded, by the token's exact text) until they expire,
  // so the hot path does not decode and re-sign the same token on every call. Expiry is still
  // checked against the clock on every call.
  absl::StatusOr<Principal> Verify(absl::string_view token) const;

 private:
  TokenVerifier(VerifierOptions options, const core::Clock& clock);
  // `keys`: the JWKS's keys in use, null without a JWKS file.
  absl::StatusOr<Principal> Decode(absl::string_view token, const KeySet* keys) const;

  struct Cache;
  struct Jwks;
  VerifierOptions options_;
  const core::Clock& clock_;
  std::unique_ptr<Cache> cache_;
  std::unique_ptr<Jwks> jwks_;  // null without a JWKS file
};

// Mints a token (the CLI, the demo and tests; in production the gateway's issuer does this).
absl::StatusOr<std::string> SignToken(absl::string_view secret, const Principal& principal,
                                      absl::Time issued_at);

// A tenant id is 1-64 characters of [A-Za-z0-9_-].
bool IsValidTenantId(absl::string_view tenant_id);

}  // namespace switchboard::auth

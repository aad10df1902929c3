#include "libs/auth/token.h"

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "libs/core/error.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"

using switchboard::auth::Principal;
using switchboard::auth::SignToken;
using switchboard::auth::TokenVerifier;
using switchboard::core::FakeClock;
using switchboard::core::ReasonOf;

namespace {

const std::string kSecret = "a-test-secret-of-reasonable-length";

std::string Token(absl::Time now, absl::Duration ttl, const std::string& secret = kSecret) {
  Principal p{.tenant_id = "acme",
              .subject = "agent-7",
              .roles = {"agent", "supervisor"},
              .expires = now + ttl};
  return *SignToken(secret, p, now);
}

}  // namespace

TEST_CASE("a signed token verifies and yields its principal") {
  FakeClock clock;
  TokenVerifier verifier(kSecret, clock);
  auto p = verifier.Verify(Token(clock.Now(), absl::Minutes(5)));
  REQUIRE(p.ok());
  CHECK(p->tenant_id == "acme");
  CHECK(p->subject == "agent-7");
  CHECK(p->roles == std::vector<std::string>{"agent", "supervisor"});
  CHECK(p->HasRole("supervisor"));
  CHECK_FALSE(p->HasRole("admin"));
}

TEST_CASE("expiry is checked against the injected clock, at the boundary") {
  FakeClock clock;
  TokenVerifier verifier(kSecret, clock);
  std::string token = Token(clock.Now(), absl::Seconds(60));
  clock.Advance(absl::Seconds(59));
  CHECK(verifier.Verify(token).ok());
  clock.Advance(absl::Seconds(1));
  CHECK(ReasonOf(verifier.Verify(token).status()) == "TOKEN_EXPIRED");
}

TEST_CASE("a remembered token still expires on time, and forged tokens are never remembered") {
  FakeClock clock;
  TokenVerifier verifier(kSecret, clock);
  std::string token = Token(clock.Now(), absl::Seconds(60));
  for (int i = 0; i < 3; ++i) CHECK(verifier.Verify(token).ok());  // decoded once, then cached
  clock.Advance(absl::Seconds(60));
  CHECK(ReasonOf(verifier.Verify(token).status()) == "TOKEN_EXPIRED");
  CHECK(ReasonOf(verifier.Verify(token).status()) == "TOKEN_EXPIRED");
  std::string forged = Token(clock.Now(), absl::Minutes(5), "another-secret-entirely");
  for (int i = 0; i < 2; ++i) CHECK(ReasonOf(verifier.Verify(forged).status()) == "TOKEN_INVALID");
}

TEST_CASE("missing, forged and tampered tokens are UNAUTHENTICATED") {
  FakeClock clock;
  TokenVerifier verifier(kSecret, clock);
  auto missing = verifier.Verify("");
  CHECK(missing.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(ReasonOf(missing.status()) == "TOKEN_MISSING");

  CHECK(ReasonOf(verifier.Verify(Token(clock.Now(), absl::Minutes(5), "another-secret-entirely"))
                     .status()) == "TOKEN_INVALID");
  CHECK(ReasonOf(verifier.Verify("not.a.jwt").status()) == "TOKEN_INVALID");

  // Same signature, payload edited to another tenant.
  std::vector<std::string> parts = absl::StrSplit(Token(clock.Now(), absl::Minutes(5)), '.');
  REQUIRE(parts.size() == 3);
  std::string payload;
  REQUIRE(absl::WebSafeBase64Unescape(parts[1], &payload));
  size_t at = payload.find("acme");
  REQUIRE(at != std::string::npos);
  payload.replace(at, 4, "evil");
  std::string forged = parts[0] + "." + absl::WebSafeBase64Escape(payload) + "." + parts[2];
  CHECK(ReasonOf(verifier.Verify(forged).status()) == "TOKEN_INVALID");

  // An unsigned token ("alg":"none") claiming a tenant.
  std::string header = absl::WebSafeBase64Escape(R"({"alg":"none","typ":"JWT"})");
  std::string body = absl::WebSafeBase64Escape(
      R"({"sub":"x","tenant":"acme","exp":4102444800,"roles":["admin"]})");
  CHECK(ReasonOf(verifier.Verify(header + "." + body + ".").status()) == "TOKEN_INVALID");
}

TEST_CASE("tokens without a tenant, subject or expiry are refused") {
  FakeClock clock;
  CHECK_FALSE(SignToken(kSecret, {.tenant_id = "", .subject = "s"}, clock.Now()).ok());
  CHECK_FALSE(SignToken(kSecret, {.tenant_id = "bad tenant", .subject = "s"}, clock.Now()).ok());
  CHECK_FALSE(SignToken(kSecret, {.tenant_id = "t", .subject = ""}, clock.Now()).ok());
  CHECK(switchboard::auth::IsValidTenantId("tenant_01-a"));
  CHECK_FALSE(switchboard::auth::IsValidTenantId(std::string(65, 'a')));
}

namespace {

// A token signed with kSecret whose header and claims are exactly these texts.
std::string Raw(const std::string& header, const std::string& claims) {
  std::string signing = absl::WebSafeBase64Escape(header) + "." + absl::WebSafeBase64Escape(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), mac, &length);
  return signing + "." +
         absl::WebSafeBase64Escape(std::string(reinterpret_cast<const char*>(mac), length));
}

}  // namespace

TEST_CASE("tokens are read strictly: exact alg, numeric times, nbf, no duplicate claims") {
  FakeClock clock(absl::FromUnixSeconds(1796000000));
  TokenVerifier verifier(kSecret, clock);
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  const std::string claims =
      R"({"sub":"agent-7","tenant":"acme","roles":["agent"],"exp":1796003600)";
  // The well-formed token verifies, so each refusal below is about what was changed.
  REQUIRE(verifier.Verify(Raw(header, claims + "}")).ok());

  CHECK(ReasonOf(verifier.Verify(Raw(R"({"alg":"hs256","typ":"JWT"})", claims + "}")).status()) ==
        "TOKEN_INVALID");
  CHECK(ReasonOf(verifier.Verify(Raw(R"({"alg":"HS256","alg":"none"})", claims + "}")).status()) ==
        "TOKEN_INVALID");
  CHECK(ReasonOf(verifier.Verify(Raw(header, R"({"sub":"agent-7","tenant":"acme","exp":"soon"})"))
                     .status()) == "TOKEN_INVALID");
  CHECK(ReasonOf(verifier.Verify(Raw(header, R"({"sub":"agent-7","tenant":"acme"})")).status()) ==
        "TOKEN_INVALID");
  // The same claim twice (which one wins is parser-dependent): refused.
  CHECK(ReasonOf(verifier.Verify(Raw(header, claims + R"(,"tenant":"globex"})")).status()) ==
        "TOKEN_INVALID");
  CHECK(ReasonOf(verifier.Verify(Raw(header, claims + R"(,"nbf":"later"})")).status()) ==
        "TOKEN_INVALID");
  // Not before: refused until then, accepted from then on (the clock is the injected one).
  std::string later = Raw(header, claims + R"(,"nbf":1796000600})");
  absl::Status early = verifier.Verify(later).status();
  CHECK(early.code() == absl::StatusCode::kUnauthenticated);
  CHECK(ReasonOf(early) == "TOKEN_NOT_YET_VALID");
  clock.Advance(absl::Minutes(10));
  CHECK(verifier.Verify(later).ok());
}

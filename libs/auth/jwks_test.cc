#include "libs/auth/jwks.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "libs/auth/testing/signing_key.h"
#include "libs/auth/token.h"
#include "libs/core/error.h"
#include "tests/support/servers.h"

using switchboard::auth::KeySet;
using switchboard::auth::SignToken;
using switchboard::auth::TokenVerifier;
using switchboard::auth::VerifierOptions;
using switchboard::auth::testing::Jwks;
using switchboard::auth::testing::SigningKey;
using switchboard::core::FakeClock;
using switchboard::core::ReasonOf;

namespace {

const std::string kSecret = "a-test-secret-of-reasonable-length";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

nlohmann::json Claims(const FakeClock& clock) {
  return {{"sub", "ana"},
          {"tenant", "acme"},
          {"roles", {"agent"}},
          {"iss", "https://id.example.com/"},
          {"aud", {"switchboard", "other-api"}},
          {"exp", absl::ToUnixSeconds(clock.Now() + absl::Hours(1))}};
}

std::string Reason(const absl::StatusOr<switchboard::auth::Principal>& p) {
  return p.ok() ? "OK" : ReasonOf(p.status());
}

}  // namespace

TEST_CASE("RS256 and ES256 tokens verify with their JWKS key, HS256 with the secret") {
  FakeClock clock;
  SigningKey rsa = SigningKey::Rsa("rsa-1");
  SigningKey ec = SigningKey::Ec("ec-1");
  std::string dir = switchboard::testing::TempDir("jwks");
  WriteFile(dir + "/jwks.json", Jwks({&rsa, &ec}));
  auto verifier =
      TokenVerifier::Create({.secret = kSecret, .jwks_file = dir + "/jwks.json"}, clock);
  REQUIRE(verifier.ok());

  for (const SigningKey* key : {&rsa, &ec}) {
    auto p = (*verifier)->Verify(key->Sign(Claims(clock)));
    REQUIRE(p.ok());
    CHECK(p->tenant_id == "acme");
    CHECK(p->subject == "ana");
    CHECK(p->roles == std::vector<std::string>{"agent"});
  }
  // The suite's own tokens still verify beside them.
  std::string own = *SignToken(
      kSecret, {.tenant_id = "acme", .subject = "cli", .expires = clock.Now() + absl::Minutes(5)},
      clock.Now());
  CHECK((*verifier)->Verify(own).ok());
}

TEST_CASE("a token must be signed by the key its kid names, with that key's algorithm") {
  FakeClock clock;
  SigningKey rsa = SigningKey::Rsa("rsa-1");
  SigningKey ec = SigningKey::Ec("ec-1");
  SigningKey stranger = SigningKey::Ec("ec-1");  // same kid, another key pair
  std::string dir = switchboard::testing::TempDir("jwks");
  WriteFile(dir + "/jwks.json", Jwks({&rsa, &ec}));
  auto verifier = TokenVerifier::Create({.jwks_file = dir + "/jwks.json"}, clock);
  REQUIRE(verifier.ok());
  const TokenVerifier& v = **verifier;

  CHECK(Reason(v.Verify(stranger.Sign(Claims(clock)))) == "TOKEN_INVALID");
  // A kid the set does not have.
  nlohmann::json unknown = {{"alg", "ES256"}, {"kid", "ec-9"}};
  CHECK(Reason(v.Verify(ec.Sign(Claims(clock), &unknown))) == "TOKEN_INVALID");
  // The RSA key's kid with ES256: refused even though an ES256 key exists.
  nlohmann::json crossed = {{"alg", "ES256"}, {"kid", "rsa-1"}};
  CHECK(Reason(v.Verify(ec.Sign(Claims(clock), &crossed))) == "TOKEN_INVALID");
  // No kid: the only key of the algorithm is taken.
  nlohmann::json no_kid = {{"alg", "ES256"}};
  CHECK(Reason(v.Verify(ec.Sign(Claims(clock), &no_kid))) == "OK");
  // HS256 signed with the RSA key's public JWK text as the secret (algorithm confusion), and
  // HS256 at all when no secret is configured.
  std::string confused =
      *SignToken(rsa.Jwk().dump(),
                 {.tenant_id = "acme", .subject = "x", .expires = clock.Now() + absl::Minutes(5)},
                 clock.Now());
  CHECK(Reason(v.Verify(confused)) == "TOKEN_INVALID");
  // An ES256 signature in DER (what OpenSSL produces) instead of r||s.
  std::string good = ec.Sign(Claims(clock));
  std::vector<std::string> parts = absl::StrSplit(good, '.');
  CHECK(Reason(v.Verify(parts[0] + "." + parts[1] + "." +
                        absl::WebSafeBase64Escape(std::string(70, 'x')))) == "TOKEN_INVALID");
  // Claims edited after signing.
  nlohmann::json evil = Claims(clock);
  evil["tenant"] = "globex";
  CHECK(Reason(v.Verify(parts[0] + "." + absl::WebSafeBase64Escape(evil.dump()) + "." +
                        parts[2])) == "TOKEN_INVALID");
  CHECK(Reason(v.Verify(good)) == "OK");
}

TEST_CASE("issuer and audience are checked when configured") {
  FakeClock clock;
  SigningKey ec = SigningKey::Ec("ec-1");
  std::string dir = switchboard::testing::TempDir("jwks");
  WriteFile(dir + "/jwks.json", Jwks({&ec}));
  auto verifier = TokenVerifier::Create({.secret = kSecret,
                                         .jwks_file = dir + "/jwks.json",
                                         .issuer = "https://id.example.com/",
                                         .audience = "switchboard"},
                                        clock);
  REQUIRE(verifier.ok());
  const TokenVerifier& v = **verifier;
  nlohmann::json claims = Claims(clock);
  CHECK(Reason(v.Verify(ec.Sign(claims))) == "OK");
  claims["aud"] = "switchboard";  // a string works as well as a list
  CHECK(Reason(v.Verify(ec.Sign(claims))) == "OK");
  claims["aud"] = {"other-api"};
  CHECK(Reason(v.Verify(ec.Sign(claims))) == "TOKEN_INVALID");
  claims.erase("aud");
  CHECK(Reason(v.Verify(ec.Sign(claims))) == "TOKEN_INVALID");
  claims = Claims(clock);
  claims["iss"] = "https://id.example.com";  // no trailing slash: not the same issuer
  CHECK(Reason(v.Verify(ec.Sign(claims))) == "TOKEN_INVALID");
  claims = Claims(clock);
  claims["exp"] = absl::ToUnixSeconds(clock.Now() - absl::Seconds(1));
  CHECK(Reason(v.Verify(ec.Sign(claims))) == "TOKEN_EXPIRED");
  // The suite's own HS256 tokens carry neither, and are not held to them.
  std::string own = *SignToken(
      kSecret, {.tenant_id = "acme", .subject = "cli", .expires = clock.Now() + absl::Minutes(5)},
      clock.Now());
  CHECK(Reason(v.Verify(own)) == "OK");
}

TEST_CASE("keys rotate by rewriting the JWKS file: new kids are taken, removed ones refused") {
  FakeClock clock;
  SigningKey old_key = SigningKey::Rsa("2026-11");
  SigningKey new_key = SigningKey::Ec("2026-12");
  std::string dir = switchboard::testing::TempDir("jwks");
  const std::string file = dir + "/jwks.json";
  WriteFile(file, Jwks({&old_key}));
  auto verifier =
      TokenVerifier::Create({.jwks_file = file, .jwks_recheck = absl::Seconds(1)}, clock);
  REQUIRE(verifier.ok());
  const TokenVerifier& v = **verifier;
  std::string old_token = old_key.Sign(Claims(clock));
  std::string new_token = new_key.Sign(Claims(clock));
  CHECK(Reason(v.Verify(old_token)) == "OK");
  CHECK(Reason(v.Verify(new_token)) == "TOKEN_INVALID");

  // 1. The provider publishes the new key beside the old one.
  WriteFile(file, Jwks({&old_key, &new_key}));
  clock.Advance(absl::Seconds(1));
  CHECK(Reason(v.Verify(new_token)) == "OK");
  CHECK(Reason(v.Verify(old_token)) == "OK");

  // A broken rewrite (half a file) keeps the keys in use.
  WriteFile(file, "{\"keys\": [");
  clock.Advance(absl::Seconds(1));
  CHECK(Reason(v.Verify(new_token)) == "OK");
  CHECK(Reason(v.Verify(old_token)) == "OK");

  // 2. The old key is withdrawn: its tokens stop verifying at once, remembered or not.
  WriteFile(file, Jwks({&new_key}));
  clock.Advance(absl::Seconds(1));
  CHECK(Reason(v.Verify(old_token)) == "TOKEN_INVALID");
  CHECK(Reason(v.Verify(new_token)) == "OK");
}

TEST_CASE("a JWKS is refused whole when a signing key in it is malformed") {
  SigningKey ec = SigningKey::Ec("ec-1");
  SigningKey small = SigningKey::Rsa("rsa-small", 1024);
  CHECK(KeySet::Parse(Jwks({&ec})).ok());
  CHECK(ReasonOf(KeySet::Parse("[]").status()) == "JWKS_INVALID");
  CHECK(ReasonOf(KeySet::Parse(R"({"keys": []})").status()) == "JWKS_INVALID");
  CHECK(ReasonOf(KeySet::Parse(Jwks({&small})).status()) == "JWKS_INVALID");
  CHECK(ReasonOf(KeySet::Parse(Jwks({&ec, &ec})).status()) == "JWKS_INVALID");  // one kid twice
  nlohmann::json off_curve = ec.Jwk();
  std::string y;
  REQUIRE(absl::WebSafeBase64Unescape(off_curve["y"].get<std::string>(), &y));
  y[31] = static_cast<char>(y[31] ^ 1);
  off_curve["y"] = absl::WebSafeBase64Escape(y);
  CHECK(ReasonOf(KeySet::Parse(nlohmann::json{{"keys", {off_curve}}}.dump()).status()) ==
        "JWKS_INVALID");
  // Encryption keys and other types are left out, not refused.
  nlohmann::json set = {
      {"keys",
       {ec.Jwk(),
        {{"kty", "oct"}, {"kid", "sym"}, {"k", "c2VjcmV0"}},
        {{"kty", "RSA"}, {"kid", "enc"}, {"use", "enc"}, {"n", "AQAB"}, {"e", "AQAB"}}}}};
  auto parsed = KeySet::Parse(set.dump());
  REQUIRE(parsed.ok());
  CHECK(parsed->size() == 1);
  // An unreadable file is a start-up error naming it.
  auto missing = TokenVerifier::Create({.jwks_file = "/nonexistent/jwks.json"});
  CHECK(ReasonOf(missing.status()) == "JWKS_INVALID");
}

// Tests only: an identity provider's key pair, to publish in a JWKS and sign tokens with, the way
// an OIDC provider would (RS256, or ES256 with the 64-byte r||s signature).
//
//   auto key = auth::testing::SigningKey::Ec("key-1");
//   WriteFile(dir + "/jwks.json", auth::testing::Jwks({&key}));
//   std::string token = key.Sign({{"sub", "ana"}, {"tenant", "acme"}, {"exp", exp}});
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace switchboard::auth::testing {

class SigningKey {
 public:
  static SigningKey Rsa(std::string kid, int bits = 2048);
  static SigningKey Ec(std::string kid);
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;

  const std::string& kid() const { return kid_; }
  const std::string& alg() const { return alg_; }
  // The public key as a JWK, with kid, alg and "use":"sig".
  nlohmann::json Jwk() const;
  // A JWT of these claims; the header is {"alg", "typ":"JWT", "kid"} unless `header` is given.
  std::string Sign(const nlohmann::json& claims, const nlohmann::json* header = nullptr) const;
  // The signature alone over `signing_input`, as the JWS carries it (base64url).
  std::string SignatureOf(const std::string& signing_input) const;

 private:
  struct Pkey;
  SigningKey(std::string kid, std::string alg, std::unique_ptr<Pkey> pkey);
  std::string kid_;
  std::string alg_;
  std::unique_ptr<Pkey> pkey_;
};

// {"keys": [the keys' JWKs]}.
std::string Jwks(const std::vector<const SigningKey*>& keys);

}  // namespace switchboard::auth::testing

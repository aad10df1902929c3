// An identity provider's public keys (a JSON Web Key Set, RFC 7517) and the JWS signature checks
// the verifier needs: HS256 with the suite's own secret, RS256 and ES256 with a key of the set.
//
//   ASSIGN_OR_RETURN(auth::KeySet keys, auth::KeySet::Parse(jwks_json));
//   const auth::PublicKey* key = keys.Find(kid, "RS256");
//   bool good = key != nullptr && key->Verifies(signing_input, signature);
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchboard::auth {

// One usable key of a set: RSA (RS256, at least 2048 bits) or EC P-256 (ES256).
class PublicKey {
 public:
  ~PublicKey();
  PublicKey(PublicKey&&) noexcept;
  PublicKey& operator=(PublicKey&&) noexcept;

  const std::string& kid() const { return kid_; }
  // "RS256" or "ES256".
  const std::string& alg() const { return alg_; }
  // Whether `signature` (the JWS's third part, decoded) signs `signing_input` ("header.claims")
  // with this key. ES256 signatures are the 64-byte r||s of RFC 7518 §3.4, never DER.
  bool Verifies(absl::string_view signing_input, absl::string_view signature) const;

 private:
  friend class KeySet;
  struct Pkey;
  PublicKey(std::string kid, std::string alg, std::unique_ptr<Pkey> pkey);

  std::string kid_;
  std::string alg_;
  std::unique_ptr<Pkey> pkey_;
};

class KeySet {
 public:
  // {"keys": [{"kty":"RSA","kid":"k1","alg":"RS256","n":"...","e":"AQAB"},
  //           {"kty":"EC","kid":"k2","crv":"P-256","x":"...","y":"..."}]}
  // Keys for encryption ("use":"enc"), of other types or curves are left out; a signing key
  // that is malformed (bad base64url, a point off the curve, RSA under 2048 bits, two keys with
  // one kid) makes the whole set INVALID_ARGUMENT JWKS_INVALID, as does a set with no usable key.
  static absl::StatusOr<KeySet> Parse(absl::string_view json);

  // The key for a token's header: by `kid` when it names one (its alg must be `alg`); without a
  // kid, the only key of that alg, if there is exactly one. nullptr otherwise.
  const PublicKey* Find(absl::string_view kid, absl::string_view alg) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<PublicKey> keys_;
};

// HMAC-SHA256 of `signing_input` with `secret` equals `signature`, compared in constant time.
bool Hs256Verifies(absl::string_view secret, absl::string_view signing_input,
                   absl::string_view signature);

}  // namespace switchboard::auth

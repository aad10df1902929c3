#include "libs/auth/testing/signing_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <stdexcept>

#include "absl/strings/escaping.h"

namespace switchboard::auth::testing {
namespace {

std::string B64(const unsigned char* data, size_t size) {
  return absl::WebSafeBase64Escape(std::string(reinterpret_cast<const char*>(data), size));
}

// A big number parameter of the key, big-endian, left-padded to `width` bytes (0: as is).
std::string Param(EVP_PKEY* pkey, const char* name, int width = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) throw std::runtime_error(name);
  std::string out(width > 0 ? width : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

}  // namespace

struct SigningKey::Pkey {
  EVP_PKEY* key = nullptr;
  ~Pkey() { EVP_PKEY_free(key); }
};

SigningKey::SigningKey(std::string kid, std::string alg, std::unique_ptr<Pkey> pkey)
    : kid_(std::move(kid)), alg_(std::move(alg)), pkey_(std::move(pkey)) {}
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;

SigningKey SigningKey::Rsa(std::string kid, int bits) {
  auto pkey = std::make_unique<Pkey>();
  pkey->key = EVP_RSA_gen(static_cast<unsigned int>(bits));
  if (pkey->key == nullptr) throw std::runtime_error("EVP_RSA_gen");
  return SigningKey(std::move(kid), "RS256", std::move(pkey));
}

SigningKey SigningKey::Ec(std::string kid) {
  auto pkey = std::make_unique<Pkey>();
  pkey->key = EVP_EC_gen("P-256");
  if (pkey->key == nullptr) throw std::runtime_error("EVP_EC_gen");
  return SigningKey(std::move(kid), "ES256", std::move(pkey));
}

nlohmann::json SigningKey::Jwk() const {
  auto b64 = [](const std::string& s) {
    return B64(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  if (alg_ == "RS256") {
    return {{"kty", "RSA"},
            {"kid", kid_},
            {"alg", alg_},
            {"use", "sig"},
            {"n", b64(Param(pkey_->key, OSSL_PKEY_PARAM_RSA_N))},
            {"e", b64(Param(pkey_->key, OSSL_PKEY_PARAM_RSA_E))}};
  }
  return {{"kty", "EC"},
          {"kid", kid_},
          {"alg", alg_},
          {"use", "sig"},
          {"crv", "P-256"},
          {"x", b64(Param(pkey_->key, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
          {"y", b64(Param(pkey_->key, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
}

std::string SigningKey::SignatureOf(const std::string& signing_input) const {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  size_t length = 0;
  if (EVP_DigestSignInit(md, nullptr, EVP_sha256(), nullptr, pkey_->key) != 1 ||
      EVP_DigestSign(md, nullptr, &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    throw std::runtime_error("EVP_DigestSign");
  }
  std::string sig(length, '\0');
  auto* out = reinterpret_cast<unsigned char*>(sig.data());
  if (EVP_DigestSign(md, out, &length, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    throw std::runtime_error("EVP_DigestSign");
  }
  EVP_MD_CTX_free(md);
  sig.resize(length);
  if (alg_ == "RS256") return B64(out, sig.size());
  // DER ECDSA-Sig-Value → r||s (RFC 7518 §3.4).
  const unsigned char* der = out;
  ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size()));
  if (ecdsa == nullptr) throw std::runtime_error("d2i_ECDSA_SIG");
  unsigned char rs[64];
  BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), rs, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), rs + 32, 32);
  ECDSA_SIG_free(ecdsa);
  return B64(rs, sizeof(rs));
}

std::string SigningKey::Sign(const nlohmann::json& claims, const nlohmann::json* header) const {
  nlohmann::json h =
      header != nullptr ? *header : nlohmann::json{{"alg", alg_}, {"typ", "JWT"}, {"kid", kid_}};
  std::string input =
      absl::WebSafeBase64Escape(h.dump()) + "." + absl::WebSafeBase64Escape(claims.dump());
  return input + "." + SignatureOf(input);
}

std::string Jwks(const std::vector<const SigningKey*>& keys) {
  nlohmann::json out = {{"keys", nlohmann::json::array()}};
  for (const SigningKey* k : keys) out["keys"].push_back(k->Jwk());
  return out.dump();
}

}  // namespace switchboard::auth::testing

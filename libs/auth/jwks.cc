#include "libs/auth/jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "nlohmann/json.hpp"

namespace switchboard::auth {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

absl::Status Invalid(absl::string_view kid, absl::string_view what) {
  return core::InvalidArgument("JWKS_INVALID", absl::StrCat("JWKS key \"", kid, "\": ", what));
}

// A base64url member of a JWK (no padding, RFC 7515 §2), decoded; nullopt if absent or bad.
std::optional<std::string> Bytes(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  std::string out;
  if (!absl::WebSafeBase64Unescape(it->get<std::string>(), &out) || out.empty()) {
    return std::nullopt;
  }
  return out;
}

BnPtr Bignum(const std::string& big_endian) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()),
                         static_cast<int>(big_endian.size()), nullptr));
}

// A public key from OpenSSL parameters, checked (for EC: the point is on the curve).
PkeyPtr FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  PkeyPtr pkey(raw);
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return pkey;
}

absl::StatusOr<PkeyPtr> RsaKey(const nlohmann::json& jwk, absl::string_view kid) {
  std::optional<std::string> n = Bytes(jwk, "n"), e = Bytes(jwk, "e");
  if (!n || !e) return Invalid(kid, "an RSA key needs base64url n and e");
  BnPtr bn_n = Bignum(*n), bn_e = Bignum(*e);
  if (!bn_n || !bn_e) return Invalid(kid, "unreadable n or e");
  if (BN_num_bits(bn_n.get()) < 2048) return Invalid(kid, "RSA keys must have at least 2048 bits");
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Invalid(kid, "unreadable n or e");
  }
  PkeyPtr pkey = FromParams("RSA", bld.get());
  if (!pkey) return Invalid(kid, "not a valid RSA public key");
  return pkey;
}

absl::StatusOr<PkeyPtr> EcKey(const nlohmann::json& jwk, absl::string_view kid) {
  std::optional<std::string> x = Bytes(jwk, "x"), y = Bytes(jwk, "y");
  if (!x || !y || x->size() != 32 || y->size() != 32) {
    return Invalid(kid, "a P-256 key needs base64url x and y of 32 bytes each");
  }
  std::string point = absl::StrCat("\x04", *x, *y);  // uncompressed SEC1 point
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Invalid(kid, "unreadable x or y");
  }
  PkeyPtr pkey = FromParams("EC", bld.get());
  if (!pkey) return Invalid(kid, "x and y are not a point of P-256");
  return pkey;
}

bool DigestVerifies(EVP_PKEY* pkey, absl::string_view input, const unsigned char* sig,
                    size_t sig_length) {
  MdCtxPtr md(EVP_MD_CTX_new());
  return md && EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
         EVP_DigestVerify(md.get(), sig, sig_length,
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

}  // namespace

struct PublicKey::Pkey {
  PkeyPtr key;
};

PublicKey::PublicKey(std::string kid, std::string alg, std::unique_ptr<Pkey> pkey)
    : kid_(std::move(kid)), alg_(std::move(alg)), pkey_(std::move(pkey)) {}
PublicKey::~PublicKey() = default;
PublicKey::PublicKey(PublicKey&&) noexcept = default;
PublicKey& PublicKey::operator=(PublicKey&&) noexcept = default;

bool PublicKey::Verifies(absl::string_view signing_input, absl::string_view signature) const {
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  if (alg_ == "RS256") {
    return DigestVerifies(pkey_->key.get(), signing_input, sig, signature.size());
  }
  // ES256: r||s, 32 bytes each, re-encoded as the DER ECDSA-Sig-Value OpenSSL verifies.
  if (signature.size() != 64) return false;
  EcdsaSigPtr ecdsa(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(sig, 32, nullptr);
  BIGNUM* s = BN_bin2bn(sig + 32, 32, nullptr);
  if (!ecdsa || r == nullptr || s == nullptr || ECDSA_SIG_set0(ecdsa.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  unsigned char* der = nullptr;
  int der_length = i2d_ECDSA_SIG(ecdsa.get(), &der);
  if (der_length <= 0) return false;
  bool good = DigestVerifies(pkey_->key.get(), signing_input, der, static_cast<size_t>(der_length));
  OPENSSL_free(der);
  return good;
}

absl::StatusOr<KeySet> KeySet::Parse(absl::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return core::InvalidArgument("JWKS_INVALID", "a JWKS is a JSON object with a \"keys\" list");
  }
  KeySet set;
  std::set<std::string> kids;
  for (const nlohmann::json& jwk : doc["keys"]) {
    if (!jwk.is_object()) return core::InvalidArgument("JWKS_INVALID", "a key is not an object");
    auto text = [&](const char* name) {
      auto it = jwk.find(name);
      return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string kty = text("kty"), kid = text("kid"), alg = text("alg"), use = text("use");
    if (use == "enc") continue;
    std::string key_alg;
    absl::StatusOr<PkeyPtr> pkey;
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      key_alg = "RS256";
      pkey = RsaKey(jwk, kid);
    } else if (kty == "EC" && text("crv") == "P-256" && (alg.empty() || alg == "ES256")) {
      key_alg = "ES256";
      pkey = EcKey(jwk, kid);
    } else {
      continue;  // another type, curve or algorithm: not one this verifier takes
    }
    if (!pkey.ok()) return pkey.status();
    if (!kids.insert(kid).second) return Invalid(kid, "two keys have this kid");
    set.keys_.push_back(PublicKey(
        kid, key_alg, std::make_unique<PublicKey::Pkey>(PublicKey::Pkey{*std::move(pkey)})));
  }
  if (set.keys_.empty()) {
    return core::InvalidArgument("JWKS_INVALID", "the JWKS has no RS256 or ES256 signing key");
  }
  return set;
}

const PublicKey* KeySet::Find(absl::string_view kid, absl::string_view alg) const {
  const PublicKey* only = nullptr;
  int of_alg = 0;
  for (const PublicKey& key : keys_) {
    if (!kid.empty()) {
      if (key.kid() == kid) return key.alg() == alg ? &key : nullptr;
      continue;
    }
    if (key.alg() == alg) {
      only = &key;
      ++of_alg;
    }
  }
  return of_alg == 1 ? only : nullptr;
}

bool Hs256Verifies(absl::string_view secret, absl::string_view signing_input,
                   absl::string_view signature) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
           &length) == nullptr) {
    return false;
  }
  return signature.size() == length && CRYPTO_memcmp(mac, signature.data(), length) == 0;
}

}  // namespace switchboard::auth

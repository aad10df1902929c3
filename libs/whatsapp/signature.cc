#include "libs/whatsapp/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"

namespace switchboard::whatsapp {
namespace {

constexpr size_t kDigestBytes = 32;

bool Digest(absl::string_view secret, absl::string_view body, unsigned char* out) {
  unsigned int len = 0;
  return HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(body.data()), body.size(), out,
              &len) != nullptr &&
         len == kDigestBytes;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string SignatureHeader(absl::string_view app_secret, absl::string_view body) {
  unsigned char digest[kDigestBytes];
  if (!Digest(app_secret, body, digest)) return "";
  return "sha256=" +
         absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), kDigestBytes));
}

bool VerifySignature(absl::string_view app_secret, absl::string_view body,
                     absl::string_view header) {
  constexpr absl::string_view kPrefix = "sha256=";
  if (header.size() != kPrefix.size() + 2 * kDigestBytes) return false;
  if (!absl::StartsWithIgnoreCase(header, kPrefix)) return false;
  absl::string_view hex = header.substr(kPrefix.size());
  unsigned char claimed[kDigestBytes];
  for (size_t i = 0; i < kDigestBytes; ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    claimed[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  unsigned char expected[kDigestBytes];
  if (!Digest(app_secret, body, expected)) return false;
  return CRYPTO_memcmp(claimed, expected, kDigestBytes) == 0;
}

}  // namespace switchboard::whatsapp

#include "libs/api/page.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"

namespace switchboard::api {
namespace {

constexpr absl::string_view kVersion = "2";
constexpr size_t kMacBytes = 12;  // 96 bits: forging one is not a practical attack

struct Key {
  absl::Mutex mu;
  std::string value ABSL_GUARDED_BY(mu) = "switchboard-development-page-token-key";
};
Key& TokenKey() {
  static Key* key = new Key();
  return *key;
}

std::string Mac(absl::string_view payload, absl::string_view binding) {
  std::string key;
  {
    Key& k = TokenKey();
    absl::ReaderMutexLock lock(&k.mu);
    key = k.value;
  }
  std::string message = absl::StrCat(payload.size(), ":", payload, binding);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), std::min<size_t>(length, kMacBytes));
}

absl::Status TokenError() {
  return core::InvalidArgument(kInvalidPageToken,
                               "page_token is not one this list issued for this request");
}

bool IsSignedDecimal(absl::string_view text) {
  if (absl::StartsWith(text, "-")) text.remove_prefix(1);
  if (text.empty() || text.size() > 19) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

absl::StatusOr<int> PageSize(int32_t requested, PageSizes sizes) {
  if (requested < 0) {
    return core::InvalidArgument(kInvalidPageSize, "page_size must be 0 or more",
                                 {{"field", "page_size"}});
  }
  if (requested == 0) return sizes.default_size;
  return std::min<int>(requested, sizes.max);
}

std::string Binding(absl::string_view list, absl::string_view canonical_selection) {
  return absl::StrCat(list.size(), ":", list, canonical_selection);
}

std::string EncodePageToken(const Cursor& last, absl::string_view binding) {
  const std::string time = last.time == absl::InfinitePast()
                               ? std::string("-")
                               : absl::StrCat(absl::ToUnixMicros(last.time));
  std::string payload = absl::StrCat(kVersion, "|", time, "|", last.id);
  return absl::WebSafeBase64Escape(absl::StrCat(payload, "|", Mac(payload, binding)));
}

absl::StatusOr<std::optional<Cursor>> DecodePageToken(absl::string_view token,
                                                      absl::string_view binding) {
  if (token.empty()) return std::nullopt;
  if (token.size() > 512) return TokenError();
  std::string text;
  if (!absl::WebSafeBase64Unescape(token, &text) || text.size() < kMacBytes + 1) {
    return TokenError();
  }
  absl::string_view mac = absl::string_view(text).substr(text.size() - kMacBytes);
  absl::string_view rest = absl::string_view(text).substr(0, text.size() - kMacBytes);
  if (!absl::ConsumeSuffix(&rest, "|")) return TokenError();
  std::string expected = Mac(rest, binding);
  if (CRYPTO_memcmp(expected.data(), mac.data(), kMacBytes) != 0) return TokenError();
  // Signed by us: what follows was written by EncodePageToken, checked anyway.
  std::vector<absl::string_view> parts = absl::StrSplit(rest, absl::MaxSplits('|', 2));
  if (parts.size() != 3 || parts[0] != kVersion) return TokenError();
  Cursor cursor;
  if (parts[1] != "-") {
    int64_t micros;
    if (!IsSignedDecimal(parts[1]) || !absl::SimpleAtoi(parts[1], &micros)) return TokenError();
    cursor.time = absl::FromUnixMicros(micros);
  }
  if (parts[2].empty() || !IsValidUtf8(parts[2], /*allow_controls=*/false)) return TokenError();
  cursor.id = std::string(parts[2]);
  return cursor;
}

void SetPageTokenKey(absl::string_view key) {
  Key& k = TokenKey();
  absl::MutexLock lock(&k.mu);
  k.value = std::string(key);
}

}  // namespace switchboard::api

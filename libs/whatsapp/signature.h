// Meta's webhook signature: X-Hub-Signature-256 = "sha256=" + hex(HMAC-SHA256(app secret, raw
// body)). Verified over the exact bytes received, in constant time, before anything is parsed.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace switchboard::whatsapp {

inline constexpr char kSignatureHeader[] = "X-Hub-Signature-256";

// "sha256=<64 lower-case hex digits>" for `body` signed with `app_secret`.
std::string SignatureHeader(absl::string_view app_secret, absl::string_view body);

// Whether `header` is a valid X-Hub-Signature-256 of `body` under `app_secret`. Accepts upper-
// or lower-case hex; anything malformed is simply false. Constant time in the digest compare.
bool VerifySignature(absl::string_view app_secret, absl::string_view body,
                     absl::string_view header);

}  // namespace switchboard::whatsapp

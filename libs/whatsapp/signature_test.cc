#include "libs/whatsapp/signature.h"

#include <catch2/catch.hpp>

#include "absl/strings/ascii.h"

namespace switchboard::whatsapp {
namespace {

TEST_CASE("the signature is HMAC-SHA256 of the exact body, hex, with Meta's prefix") {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  CHECK(SignatureHeader("Jefe", "what do ya want for nothing?") ==
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("verification accepts the right signature in either hex case and nothing else") {
  const std::string body = R"({"object":"whatsapp_business_account","entry":[]})";
  std::string good = SignatureHeader("app-secret", body);
  CHECK(VerifySignature("app-secret", body, good));
  CHECK(VerifySignature("app-secret", body,
                        absl::AsciiStrToUpper(good.substr(7)).insert(0, "sha256=")));
  CHECK_FALSE(VerifySignature("other-secret", body, good));
  CHECK_FALSE(VerifySignature("app-secret", body + " ", good));  // re-serialised bodies differ
  CHECK_FALSE(VerifySignature("app-secret", body, ""));
  CHECK_FALSE(VerifySignature("app-secret", body, "sha256="));
  CHECK_FALSE(VerifySignature("app-secret", body, good.substr(0, good.size() - 1)));
  CHECK_FALSE(VerifySignature("app-secret", body, "sha1=" + good.substr(7)));
  std::string not_hex = good;
  not_hex.back() = 'g';
  CHECK_FALSE(VerifySignature("app-secret", body, not_hex));
  std::string flipped = good;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  CHECK_FALSE(VerifySignature("app-secret", body, flipped));
}

}  // namespace
}  // namespace switchboard::whatsapp

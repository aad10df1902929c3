// libFuzzer target for the edge's parse-and-verify path: the signature check over arbitrary
// bytes and headers, then the webhook parser. Invariants: a correct signature always verifies
// and a corrupted one never does; parsing never crashes, throws or hangs, and every item it
// yields has an id and round-trips through protobuf.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "libs/whatsapp/signature.h"
#include "services/webhooks/rules/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view body(reinterpret_cast<const char*>(data), size);
  const std::string secret = "fuzz-app-secret";
  std::string good = switchboard::whatsapp::SignatureHeader(secret, body);
  if (!switchboard::whatsapp::VerifySignature(secret, body, good)) abort();
  std::string bad = good;
  bad.back() = bad.back() == '0' ? '1' : '0';
  if (switchboard::whatsapp::VerifySignature(secret, body, bad)) abort();
  // The body's own first bytes as a header: arbitrary header text must be refused safely.
  (void)switchboard::whatsapp::VerifySignature(secret, body, body.substr(0, 71));

  auto parsed = switchboard::webhooks::ParseWebhook(body);
  if (!parsed.ok()) return 0;
  for (const auto& item : parsed->items) {
    if (item.event_id.empty()) abort();
    std::string bytes = item.event.SerializeAsString();
    switchboard::webhooks::v1::WhatsAppEvent back;
    if (!back.ParseFromString(bytes)) abort();
  }
  return 0;
}

#include "tools/meta-sim/payloads.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace switchboard::metasim {

using Json = nlohmann::json;

namespace {

Json Value(const NumberRef& number) {
  return {{"messaging_product", "whatsapp"},
          {"metadata",
           {{"display_phone_number", Digits(number.display_phone_number)},
            {"phone_number_id", number.phone_number_id}}}};
}

Json Contacts(const Contact& contact) {
  return Json::array({{{"profile", {{"name", contact.name}}}, {"wa_id", contact.wa_id}}});
}

}  // namespace

std::string EpochString(absl::Time t) { return absl::StrCat(absl::ToUnixSeconds(t)); }

std::string Digits(const std::string& phone) {
  std::string out;
  for (char c : phone) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) out.push_back(c);
  }
  return out;
}

Json CallChange(const NumberRef& number, const std::optional<Contact>& contact, Json call) {
  Json value = Value(number);
  if (contact) value["contacts"] = Contacts(*contact);
  value["calls"] = Json::array({std::move(call)});
  return {{"field", "calls"}, {"value", std::move(value)}};
}

Json CallStatusChange(const NumberRef& number, const std::string& call_id,
                      const std::string& status, absl::Time at, const std::string& recipient_id,
                      const std::string& biz_opaque_callback_data) {
  Json s = {{"id", call_id},
            {"type", "call"},
            {"status", status},
            {"timestamp", EpochString(at)},
            {"recipient_id", recipient_id}};
  if (!biz_opaque_callback_data.empty()) s["biz_opaque_callback_data"] = biz_opaque_callback_data;
  Json value = Value(number);
  value["statuses"] = Json::array({std::move(s)});
  return {{"field", "calls"}, {"value", std::move(value)}};
}

Json MessageChange(const NumberRef& number, const Contact& contact, Json message) {
  Json value = Value(number);
  value["contacts"] = Contacts(contact);
  value["messages"] = Json::array({std::move(message)});
  return {{"field", "messages"}, {"value", std::move(value)}};
}

std::string FakeSdp(bool offer, uint64_t session_id) {
  return absl::StrCat(
      "v=0\r\no=- ", session_id, " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
      "a=group:BUNDLE audio\r\na=msid-semantic: WMS\r\n",
      "m=audio 9 UDP/TLS/RTP/SAVPF 111 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n",
      "a=ice-ufrag:", offer ? "oFfR" : "aNsW", session_id % 10000, "\r\n",
      "a=ice-pwd:metasimpassword", session_id % 100000, "xxxxxxxxxx\r\n", "a=fingerprint:sha-256 ",
      "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:"
      "12:DF\r\n",
      "a=setup:", offer ? "actpass" : "active", "\r\n", "a=mid:audio\r\na=sendrecv\r\n",
      "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n",
      "a=rtpmap:126 telephone-event/8000\r\n");
}

}  // namespace switchboard::metasim

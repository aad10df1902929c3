#include "services/webhooks/rules/parse.h"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/api/contact.h"
#include "libs/core/error.h"

namespace switchboard::webhooks {
namespace {

using json = nlohmann::json;
using Skipped = std::map<std::string, int>;

// Epoch seconds Meta may send; anything outside is treated as absent (and counted).
constexpr int64_t kMinEpoch = 946684800;   // 2000-01-01
constexpr int64_t kMaxEpoch = 4102444800;  // 2100-01-01
constexpr size_t kMaxRawValueBytes = 64 * 1024;

const json* Get(const json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

const json& Object(const json& obj, const char* name) {
  static const json kEmpty = json::object();
  const json* v = Get(obj, name);
  return v != nullptr && v->is_object() ? *v : kEmpty;
}

const json& Array(const json& obj, const char* name) {
  static const json kEmpty = json::array();
  const json* v = Get(obj, name);
  return v != nullptr && v->is_array() ? *v : kEmpty;
}

// Strings as they are; numbers in decimal (Meta sends some ids and times either way).
std::string Str(const json& obj, const char* name) {
  const json* v = Get(obj, name);
  if (v == nullptr) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer()) return absl::StrCat(v->get<int64_t>());
  if (v->is_number_unsigned()) return absl::StrCat(v->get<uint64_t>());
  return "";
}

std::optional<int64_t> Int(const json& obj, const char* name) {
  const json* v = Get(obj, name);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_unsigned() && v->get<uint64_t>() <= INT64_MAX) {
    return static_cast<int64_t>(v->get<uint64_t>());
  }
  int64_t out;
  if (v->is_string() && absl::SimpleAtoi(v->get<std::string>(), &out)) return out;
  return std::nullopt;
}

bool Bool(const json& obj, const char* name) {
  const json* v = Get(obj, name);
  if (v == nullptr) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) return v->get<std::string>() == "true";
  return false;
}

// Sets `*out` from an epoch-seconds field when present and plausible.
void SetTime(const json& obj, const char* name, google::protobuf::Timestamp* out,
             Skipped& skipped) {
  if (Get(obj, name) == nullptr) return;
  std::optional<int64_t> s = Int(obj, name);
  if (!s.has_value() || *s < kMinEpoch || *s > kMaxEpoch) {
    skipped["invalid_time"]++;
    return;
  }
  out->set_seconds(*s);
}

void CountUnknown(const json& obj, std::initializer_list<absl::string_view> known,
                  Skipped& skipped) {
  if (!obj.is_object()) return;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool found = false;
    for (absl::string_view k : known) found = found || it.key() == k;
    if (!found) skipped["unknown_field"]++;
  }
}

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

std::string DigitsOnly(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (absl::ascii_isdigit(c)) out.push_back(c);
  }
  return out;
}

// Everything the change's value says about one user.
events::v1::ContactRef Contact(const json& value, const std::string& number,
                               const std::string& user_id) {
  events::v1::ContactRef ref;
  if (AllDigits(number)) {
    ref.set_wa_id(number);
    if (number.size() >= 6 && number.size() <= 15) ref.set_phone_e164("+" + number);
  }
  ref.set_user_id(user_id);
  const json& contacts = Array(value, "contacts");
  for (const json& c : contacts) {
    std::string wa_id = Str(c, "wa_id");
    std::string uid = Str(c, "user_id");
    bool match = (!number.empty() && wa_id == number) || (!user_id.empty() && uid == user_id) ||
                 contacts.size() == 1;
    if (!match) continue;
    if (ref.wa_id().empty() && AllDigits(wa_id)) {
      ref.set_wa_id(wa_id);
      if (wa_id.size() >= 6 && wa_id.size() <= 15) ref.set_phone_e164("+" + wa_id);
    }
    if (ref.user_id().empty()) ref.set_user_id(uid);
    ref.set_display_name(Str(Object(c, "profile"), "name"));
    break;
  }
  return ref;
}

v1::CallDirection Direction(absl::string_view d) {
  if (d == "USER_INITIATED") return v1::CALL_DIRECTION_USER_INITIATED;
  if (d == "BUSINESS_INITIATED") return v1::CALL_DIRECTION_BUSINESS_INITIATED;
  return v1::CALL_DIRECTION_UNSPECIFIED;
}

struct Change {
  std::string waba_id;
  std::string phone_number_id;
  std::string display_phone_number;
  // entry.time: when Meta made the change, for the account-level fields that carry no time of
  // their own (quality and account updates); unset when absent.
  google::protobuf::Timestamp entry_time;
  const json* value;
};

v1::WhatsAppEvent Base(const Change& c) {
  v1::WhatsAppEvent e;
  e.set_phone_number_id(c.phone_number_id);
  e.set_display_phone_number(c.display_phone_number);
  e.set_waba_id(c.waba_id);
  if (c.entry_time.seconds() != 0) *e.mutable_meta_event_time() = c.entry_time;
  return e;
}

void ParseCall(const Change& c, const json& call, Parsed& out) {
  CountUnknown(call,
               {"id", "to", "from", "event", "timestamp", "direction", "session", "status",
                "start_time", "end_time", "duration", "errors", "biz_opaque_callback_data",
                "from_user_id", "to_user_id", "type"},
               out.skipped);
  std::string id = Str(call, "id");
  std::string event = Str(call, "event");
  if (id.empty() || event.empty()) {
    out.skipped["invalid_item"]++;
    return;
  }
  v1::CallDirection direction = Direction(Str(call, "direction"));
  std::string from = Str(call, "from");
  std::string to = Str(call, "to");
  if (direction == v1::CALL_DIRECTION_UNSPECIFIED && !c.display_phone_number.empty()) {
    std::string business = DigitsOnly(c.display_phone_number);
    if (from == business) direction = v1::CALL_DIRECTION_BUSINESS_INITIATED;
    if (to == business) direction = v1::CALL_DIRECTION_USER_INITIATED;
  }
  bool business_called = direction == v1::CALL_DIRECTION_BUSINESS_INITIATED;
  events::v1::ContactRef contact =
      Contact(*c.value, business_called ? to : from,
              Str(call, business_called ? "to_user_id" : "from_user_id"));

  Item item;
  item.event = Base(c);
  SetTime(call, "timestamp", item.event.mutable_meta_event_time(), out.skipped);
  if (event == "connect") {
    auto* e = item.event.mutable_call_connected();
    e->set_meta_call_id(id);
    e->set_direction(direction);
    e->set_from(from);
    e->set_to(to);
    const json& session = Object(call, "session");
    std::string sdp_type = Str(session, "sdp_type");
    e->set_sdp_type(sdp_type == "offer"    ? v1::SDP_TYPE_OFFER
                    : sdp_type == "answer" ? v1::SDP_TYPE_ANSWER
                                           : v1::SDP_TYPE_UNSPECIFIED);
    e->set_sdp(Str(session, "sdp"));
    *e->mutable_contact() = std::move(contact);
  } else if (event == "terminate") {
    auto* e = item.event.mutable_call_terminated();
    e->set_meta_call_id(id);
    e->set_direction(direction);
    std::string status = absl::AsciiStrToUpper(Str(call, "status"));
    e->set_status(status == "COMPLETED" ? v1::TERMINATE_STATUS_COMPLETED
                  : status == "FAILED"  ? v1::TERMINATE_STATUS_FAILED
                                        : v1::TERMINATE_STATUS_UNSPECIFIED);
    SetTime(call, "start_time", e->mutable_start_time(), out.skipped);
    SetTime(call, "end_time", e->mutable_end_time(), out.skipped);
    if (!e->start_time().seconds()) e->clear_start_time();
    if (!e->end_time().seconds()) e->clear_end_time();
    if (std::optional<int64_t> d = Int(call, "duration");
        d.has_value() && *d >= 0 && *d <= 7 * 24 * 3600) {
      e->mutable_duration()->set_seconds(*d);
    }
    for (const json& err : Array(call, "errors")) {
      auto* m = e->add_errors();
      m->set_code(static_cast<int32_t>(Int(err, "code").value_or(0)));
      m->set_title(Str(err, "title"));
      m->set_message(Str(err, "message"));
      m->set_details(Str(Object(err, "error_data"), "details"));
    }
    e->set_biz_opaque_callback_data(Str(call, "biz_opaque_callback_data"));
    e->set_from(from);
    e->set_to(to);
    *e->mutable_contact() = std::move(contact);
  } else {
    out.skipped["unknown_call_event"]++;
    return;
  }
  if (!item.event.meta_event_time().seconds()) item.event.clear_meta_event_time();
  item.event.mutable_header()->set_entity_id(id);
  item.event_id = absl::StrCat(id, "/", absl::AsciiStrToLower(event));
  out.items.push_back(std::move(item));
}

void ParseStatus(const Change& c, const json& status, Parsed& out) {
  if (Str(status, "type") != "call") {
    // Delivery receipts of our own messages (sent, delivered, read): not call events.
    out.skipped["message_status"]++;
    return;
  }
  CountUnknown(status,
               {"id", "type", "status", "timestamp", "recipient_id", "biz_opaque_callback_data",
                "recipient_user_id", "errors"},
               out.skipped);
  std::string id = Str(status, "id");
  std::string s = absl::AsciiStrToUpper(Str(status, "status"));
  v1::CallStatus cs = s == "RINGING"    ? v1::CALL_STATUS_RINGING
                      : s == "ACCEPTED" ? v1::CALL_STATUS_ACCEPTED
                      : s == "REJECTED" ? v1::CALL_STATUS_REJECTED
                                        : v1::CALL_STATUS_UNSPECIFIED;
  if (id.empty()) {
    out.skipped["invalid_item"]++;
    return;
  }
  if (cs == v1::CALL_STATUS_UNSPECIFIED) {
    out.skipped["unknown_call_status"]++;
    return;
  }
  Item item;
  item.event = Base(c);
  SetTime(status, "timestamp", item.event.mutable_meta_event_time(), out.skipped);
  if (!item.event.meta_event_time().seconds()) item.event.clear_meta_event_time();
  auto* e = item.event.mutable_call_status_updated();
  e->set_meta_call_id(id);
  e->set_status(cs);
  std::string recipient = Str(status, "recipient_id");
  e->set_recipient_id(recipient);
  *e->mutable_contact() = Contact(*c.value, recipient, Str(status, "recipient_user_id"));
  e->set_biz_opaque_callback_data(Str(status, "biz_opaque_callback_data"));
  item.event.mutable_header()->set_entity_id(id);
  item.event_id = absl::StrCat(id, "/", absl::AsciiStrToLower(s));
  out.items.push_back(std::move(item));
}

void ParseMessage(const Change& c, const json& message, Parsed& out) {
  CountUnknown(
      message,
      {"id",       "from",         "timestamp", "type",   "text",     "interactive", "button",
       "context",  "from_user_id", "image",     "audio",  "video",    "document",    "sticker",
       "location", "contacts",     "reaction",  "errors", "referral", "system",      "order"},
      out.skipped);
  std::string id = Str(message, "id");
  std::string from = Str(message, "from");
  std::string from_user_id = Str(message, "from_user_id");
  if (id.empty() || (from.empty() && from_user_id.empty())) {
    out.skipped["invalid_item"]++;
    return;
  }
  events::v1::ContactRef contact = Contact(*c.value, from, from_user_id);
  std::string type = Str(message, "type");
  const json& interactive = Object(message, "interactive");
  Item item;
  item.event = Base(c);
  SetTime(message, "timestamp", item.event.mutable_meta_event_time(), out.skipped);
  if (!item.event.meta_event_time().seconds()) item.event.clear_meta_event_time();

  if (type == "interactive" && Str(interactive, "type") == "call_permission_reply") {
    const json& reply = Object(interactive, "call_permission_reply");
    std::string response = absl::AsciiStrToLower(Str(reply, "response"));
    std::string source = absl::AsciiStrToLower(Str(reply, "response_source"));
    auto* e = item.event.mutable_call_permission_reply();
    e->set_meta_message_id(id);
    *e->mutable_contact() = contact;
    e->set_response(response == "accept"   ? v1::PERMISSION_RESPONSE_ACCEPT
                    : response == "reject" ? v1::PERMISSION_RESPONSE_REJECT
                                           : v1::PERMISSION_RESPONSE_UNSPECIFIED);
    if (e->response() == v1::PERMISSION_RESPONSE_UNSPECIFIED) {
      out.skipped["invalid_item"]++;
      return;
    }
    e->set_is_permanent(Bool(reply, "is_permanent"));
    if (!e->is_permanent()) {
      SetTime(reply, "expiration_timestamp", e->mutable_expiration_time(), out.skipped);
      if (!e->expiration_time().seconds()) e->clear_expiration_time();
    }
    e->set_response_source(source == "user_action" ? v1::RESPONSE_SOURCE_USER_ACTION
                           : source == "automatic" ? v1::RESPONSE_SOURCE_AUTOMATIC
                                                   : v1::RESPONSE_SOURCE_UNSPECIFIED);
    if (item.event.has_meta_event_time()) {
      *e->mutable_message_time() = item.event.meta_event_time();
    }
  } else {
    auto* e = item.event.mutable_inbound_message();
    e->set_meta_message_id(id);
    *e->mutable_contact() = contact;
    e->set_type(type);
    if (type == "text") {
      e->set_text(Str(Object(message, "text"), "body"));
    } else if (type == "button") {
      e->set_text(Str(Object(message, "button"), "text"));
    } else if (type == "interactive") {
      std::string kind = Str(interactive, "type");
      if (kind == "button_reply" || kind == "list_reply") {
        e->set_text(Str(Object(interactive, kind.c_str()), "title"));
      }
    }
    if (item.event.has_meta_event_time()) {
      *e->mutable_message_time() = item.event.meta_event_time();
    }
    e->set_context_meta_message_id(Str(Object(message, "context"), "id"));
  }
  std::string key = api::ContactKey(contact);
  item.event.mutable_header()->set_entity_id(key);
  item.event_id = id;
  out.items.push_back(std::move(item));
}

// An id for an item Meta gives no id of its own: its WABA, field, value and, when Meta says it,
// when the change was made (the same rating can come back later, and is then a new change).
std::string HashId(absl::string_view prefix, const Change& c, absl::string_view field,
                   const json& value) {
  // nlohmann's objects keep keys sorted, so dump() is canonical for equal values.
  std::string canonical =
      absl::StrCat(c.waba_id, "\n", field, "\n", value.dump(), "\n", c.entry_time.seconds());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
  return absl::StrCat(prefix, "/",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(digest), SHA256_DIGEST_LENGTH / 2)));
}

v1::QualityRating Rating(absl::string_view r) {
  std::string up = absl::AsciiStrToUpper(r);
  if (up == "GREEN" || up == "HIGH") return v1::QUALITY_RATING_GREEN;
  if (up == "YELLOW" || up == "MEDIUM") return v1::QUALITY_RATING_YELLOW;
  if (up == "RED" || up == "LOW") return v1::QUALITY_RATING_RED;
  return v1::QUALITY_RATING_UNSPECIFIED;
}

void ParseAccountUpdate(const Change& c, const json& value, Parsed& out) {
  Item item;
  item.event = Base(c);
  item.event.set_phone_number_id(
      Str(value, "phone_number_id").empty() ? c.phone_number_id : Str(value, "phone_number_id"));
  if (item.event.display_phone_number().empty()) {
    item.event.set_display_phone_number(Str(value, "phone_number"));
  }
  auto* e = item.event.mutable_account_update();
  e->set_event(Str(value, "event"));
  for (const json& r : Array(value, "restriction_info")) {
    auto* info = e->add_restriction_info();
    info->set_restriction_type(Str(r, "restriction_type"));
    SetTime(r, "expiration", info->mutable_expiration_time(), out.skipped);
    if (!info->expiration_time().seconds()) info->clear_expiration_time();
  }
  std::string raw = value.dump();
  if (raw.size() <= kMaxRawValueBytes) e->set_raw_value_json(std::move(raw));
  const std::string& entity =
      item.event.phone_number_id().empty() ? c.waba_id : item.event.phone_number_id();
  item.event.mutable_header()->set_entity_id(entity);
  item.event_id = HashId("account_update", c, "account_update", value);
  out.items.push_back(std::move(item));
}

void ParseQualityUpdate(const Change& c, const json& value, Parsed& out) {
  CountUnknown(
      value,
      {"display_phone_number", "event", "current_limit", "quality_rating", "old_quality_rating",
       "new_quality_rating", "phone_number_id", "max_daily_conversation_per_phone",
       "max_daily_conversations_per_business", "old_limit"},
      out.skipped);
  Item item;
  item.event = Base(c);
  if (item.event.display_phone_number().empty()) {
    item.event.set_display_phone_number(Str(value, "display_phone_number"));
  }
  if (!Str(value, "phone_number_id").empty()) {
    item.event.set_phone_number_id(Str(value, "phone_number_id"));
  }
  auto* e = item.event.mutable_quality_update();
  std::string event = Str(value, "event");
  e->set_event(event);
  v1::QualityRating rating = Rating(Str(value, "new_quality_rating"));
  if (rating == v1::QUALITY_RATING_UNSPECIFIED) rating = Rating(Str(value, "quality_rating"));
  if (rating == v1::QUALITY_RATING_UNSPECIFIED) {
    // Meta's FLAGGED means the number went to a low rating; UNFLAGGED back to high.
    std::string up = absl::AsciiStrToUpper(event);
    if (up == "FLAGGED") rating = v1::QUALITY_RATING_RED;
    if (up == "UNFLAGGED") rating = v1::QUALITY_RATING_GREEN;
  }
  e->set_quality_rating(rating);
  e->set_previous_quality_rating(Rating(Str(value, "old_quality_rating")));
  e->set_current_limit(Str(value, "current_limit"));
  const std::string& entity =
      item.event.phone_number_id().empty() ? c.waba_id : item.event.phone_number_id();
  item.event.mutable_header()->set_entity_id(entity);
  item.event_id = HashId("quality_update", c, "phone_number_quality_update", value);
  out.items.push_back(std::move(item));
}

}  // namespace

absl::StatusOr<Parsed> ParseWebhook(absl::string_view body) {
  json root = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return core::InvalidArgument("MALFORMED_JSON", "the body is not valid JSON");
  }
  if (!root.is_object() || Get(root, "object") == nullptr || Get(root, "entry") == nullptr ||
      !root["entry"].is_array()) {
    return core::InvalidArgument("NOT_A_WEBHOOK", "expected {\"object\": ..., \"entry\": [...]}");
  }
  Parsed out;
  if (Str(root, "object") != "whatsapp_business_account") {
    out.skipped["unknown_object"]++;
    return out;
  }
  for (const json& entry : root["entry"]) {
    Change c;
    c.waba_id = Str(entry, "id");
    SetTime(entry, "time", &c.entry_time, out.skipped);
    for (const json& change : Array(entry, "changes")) {
      std::string field = Str(change, "field");
      const json* value = Get(change, "value");
      if (value == nullptr || !value->is_object()) {
        out.skipped["invalid_item"]++;
        continue;
      }
      const json& metadata = Object(*value, "metadata");
      c.phone_number_id = Str(metadata, "phone_number_id");
      c.display_phone_number = Str(metadata, "display_phone_number");
      c.value = value;
      if (field == "calls" || field == "messages") {
        CountUnknown(*value,
                     {"messaging_product", "metadata", "contacts", "calls", "statuses", "messages",
                      "errors"},
                     out.skipped);
        for (const json& call : Array(*value, "calls")) ParseCall(c, call, out);
        for (const json& status : Array(*value, "statuses")) ParseStatus(c, status, out);
        for (const json& message : Array(*value, "messages")) ParseMessage(c, message, out);
      } else if (field == "account_update") {
        ParseAccountUpdate(c, *value, out);
      } else if (field == "phone_number_quality_update") {
        ParseQualityUpdate(c, *value, out);
      } else {
        out.skipped["unknown_field_kind"]++;
      }
    }
  }
  return out;
}

namespace {

// Pulls a time Meta put after `received` back to it. Takes the field's has/mutable pair so an
// absent time stays absent (calling mutable_* would create it).
template <typename Message>
bool Clamp(Message& m, bool (Message::*has)() const, google::protobuf::Timestamp* (Message::*mut)(),
           absl::Time received) {
  if (!(m.*has)()) return false;
  google::protobuf::Timestamp* t = (m.*mut)();
  const int64_t now = absl::ToUnixSeconds(received);
  if (t->seconds() < now || (t->seconds() == now && t->nanos() == 0)) return false;
  t->set_seconds(now);
  t->set_nanos(0);
  return true;
}

}  // namespace

bool ClampTimes(v1::WhatsAppEvent& e, absl::Time received) {
  bool clamped = Clamp(e, &v1::WhatsAppEvent::has_meta_event_time,
                       &v1::WhatsAppEvent::mutable_meta_event_time, received);
  switch (e.event_case()) {
    case v1::WhatsAppEvent::kInboundMessage: {
      auto* m = e.mutable_inbound_message();
      clamped |= Clamp(*m, &v1::InboundMessage::has_message_time,
                       &v1::InboundMessage::mutable_message_time, received);
      break;
    }
    case v1::WhatsAppEvent::kCallPermissionReply: {
      auto* r = e.mutable_call_permission_reply();
      clamped |= Clamp(*r, &v1::CallPermissionReply::has_message_time,
                       &v1::CallPermissionReply::mutable_message_time, received);
      break;
    }
    case v1::WhatsAppEvent::kCallTerminated: {
      auto* t = e.mutable_call_terminated();
      clamped |= Clamp(*t, &v1::CallTerminated::has_start_time,
                       &v1::CallTerminated::mutable_start_time, received);
      clamped |= Clamp(*t, &v1::CallTerminated::has_end_time, &v1::CallTerminated::mutable_end_time,
                       received);
      break;
    }
    default:
      break;
  }
  return clamped;
}

bool IsCallEvent(const v1::WhatsAppEvent& e) {
  return e.has_call_connected() || e.has_call_terminated() || e.has_call_status_updated();
}

}  // namespace switchboard::webhooks

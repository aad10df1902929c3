#include "tests/fuzz/random_request.h"

#include <cmath>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/id.h"

namespace switchboard::fuzzing {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int kMaxDepth = 6;

const char* const kWords[] = {"a", "hello", "Ana Souza", "agent-1", "note", "MISSED", "admin"};
const char* const kUnicode[] = {
    "Olá, tudo bem?", "नमस्ते, कृपया मुझे कॉल न करें", "Grüße", "😀📞", "ﷺ", "\u200b\u200e",
    "İstanbul",       "日本語のテキスト"};
const char* const kHostile[] = {"'; DROP TABLE calls; --",   "%s%s%n",           "${jndi:ldap://x}",
                                "=cmd|' /C calc'!A0",        "../../etc/passwd", "\\x00",
                                "<script>alert(1)</script>", "{\"$gt\": \"\"}"};
const char* const kFilters[] = {
    "state = MISSED",
    "state = BOGUS",
    "direction = INBOUND AND state = ENDED",
    "create_time >= \"2026-01-01T00:00:00Z\"",
    "create_time >= \"not a time\"",
    "contact = \"+5511966880100\"",
    "agent_id = \"agent-1\" OR agent_id = \"agent-2\"",
    "(((((((((((((((((((((((((state = MISSED)))))))))))))))))))))))))",
    "state = MISSED AND",
    "= = =",
    "duration > 99999999999999999999",
};
const char* const kZones[] = {"Europe/Berlin", "America/Sao_Paulo",     "UTC", "Mars/Olympus", "",
                              "Etc/GMT+14",    "../../../etc/localtime"};
const char* const kSdp =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

std::string Digits(std::mt19937_64& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
  if (!s.empty() && s[0] == '0') s[0] = '1';
  return s;
}

}  // namespace

RandomRequests::RandomRequests(uint64_t seed) : rng_(seed) {}

bool RandomRequests::Chance(double p) {
  return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
}

size_t RandomRequests::Index(size_t n) { return n == 0 ? 0 : rng_() % n; }

int64_t RandomRequests::Int(int64_t min, int64_t max) {
  return std::uniform_int_distribution<int64_t>(min, max)(rng_);
}

int64_t RandomRequests::ExtremeInt(bool is_signed, int bits) {
  const int64_t max =
      bits == 32 ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
  const int64_t min = !is_signed   ? 0
                      : bits == 32 ? std::numeric_limits<int32_t>::min()
                                   : std::numeric_limits<int64_t>::min();
  switch (Index(9)) {
    case 0:
      return 0;
    case 1:
      return 1;
    case 2:
      return is_signed ? -1 : max;
    case 3:
      return max;
    case 4:
      return min;
    case 5:
      return 100000;
    case 6:
      return Int(0, 100);
    case 7:
      return Int(is_signed ? -1000 : 0, 1000);
    default:
      return Int(min, max);
  }
}

double RandomRequests::ExtremeDouble() {
  switch (Index(8)) {
    case 0:
      return 0;
    case 1:
      return -0.0;
    case 2:
      return std::numeric_limits<double>::quiet_NaN();
    case 3:
      return std::numeric_limits<double>::infinity();
    case 4:
      return -std::numeric_limits<double>::infinity();
    case 5:
      return std::numeric_limits<double>::max();
    case 6:
      return std::numeric_limits<double>::denorm_min();
    default:
      return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
  }
}

std::string RandomRequests::HostileString() {
  switch (Index(12)) {
    case 0:
      return "";
    case 1:
      return kWords[Index(std::size(kWords))];
    case 2:
      return Digits(rng_, static_cast<int>(Int(1, 40)));
    case 3:
      return kUnicode[Index(std::size(kUnicode))];
    case 4:
      return kHostile[Index(std::size(kHostile))];
    case 5: {  // control characters and whitespace
      std::string s = "a";
      for (int i = 0; i < 6; ++i) s.push_back(static_cast<char>(Int(0, 31)));
      return s + " \t\r\n";
    }
    case 6: {  // long: up to 64 KiB of one multi-byte character or of ASCII
      std::string unit = Chance(0.5) ? "é" : "x";
      std::string s;
      const int64_t n = Chance(0.3) ? Int(4000, 70000) : Int(200, 5000);
      while (static_cast<int64_t>(s.size()) < n) s += unit;
      return s;
    }
    case 7:
      return std::string("nul\0inside", 10);
    case 8:
      return "   ";
    case 9:
      return core::NewId();
    case 10:
      return absl::StrCat("+", Digits(rng_, static_cast<int>(Int(1, 20))));
    default: {  // random bytes that are valid UTF-8: printable ASCII
      std::string s;
      const int64_t n = Int(1, 64);
      for (int64_t i = 0; i < n; ++i) s.push_back(static_cast<char>(Int(32, 126)));
      return s;
    }
  }
}

std::string RandomRequests::StringFor(const FieldDescriptor* f) {
  const std::string& name = f->name();
  const bool plausible = Chance(0.55);
  if (name == "business_phone_number_id" || name == "phone_number_id") {
    if (plausible && !hints_.numbers.empty()) return hints_.numbers[Index(hints_.numbers.size())];
    if (Chance(0.3) && !hints_.foreign_numbers.empty()) {
      return hints_.foreign_numbers[Index(hints_.foreign_numbers.size())];
    }
    return Chance(0.5) ? Digits(rng_, static_cast<int>(Int(1, 40))) : HostileString();
  }
  if (name == "request_id") {
    if (Chance(0.4)) return "";
    return plausible ? core::NewId() : HostileString();
  }
  if (name == "wa_id" || name == "user_wa_id") {
    auto known = hints_.ids.find("wa_id");
    if (plausible && known != hints_.ids.end() && !known->second.empty() && Chance(0.5)) {
      return known->second[Index(known->second.size())];
    }
    return plausible ? Digits(rng_, static_cast<int>(Int(8, 15))) : HostileString();
  }
  if (name == "phone_e164") {
    return plausible ? absl::StrCat("+55119", Digits(rng_, 8)) : HostileString();
  }
  if (name == "waba_id") return plausible ? Digits(rng_, 15) : HostileString();
  if (name == "display_phone_number") return plausible ? "+1 631-555-3601" : HostileString();
  if (name == "filter") {
    return plausible ? kFilters[Index(std::size(kFilters))] : HostileString();
  }
  if (name == "time_zone" || name == "timezone_id") {
    return plausible ? kZones[Index(std::size(kZones))] : HostileString();
  }
  if (name == "sdp") return plausible ? kSdp : HostileString();
  if (name == "language") return plausible ? (Chance(0.5) ? "pt-BR" : "xx") : HostileString();
  if (name == "currency" || name == "currency_code") {
    return plausible ? (Chance(0.5) ? "EUR" : "ZZZ") : HostileString();
  }
  if (absl::EndsWith(name, "_id") || name == "id") {
    auto known = hints_.ids.find(name);
    if (plausible && known != hints_.ids.end() && !known->second.empty()) {
      return known->second[Index(known->second.size())];
    }
    if (plausible && absl::StrContains(name, "agent")) return Chance(0.5) ? "agent-1" : "agent-2";
    return Chance(0.3) ? core::NewId() : HostileString();
  }
  if (name == "page_token") return Chance(0.7) ? "" : HostileString();
  return HostileString();
}

void RandomRequests::FillWellKnown(Message& m, const Message& parent) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  const std::string& type = d->full_name();
  if (type == "google.protobuf.Timestamp" || type == "google.protobuf.Duration") {
    const bool timestamp = type == "google.protobuf.Timestamp";
    const int64_t now = absl::ToUnixSeconds(absl::Now());
    int64_t seconds;
    switch (Index(9)) {
      case 0:
        seconds = 0;
        break;
      case 1:
        seconds = -1;
        break;
      case 2:
        seconds = std::numeric_limits<int64_t>::max();
        break;
      case 3:
        seconds = std::numeric_limits<int64_t>::min();
        break;
      case 4:
        seconds = 253402300800;
        break;  // year 10000
      case 5:
        seconds = timestamp ? now + Int(60, 86400 * 7) : Int(1, 3600);
        break;
      case 6:
        seconds = timestamp ? now - Int(60, 86400 * 400) : -Int(1, 3600);
        break;
      case 7:
        seconds = timestamp ? now + Int(86400 * 91, 86400 * 3650) : Int(3600, 1 << 30);
        break;
      default:
        seconds = timestamp ? now + Int(-86400, 86400) : Int(0, 120);
        break;
    }
    int32_t nanos = 0;
    switch (Index(5)) {
      case 0:
        nanos = 999999999;
        break;
      case 1:
        nanos = 1000000000;
        break;
      case 2:
        nanos = -1;
        break;
      case 3:
        nanos = static_cast<int32_t>(Int(0, 999999999));
        break;
      default:
        break;
    }
    r->SetInt64(&m, d->FindFieldByName("seconds"), seconds);
    r->SetInt32(&m, d->FindFieldByName("nanos"), nanos);
    return;
  }
  if (type == "google.protobuf.FieldMask") {
    // Paths naming the fields of the request's messages (the thing being updated), nested
    // paths, and nonsense.
    std::vector<std::string> names;
    const Descriptor* pd = parent.GetDescriptor();
    for (int i = 0; i < pd->field_count(); ++i) {
      const FieldDescriptor* f = pd->field(i);
      if (f->type() != FieldDescriptor::TYPE_MESSAGE || f->message_type() == d) continue;
      const Descriptor* target = f->message_type();
      for (int j = 0; j < target->field_count(); ++j) {
        names.push_back(target->field(j)->name());
        if (target->field(j)->type() == FieldDescriptor::TYPE_MESSAGE) {
          const Descriptor* inner = target->field(j)->message_type();
          for (int k = 0; k < inner->field_count(); ++k) {
            names.push_back(absl::StrCat(target->field(j)->name(), ".", inner->field(k)->name()));
          }
        }
      }
    }
    const FieldDescriptor* paths = d->FindFieldByName("paths");
    const int64_t n = Chance(0.2) ? 0 : Int(1, 4);
    for (int64_t i = 0; i < n; ++i) {
      r->AddString(&m, paths,
                   !names.empty() && Chance(0.75) ? names[Index(names.size())] : HostileString());
    }
    return;
  }
  Fill(m, kMaxDepth - 1);
}

void RandomRequests::SetField(Message& m, const FieldDescriptor* f, int depth) {
  const Reflection* r = m.GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      r->SetInt32(&m, f, static_cast<int32_t>(ExtremeInt(true, 32)));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      r->SetInt64(&m, f, ExtremeInt(true, 64));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      r->SetUInt32(&m, f, static_cast<uint32_t>(ExtremeInt(false, 32)));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      r->SetUInt64(&m, f, static_cast<uint64_t>(ExtremeInt(false, 64)));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      r->SetDouble(&m, f, ExtremeDouble());
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      r->SetFloat(&m, f, static_cast<float>(ExtremeDouble()));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      r->SetBool(&m, f, Chance(0.5));
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = f->enum_type();
      if (Chance(0.65)) {
        r->SetEnumValue(&m, f, e->value(static_cast<int>(Index(e->value_count())))->number());
      } else {  // open enums take any number
        r->SetEnumValue(&m, f, static_cast<int>(ExtremeInt(true, 32)));
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        std::string b;
        const int64_t n = Int(0, 256);
        for (int64_t i = 0; i < n; ++i) b.push_back(static_cast<char>(rng_()));
        r->SetString(&m, f, b);
      } else {
        r->SetString(&m, f, StringFor(f));
      }
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message* child = r->MutableMessage(&m, f);
      if (absl::StartsWith(f->message_type()->full_name(), "google.protobuf.")) {
        FillWellKnown(*child, m);
      } else {
        Fill(*child, depth + 1);
      }
      break;
    }
  }
}

void RandomRequests::AddField(Message& m, const FieldDescriptor* f, int depth) {
  const Reflection* r = m.GetReflection();
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    Message* child = r->AddMessage(&m, f);
    if (absl::StartsWith(f->message_type()->full_name(), "google.protobuf.")) {
      FillWellKnown(*child, m);
    } else {
      Fill(*child, depth + 1);
    }
    return;
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      r->AddInt32(&m, f, static_cast<int32_t>(ExtremeInt(true, 32)));
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      r->AddInt64(&m, f, ExtremeInt(true, 64));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      r->AddUInt32(&m, f, static_cast<uint32_t>(ExtremeInt(false, 32)));
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      r->AddUInt64(&m, f, static_cast<uint64_t>(ExtremeInt(false, 64)));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      r->AddDouble(&m, f, ExtremeDouble());
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      r->AddFloat(&m, f, static_cast<float>(ExtremeDouble()));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      r->AddBool(&m, f, Chance(0.5));
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* e = f->enum_type();
      r->AddEnumValue(&m, f,
                      Chance(0.65) ? e->value(static_cast<int>(Index(e->value_count())))->number()
                                   : static_cast<int>(ExtremeInt(true, 32)));
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      r->AddString(&m, f, StringFor(f));
      break;
    default:
      break;
  }
}

void RandomRequests::Fill(Message& m, int depth) {
  const Descriptor* d = m.GetDescriptor();
  const bool top = depth == 0;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    // Top-level fields are usually set (they are what the method reads); deeper ones less
    // often, so messages stay finite.
    const double p = top ? 0.8 : 0.6 / depth;
    if (!Chance(p) || depth >= kMaxDepth) continue;
    if (f->is_repeated()) {
      int64_t n = Int(1, 3);
      if (Chance(0.08) && depth <= 1) n = Int(50, 1200);  // long repeats
      for (int64_t k = 0; k < n; ++k) AddField(m, f, depth);
    } else {
      SetField(m, f, depth);  // a later member of a oneof replaces an earlier one
    }
  }
}

std::unique_ptr<Message> RandomRequests::Make(const Descriptor* type) {
  std::unique_ptr<Message> m(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
  Fill(*m, 0);
  return m;
}

void RandomRequests::Learn(const Message& response) {
  const Descriptor* d = response.GetDescriptor();
  const Reflection* r = response.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->type() == FieldDescriptor::TYPE_STRING && !f->is_repeated() &&
        (absl::EndsWith(f->name(), "_id") || f->name() == "wa_id")) {
      std::string v = r->GetString(response, f);
      auto& pool = hints_.ids[f->name()];
      if (!v.empty() && pool.size() < 200) pool.push_back(std::move(v));
    } else if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (f->is_repeated()) {
        const int n = std::min(r->FieldSize(response, f), 20);
        for (int k = 0; k < n; ++k) Learn(r->GetRepeatedMessage(response, f, k));
      } else if (r->HasField(response, f)) {
        Learn(r->GetMessage(response, f));
      }
    }
  }
}

}  // namespace switchboard::fuzzing

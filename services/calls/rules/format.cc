#include "services/calls/rules/format.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "libs/core/proto_time.h"

namespace switchboard::calls::format {
namespace {

constexpr uint64_t kMicrosPerUnit = 1'000'000;

// "UTC", "Etc/UTC", "Etc/GMT": a fixed zero offset. A zone that is merely at +00:00 for part of
// the year (Europe/London in winter) keeps the explicit offset, so its column reads the same
// way all year.
bool IsUtc(const absl::TimeZone& zone) {
  absl::TimeZone::CivilTransition transition;
  return zone.At(absl::UnixEpoch()).offset == 0 &&
         !zone.NextTransition(absl::InfinitePast(), &transition);
}

// The enum name without its prefix: "CALL_STATE_MISSED" -> "MISSED".
absl::string_view Bare(const std::string& name, absl::string_view prefix) {
  absl::string_view view = name;  // the generated names live as long as the program
  absl::ConsumePrefix(&view, prefix);
  return view;
}

// `n` (>= 0) as at least `width` digits.
void AppendPadded(int64_t n, int width, std::string* out) {
  char digits[20];
  int len = 0;
  do {
    digits[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n > 0);
  for (int i = len; i < width; ++i) out->push_back('0');
  while (len > 0) out->push_back(digits[--len]);
}

// RFC 3339 at second precision; `utc` says the zone is UTC itself (then "Z"). Written by hand:
// the export formats three times per row, and absl::FormatTime parses its format every time.
void AppendRfc3339(absl::Time t, const absl::TimeZone& zone, bool utc, std::string* out) {
  const absl::TimeZone::CivilInfo info = zone.At(t);
  const absl::CivilSecond& cs = info.cs;
  if (cs.year() < 0 || cs.year() > 9999) {
    absl::StrAppend(out, cs.year());
  } else {
    AppendPadded(cs.year(), 4, out);
  }
  out->push_back('-');
  AppendPadded(cs.month(), 2, out);
  out->push_back('-');
  AppendPadded(cs.day(), 2, out);
  out->push_back('T');
  AppendPadded(cs.hour(), 2, out);
  out->push_back(':');
  AppendPadded(cs.minute(), 2, out);
  out->push_back(':');
  AppendPadded(cs.second(), 2, out);
  if (utc) {
    out->push_back('Z');
    return;
  }
  int offset_minutes = info.offset / 60;
  out->push_back(offset_minutes < 0 ? '-' : '+');
  offset_minutes = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  AppendPadded(offset_minutes / 60, 2, out);
  out->push_back(':');
  AppendPadded(offset_minutes % 60, 2, out);
}

void AppendTime(const google::protobuf::Timestamp& t, bool set, const absl::TimeZone& zone,
                bool utc, std::string* out) {
  // No cell of ours needs quoting or the formula guard: digits, '-', ':', 'T', 'Z', '+'.
  if (set) AppendRfc3339(core::FromProto(t), zone, utc, out);
}

}  // namespace

std::string Duration(absl::Duration d) {
  std::string out;
  if (d < absl::ZeroDuration()) return "00:00";
  const int64_t total = absl::ToInt64Seconds(d);  // truncates the fraction
  const int64_t hours = total / 3600;
  if (hours > 0) {
    AppendPadded(hours, 1, &out);
    out.push_back(':');
  }
  AppendPadded(total / 60 % 60, 2, &out);
  out.push_back(':');
  AppendPadded(total % 60, 2, &out);
  return out;
}

std::string Amount(int64_t micros) {
  // Unsigned, so that the magnitude of INT64_MIN is representable.
  const uint64_t magnitude =
      micros < 0 ? ~static_cast<uint64_t>(micros) + 1 : static_cast<uint64_t>(micros);
  std::string fraction = absl::StrFormat("%06d", magnitude % kMicrosPerUnit);
  while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
  return absl::StrCat(micros < 0 ? "-" : "", magnitude / kMicrosPerUnit, ".", fraction);
}

std::string Time(absl::Time t, const absl::TimeZone& zone) {
  std::string out;
  AppendRfc3339(t, zone, IsUtc(zone), &out);
  return out;
}

namespace {

// "+5511966881746", "-1.50": a signed decimal number, which a spreadsheet reads as a number and
// nothing else.
bool IsPlainNumber(absl::string_view v) {
  if (v.size() < 2 || (v[0] != '+' && v[0] != '-')) return false;
  bool digit = false, dot = false;
  for (char c : v.substr(1)) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digit;
}

}  // namespace

void AppendCsvField(absl::string_view value, std::string* out) {
  const bool formula = !value.empty() && !IsPlainNumber(value) &&
                       (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                        value[0] == '\t' || value[0] == '\r');
  bool quote = false;
  for (char c : value) {
    if (c == ',' || c == '"' || c == '\r' || c == '\n') {
      quote = true;
      break;
    }
  }
  if (!quote) {
    if (formula) out->push_back('\'');
    out->append(value.data(), value.size());
    return;
  }
  out->push_back('"');
  if (formula) out->push_back('\'');
  for (char c : value) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendCsvHeader(std::string* out) {
  absl::StrAppend(out,
                  "call_id,direction,state,contact_name,contact_phone,contact_wa_id,"
                  "business_number,agent_id,offered_time,answered_time,ended_time,duration,"
                  "duration_seconds,cost,currency,end_reason\r\n");
}

void AppendCsvRow(const v1::Call& call, const absl::TimeZone& zone, std::string* out) {
  auto field = [out](absl::string_view value) {
    AppendCsvField(value, out);
    out->push_back(',');
  };
  field(call.call_id());
  field(Bare(v1::CallDirection_Name(call.direction()), "CALL_DIRECTION_"));
  field(Bare(v1::CallState_Name(call.state()), "CALL_STATE_"));
  field(call.contact().display_name());
  field(call.contact().phone_e164());
  field(call.contact().wa_id());
  field(call.business_display_number().empty() ? call.business_phone_number_id()
                                               : call.business_display_number());
  field(call.answered_by_agent_id());
  const bool utc = IsUtc(zone);
  AppendTime(call.offered_time(), call.has_offered_time(), zone, utc, out);
  out->push_back(',');
  AppendTime(call.answered_time(), call.has_answered_time(), zone, utc, out);
  out->push_back(',');
  AppendTime(call.ended_time(), call.has_ended_time(), zone, utc, out);
  out->push_back(',');
  const absl::Duration duration = core::FromProto(call.duration());
  field(Duration(duration));
  // The numbers below are ours, never user text: written as they are, since the formula guard
  // would turn a credit ("-1.50") into text a spreadsheet cannot add up.
  absl::StrAppend(out, std::max<int64_t>(0, absl::ToInt64Seconds(duration)), ",");
  if (call.has_cost()) {
    absl::StrAppend(out, Amount(call.cost().amount_micros()), ",");
    field(call.cost().currency_code());
  } else {
    absl::StrAppend(out, ",,");
  }
  AppendCsvField(call.end_reason(), out);
  absl::StrAppend(out, "\r\n");
}

}  // namespace switchboard::calls::format

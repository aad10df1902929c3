#include "services/calls/format.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "libs/core/proto_time.h"

namespace switchboard::calls::format {
namespace {

constexpr uint64_t kMicrosPerUnit = 1'000'000;

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

// "UTC", "Etc/UTC", "Etc/GMT": a fixed zero offset. A zone that is merely at +00:00 for part of
// the year (Europe/London in winter) keeps the explicit offset, so its column reads the same
// way all year.
bool IsUtc(const absl::TimeZone& zone) {
  absl::TimeZone::CivilTransition transition;
  return zone.At(absl::UnixEpoch()).offset == 0 &&
         !zone.NextTransition(absl::InfinitePast(), &transition);
}

// The enum name without its prefix: "CALL_STATE_MISSED" -> "MISSED".
std::string Bare(const std::string& name, absl::string_view prefix) {
  absl::string_view view = name;
  absl::ConsumePrefix(&view, prefix);
  return std::string(view);
}

void AppendTime(const google::protobuf::Timestamp& t, bool set, const absl::TimeZone& zone,
                std::string* out) {
  if (set) AppendCsvField(Time(core::FromProto(t), zone), out);
}

}  // namespace

std::string Duration(absl::Duration d) {
  if (d < absl::ZeroDuration()) return "00:00";
  const int64_t total = absl::ToInt64Seconds(d);  // truncates the fraction
  const int64_t hours = total / 3600;
  const int64_t minutes = total / 60 % 60;
  const int64_t seconds = total % 60;
  if (hours > 0) return absl::StrFormat("%d:%02d:%02d", hours, minutes, seconds);
  return absl::StrFormat("%02d:%02d", minutes, seconds);
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
  if (IsUtc(zone)) return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", t, zone);
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%S%Ez", t, zone);
}

void AppendCsvField(absl::string_view value, std::string* out) {
  std::string cell;
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                         value[0] == '\t' || value[0] == '\r')) {
    cell.push_back('\'');
  }
  absl::StrAppend(&cell, value);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) {
    absl::StrAppend(out, cell);
    return;
  }
  out->push_back('"');
  for (char c : cell) {
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
  AppendTime(call.offered_time(), call.has_offered_time(), zone, out);
  out->push_back(',');
  AppendTime(call.answered_time(), call.has_answered_time(), zone, out);
  out->push_back(',');
  AppendTime(call.ended_time(), call.has_ended_time(), zone, out);
  out->push_back(',');
  const absl::Duration duration = FromProto(call.duration());
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

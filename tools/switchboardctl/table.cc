#include "tools/switchboardctl/table.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/money.h"
#include "libs/core/proto_time.h"
#include "services/calls/rules/format.h"

namespace switchboard::cli {

std::string Short(const std::string& name, absl::string_view prefix) {
  return absl::StartsWith(name, prefix) ? name.substr(prefix.size()) : name;
}

std::string Cell(absl::string_view s, size_t width) {
  auto starts = [&](size_t i) { return (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80; };
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) chars += starts(i) ? 1 : 0;
  if (chars <= width) return absl::StrCat(s, std::string(width - chars, ' '));
  size_t kept = 0, i = 0;
  for (; i < s.size(); ++i) {
    if (starts(i) && kept++ == width - 1) break;
  }
  return absl::StrCat(s.substr(0, i), "…");
}

std::string Or(const std::string& value, const char* fallback) {
  return value.empty() ? fallback : value;
}

std::string Percent(int32_t bps) {
  int32_t tenths = (bps + 5) / 10;
  return absl::StrCat(tenths / 10, ".", tenths % 10, " %");
}

std::string Amount(const events::v1::Money& m) {
  return core::Money(m.amount_micros(), m.currency_code().empty() ? "USD" : m.currency_code())
      .ToString();
}

std::string TalkTime(const google::protobuf::Duration& d) {
  // Whole seconds, as the API keeps them: a fraction would be dropped anyway.
  return calls::format::Duration(absl::Seconds(d.seconds()));
}

std::string LocalTime(const google::protobuf::Timestamp& t, absl::TimeZone zone) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", core::FromProto(t), zone);
}

std::string LocalTimeWithOffset(const google::protobuf::Timestamp& t, absl::TimeZone zone) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S %Ez", core::FromProto(t), zone);
}

std::string TimeHeader(const char* what, absl::TimeZone zone) {
  return absl::StrCat(what, " (", zone.name(), ")");
}

int TimeWidth(const char* what, absl::TimeZone zone) {
  return static_cast<int>(std::max<size_t>(19, TimeHeader(what, zone).size()));
}

std::string ContactLabel(const events::v1::ContactRef& c) {
  if (!c.display_name().empty()) return c.display_name();
  if (!c.phone_e164().empty()) return c.phone_e164();
  return Or(c.wa_id().empty() ? c.user_id() : c.wa_id(), "-");
}

std::string Phone(const events::v1::ContactRef& c) {
  return Or(c.phone_e164().empty() ? c.wa_id() : c.phone_e164(), "-");
}

}  // namespace switchboard::cli

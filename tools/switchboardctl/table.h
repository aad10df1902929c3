// How switchboardctl shows values in its tables (--output=table), for every service's commands:
// cells padded by code point, enum names without their prefix, money, talk time, times in a
// zone, and who a contact is.
//
//   absl::PrintF("  %s  %s\n", Cell(ContactLabel(call.contact()), 20), TalkTime(call.duration()));
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "switchboard/events/v1/envelope.pb.h"

namespace switchboard::cli {

// "CALL_STATE_ENDED" -> "ENDED".
std::string Short(const std::string& name, absl::string_view prefix);

// `s` padded, or cut with "…", to `width` characters (UTF-8 code points, so names in any
// script keep the columns).
std::string Cell(absl::string_view s, size_t width);

// `value`, or `fallback` when it is empty.
std::string Or(const std::string& value, const char* fallback);

// Basis points as a percentage with one decimal, rounded half up: 6666 -> "66.7 %".
std::string Percent(int32_t bps);

// Integer micros with the currency (USD when unset), without floating point: "$0.03",
// "$0.005", "-$1.20", "12.50 EUR" (core::Money).
std::string Amount(const events::v1::Money& m);

// Talk time as the Calls page shows it (calls::format::Duration): "05:30", "1:02:03"; fractions
// dropped, negatives "00:00".
std::string TalkTime(const google::protobuf::Duration& d);

// "2026-11-30 14:05:09" in `zone`.
std::string LocalTime(const google::protobuf::Timestamp& t, absl::TimeZone zone);
// With the offset, for lines that do not name the zone in a header: "2026-11-30 14:05:09 -03:00".
std::string LocalTimeWithOffset(const google::protobuf::Timestamp& t, absl::TimeZone zone);

// A time column's header names the zone ("TIME (America/Sao_Paulo)"); its width fits both the
// header and a "2026-11-30 14:05:09".
std::string TimeHeader(const char* what, absl::TimeZone zone);
int TimeWidth(const char* what, absl::TimeZone zone);

// Who a contact is, in one short cell: the name, else the phone, else the WhatsApp id (else the
// user id, else "-").
std::string ContactLabel(const events::v1::ContactRef& c);
// The phone in E.164, else the WhatsApp id, else "-".
std::string Phone(const events::v1::ContactRef& c);

}  // namespace switchboard::cli

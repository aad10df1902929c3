// How calls read as text: durations as the Calls page shows them ("05:30"), amounts as plain
// decimals ("0.03"), and the CSV export (RFC 4180) with cells made safe for spreadsheets. Pure.
//
//   std::string csv;
//   format::AppendCsvHeader(&csv);
//   format::AppendCsvRow(call, absl::UTCTimeZone(), &csv);
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls::format {

// Talk time as MM:SS, H:MM:SS from an hour on: 0 -> "00:00", 330 s -> "05:30",
// 3599 s -> "59:59", 3600 s -> "1:00:00", 36000 s -> "10:00:00". Fractions of a second are
// dropped; negative durations read "00:00".
std::string Duration(absl::Duration d);

// An amount in micro-units as a plain decimal with at least two decimals and more only when
// needed: 0 -> "0.00", 30000 -> "0.03", 5000 -> "0.005", 12500000 -> "12.50",
// 1 -> "0.000001", -1500000 -> "-1.50".
std::string Amount(int64_t micros);

// A time as RFC 3339 in `zone` at second precision: "2026-11-30T14:05:09Z" in UTC,
// "2026-11-30T15:05:09+01:00" in Europe/Berlin.
std::string Time(absl::Time t, const absl::TimeZone& zone);

// One CSV field (RFC 4180): quoted when it holds a comma, a double quote, CR or LF (quotes
// doubled). A cell a spreadsheet would evaluate as a formula (first character '=', '+', '-',
// '@', TAB or CR) is prefixed with a single quote ' first (OWASP CSV injection), so it reads as
// text; a plain signed number ("+5511966881746", "-1.50") is left as it is, since a spreadsheet
// reads it as a number and nothing more. Appends to `out`.
void AppendCsvField(absl::string_view value, std::string* out);

// The header row of ExportCalls, ending in "\r\n":
// call_id,direction,state,contact_name,contact_phone,contact_wa_id,business_number,agent_id,
// offered_time,answered_time,ended_time,duration,duration_seconds,cost,currency,end_reason
void AppendCsvHeader(std::string* out);

// One call as a row in the header's order, ending in "\r\n". direction and state without their
// enum prefix ("INBOUND", "MISSED"); contact_name = contact.display_name; contact_phone =
// contact.phone_e164; business_number = business_display_number, else the phone number id;
// agent_id = answered_by_agent_id; times by Time() in `zone`, empty when unset; duration by
// Duration(); cost by Amount() and currency empty when the call has no cost.
void AppendCsvRow(const v1::Call& call, const absl::TimeZone& zone, std::string* out);

}  // namespace switchboard::calls::format

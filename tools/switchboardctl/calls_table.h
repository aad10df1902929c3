// How the calls commands read in --output=table: the Calls page's rows, one call's every field,
// notes, callbacks, the summary cards and analytics. Pure; each function returns whole lines
// ending in "\n", times in the tenant's zone.
//
//   std::string out = CallHeader(zone);
//   for (const auto& call : resp.calls()) out += CallRow(call, zone);
#pragma once

#include <string>

#include "absl/time/time.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::cli {

// The Calls page's columns, one call per row; rows start with the call id for other commands:
// call id, offered time, direction (in/out), contact name and phone, state, talk time (once
// ENDED), cost (once rated), agent; "-" for what is not known yet.
std::string CallHeader(absl::TimeZone zone);
std::string CallRow(const calls::v1::Call& call, absl::TimeZone zone);

// `calls get`: "  key   value" for every field the call has.
std::string CallDetails(const calls::v1::Call& call, absl::TimeZone zone);

// A note: id, time (and when edited), author, call, then its text indented.
std::string NoteText(const calls::v1::CallNote& note, absl::TimeZone zone);

std::string CallbackHeader(absl::TimeZone zone);
std::string CallbackRow(const calls::v1::Callback& callback, absl::TimeZone zone);

// `calls stats`: the summary cards.
std::string StatsText(const calls::v1::GetCallStatsResponse& stats, absl::TimeZone zone);
// `calls analytics`: the buckets with calls, the totals, averages and top contacts.
std::string AnalyticsText(const calls::v1::GetCallAnalyticsResponse& analytics,
                          absl::TimeZone zone);

std::string SettingsText(const calls::v1::CallsSettings& settings);

// "  next page: --page-token=T" when a list has another page, else "".
std::string NextPage(const std::string& token);

}  // namespace switchboard::cli

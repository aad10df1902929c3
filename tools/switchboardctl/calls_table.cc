#include "tools/switchboardctl/calls_table.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "libs/core/proto_time.h"
#include "tools/switchboardctl/table.h"

namespace switchboard::cli {
namespace {

namespace cv = calls::v1;

constexpr char kCallColumns[] = "  %-36s  %-*s  %-3s  %s  %s  %-8s  %-8s  %-7s  %s\n";
constexpr char kCallbackColumns[] = "  %-36s  %-*s  %-9s  %s  %-16s  %-10s  %s\n";

}  // namespace

std::string CallHeader(absl::TimeZone zone) {
  return absl::StrFormat(kCallColumns, "CALL", TimeWidth("TIME", zone), TimeHeader("TIME", zone),
                         "DIR", Cell("CONTACT", 20), Cell("PHONE", 16), "STATE", "DURATION", "COST",
                         "AGENT");
}

std::string CallRow(const cv::Call& c, absl::TimeZone zone) {
  // A call known only from Meta's terminate has no offer time yet: it shows when it ended.
  const bool timed = c.has_offered_time() || c.has_ended_time();
  return absl::StrFormat(
      kCallColumns, c.call_id(), TimeWidth("TIME", zone),
      timed ? LocalTime(c.has_offered_time() ? c.offered_time() : c.ended_time(), zone) : "-",
      c.direction() == cv::CALL_DIRECTION_INBOUND    ? "in"
      : c.direction() == cv::CALL_DIRECTION_OUTBOUND ? "out"
                                                     : "?",
      Cell(Or(c.contact().display_name(), "-"), 20), Cell(Phone(c.contact()), 16),
      Short(cv::CallState_Name(c.state()), "CALL_STATE_"),
      // Talk time once the call is over: ENDED, and FAILED after an answer.
      c.state() == cv::CALL_STATE_ENDED || (c.state() == cv::CALL_STATE_FAILED && c.has_duration())
          ? TalkTime(c.duration())
          : "-",
      c.has_cost() ? Amount(c.cost()) : "-", Or(c.answered_by_agent_id(), "-"));
}

std::string CallDetails(const cv::Call& c, absl::TimeZone zone) {
  std::string out;
  auto line = [&](const char* key, const std::string& value) {
    if (!value.empty()) absl::StrAppendFormat(&out, "  %-18s %s\n", key, value);
  };
  auto when = [&](const char* key, bool has, const google::protobuf::Timestamp& t) {
    if (has) line(key, LocalTimeWithOffset(t, zone));
  };
  line("call", c.call_id());
  line("tenant", c.tenant_id());
  line("meta call", c.meta_call_id());
  if (c.direction() != cv::CALL_DIRECTION_UNSPECIFIED) {
    line("direction", Short(cv::CallDirection_Name(c.direction()), "CALL_DIRECTION_"));
  }
  line("state", Short(cv::CallState_Name(c.state()), "CALL_STATE_"));
  std::string number = c.business_phone_number_id();
  if (!c.business_display_number().empty()) {
    absl::StrAppend(&number, " (", c.business_display_number(), ")");
  }
  line("business number", number);
  const auto& contact = c.contact();
  std::vector<std::string> who;
  for (const std::string& part : {contact.display_name(), contact.phone_e164()}) {
    if (!part.empty()) who.push_back(part);
  }
  if (!contact.wa_id().empty()) who.push_back(absl::StrCat("wa_id ", contact.wa_id()));
  if (!contact.user_id().empty()) who.push_back(absl::StrCat("user_id ", contact.user_id()));
  line("contact", absl::StrJoin(who, ", "));
  line("contact region", c.contact_region_code());
  line("team", c.team_id());
  line("offered to", absl::StrJoin(c.offered_agent_ids(), ", "));
  line("agent", c.answered_by_agent_id());
  when("offered", c.has_offered_time(), c.offered_time());
  when("ringing", c.has_ringing_time(), c.ringing_time());
  when("answered", c.has_answered_time(), c.answered_time());
  when("hang-up requested", c.has_hangup_requested_time(), c.hangup_requested_time());
  when("ended", c.has_ended_time(), c.ended_time());
  if (c.has_duration()) line("duration", TalkTime(c.duration()));
  line("end reason", c.end_reason());
  line("fallback", c.fallback_action());
  if (c.meta_error_code() != 0) line("meta error code", absl::StrCat(c.meta_error_code()));
  // Meta's own words for it: "Media timeout: the call could not connect (...)".
  if (!c.meta_error_title().empty() || !c.meta_error_message().empty()) {
    std::string words = c.meta_error_title();
    if (!c.meta_error_message().empty()) {
      words = words.empty() ? c.meta_error_message()
                            : absl::StrCat(words, ": ", c.meta_error_message());
    }
    if (!c.meta_error_details().empty()) absl::StrAppend(&words, " (", c.meta_error_details(), ")");
    line("meta error", words);
  }
  if (c.disconnected_by() != cv::DISCONNECTOR_UNSPECIFIED) {
    line("disconnected by", Short(cv::Disconnector_Name(c.disconnected_by()), "DISCONNECTOR_"));
  }
  line("cost", c.has_cost() ? Amount(c.cost()) : "");
  if (c.sequence() != 0) line("sequence", absl::StrCat(c.sequence()));
  return out;
}

std::string NoteText(const cv::CallNote& n, absl::TimeZone zone) {
  std::string edited;
  if (n.has_update_time() && core::FromProto(n.update_time()) != core::FromProto(n.create_time())) {
    edited = absl::StrCat(" (edited ", LocalTime(n.update_time(), zone), ")");
  }
  return absl::StrFormat("  %s  %s%s  %s  on call %s\n    %s\n", n.note_id(),
                         LocalTimeWithOffset(n.create_time(), zone), edited, n.author_agent_id(),
                         n.call_id(), absl::StrReplaceAll(n.text(), {{"\n", "\n    "}}));
}

std::string CallbackHeader(absl::TimeZone zone) {
  return absl::StrFormat(kCallbackColumns, "CALLBACK", TimeWidth("DUE", zone),
                         TimeHeader("DUE", zone), "STATE", Cell("CONTACT", 20), "NUMBER", "AGENT",
                         "NOTE");
}

std::string CallbackRow(const cv::Callback& cb, absl::TimeZone zone) {
  std::vector<std::string> note;
  if (!cb.note().empty()) note.push_back(cb.note());
  if (!cb.completed_call_id().empty()) {
    note.push_back(absl::StrCat("[by call ", cb.completed_call_id(), "]"));
  }
  if (!cb.cancel_reason().empty()) {
    note.push_back(absl::StrCat("[canceled: ", cb.cancel_reason(), "]"));
  }
  return absl::StrFormat(kCallbackColumns, cb.callback_id(), TimeWidth("DUE", zone),
                         LocalTime(cb.due_time(), zone),
                         Short(cv::CallbackState_Name(cb.state()), "CALLBACK_STATE_"),
                         Cell(ContactLabel(cb.contact()), 20), cb.business_phone_number_id(),
                         Or(cb.assigned_agent_id(), "any"), absl::StrJoin(note, " "));
}

std::string StatsText(const cv::GetCallStatsResponse& resp, absl::TimeZone zone) {
  int64_t talk = resp.total_duration().seconds();
  std::string out;
  absl::StrAppendFormat(&out, "  period          %s to %s (%s)\n",
                        LocalTime(resp.start_time(), zone), LocalTime(resp.end_time(), zone),
                        zone.name());
  absl::StrAppendFormat(&out,
                        "  total calls     %d  (answered %d, missed %d, rejected %d, failed %d; "
                        "inbound %d, outbound %d)\n",
                        resp.total_calls(), resp.answered_calls(), resp.missed_calls(),
                        resp.rejected_calls(), resp.failed_calls(), resp.inbound_calls(),
                        resp.outbound_calls());
  absl::StrAppendFormat(&out, "  success rate    %s\n", Percent(resp.success_rate_bps()));
  absl::StrAppendFormat(&out,
                        "  total minutes   %d.%d  (talk time %s, %s on average per answered "
                        "call)\n",
                        talk / 60, talk % 60 * 10 / 60, TalkTime(resp.total_duration()),
                        TalkTime(resp.average_duration()));
  absl::StrAppendFormat(&out, "  billed minutes  %d\n", resp.billed_minutes());
  absl::StrAppendFormat(&out, "  total cost      %s\n", Amount(resp.total_cost()));
  return out;
}

std::string AnalyticsText(const cv::GetCallAnalyticsResponse& resp, absl::TimeZone zone) {
  std::string out;
  absl::StrAppendFormat(&out, "  period        %s to %s (%s), by %s\n",
                        LocalTime(resp.start_time(), zone), LocalTime(resp.end_time(), zone),
                        zone.name(),
                        absl::AsciiStrToLower(Short(cv::TimeGranularity_Name(resp.granularity()),
                                                    "TIME_GRANULARITY_")));
  absl::StrAppendFormat(&out, "  %-19s  %5s  %8s  %6s  %8s  %6s  %4s  %4s  %8s  %s\n", "BUCKET",
                        "CALLS", "ANSWERED", "MISSED", "REJECTED", "FAILED", "IN", "OUT", "TALK",
                        "COST");
  auto row = [&](const std::string& label, const cv::CallBucket& b) {
    absl::StrAppendFormat(&out, "  %-19s  %5d  %8d  %6d  %8d  %6d  %4d  %4d  %8s  %s\n", label,
                          b.total_calls(), b.answered_calls(), b.missed_calls(), b.rejected_calls(),
                          b.failed_calls(), b.inbound_calls(), b.outbound_calls(),
                          TalkTime(b.total_duration()), Amount(b.total_cost()));
  };
  int shown = 0;
  for (const auto& b : resp.buckets()) {
    if (b.total_calls() == 0) continue;  // the page's chart draws the empty ones; a list need not
    row(LocalTime(b.start_time(), zone), b);
    ++shown;
  }
  if (shown == 0) absl::StrAppend(&out, "  (no calls in this period)\n");
  row("total", resp.totals());
  absl::StrAppendFormat(&out, "  success rate  %s    average duration  %s\n",
                        Percent(resp.success_rate_bps()), TalkTime(resp.average_duration()));
  if (!resp.top_contacts().empty()) absl::StrAppend(&out, "  top contacts\n");
  for (const auto& t : resp.top_contacts()) {
    absl::StrAppendFormat(&out, "    %s  %s  %4d %-5s  %s\n", Cell(ContactLabel(t.contact()), 20),
                          Cell(Phone(t.contact()), 16), t.call_count(),
                          t.call_count() == 1 ? "call" : "calls", TalkTime(t.total_duration()));
  }
  return out;
}

std::string SettingsText(const cv::CallsSettings& settings) {
  return absl::StrFormat(
      "  time zone          %s\n  language           %s\n  max call duration  %s\n",
      settings.time_zone(), settings.language(),
      settings.has_max_call_duration()
          ? absl::FormatDuration(core::FromProto(settings.max_call_duration()))
          : "the deployment's (--max-call-duration)");
}

std::string NextPage(const std::string& token) {
  return token.empty() ? "" : absl::StrCat("  next page: --page-token=", token, "\n");
}

}  // namespace switchboard::cli

#include "tools/switchboardctl/calls_table.h"

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/proto_time.h"
#include "tools/switchboardctl/table.h"

namespace switchboard::cli {
namespace {

namespace cv = calls::v1;

std::string Spaces(size_t n) { return std::string(n, ' '); }

google::protobuf::Timestamp At(const std::string& rfc3339) {
  absl::Time t;
  std::string error;
  INFO(rfc3339);
  REQUIRE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error));
  return core::ToProto(t);
}

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone zone;
  INFO(name);
  REQUIRE(absl::LoadTimeZone(name, &zone));
  return zone;
}

events::v1::Money Money(int64_t micros, const std::string& currency) {
  events::v1::Money m;
  m.set_amount_micros(micros);
  m.set_currency_code(currency);
  return m;
}

google::protobuf::Duration Seconds(int64_t s) {
  google::protobuf::Duration d;
  d.set_seconds(s);
  return d;
}

constexpr char kCallId[] = "0b8e2a9c-5d1f-4e37-9a64-2c7f1e0d3b58";

// Carla's inbound call, answered by agent-1, 5:30 long, rated at $0.03.
cv::Call EndedCall() {
  cv::Call c;
  c.set_call_id(kCallId);
  c.set_tenant_id("demo");
  c.set_direction(cv::CALL_DIRECTION_INBOUND);
  c.set_state(cv::CALL_STATE_ENDED);
  c.set_business_phone_number_id("106540352242922");
  c.set_business_display_number("+1 631-555-3601");
  c.mutable_contact()->set_display_name("Carla Souza");
  c.mutable_contact()->set_phone_e164("+5511966812345");
  c.mutable_contact()->set_wa_id("5511966812345");
  c.set_answered_by_agent_id("agent-1");
  *c.mutable_offered_time() = At("2026-11-30T14:05:09Z");
  *c.mutable_answered_time() = At("2026-11-30T14:05:20Z");
  *c.mutable_ended_time() = At("2026-11-30T14:10:50Z");
  *c.mutable_duration() = Seconds(330);
  *c.mutable_cost() = Money(30000, "USD");
  c.set_end_reason("COMPLETED");
  c.set_disconnected_by(cv::DISCONNECTOR_AGENT);
  c.set_sequence(7);
  return c;
}

TEST_CASE("Money: integer micros with the currency, two decimals at least") {
  CHECK(Amount(Money(30000, "USD")) == "$0.03");
  CHECK(Amount(Money(5000, "")) == "$0.005");  // no currency reads as USD
  CHECK(Amount(Money(0, "USD")) == "$0.00");
  CHECK(Amount(Money(-1200000, "USD")) == "-$1.20");
  CHECK(Amount(Money(12500000, "EUR")) == "12.50 EUR");
}

TEST_CASE("Talk time: MM:SS, H:MM:SS from an hour on, never negative") {
  CHECK(TalkTime(Seconds(0)) == "00:00");
  CHECK(TalkTime(Seconds(59)) == "00:59");
  CHECK(TalkTime(Seconds(330)) == "05:30");
  CHECK(TalkTime(Seconds(3599)) == "59:59");
  CHECK(TalkTime(Seconds(3600)) == "1:00:00");
  CHECK(TalkTime(Seconds(36000 + 61)) == "10:01:01");
  CHECK(TalkTime(Seconds(-5)) == "00:00");
  google::protobuf::Duration fraction = Seconds(59);
  fraction.set_nanos(999999999);
  CHECK(TalkTime(fraction) == "00:59");
}

TEST_CASE("Rates from basis points: one decimal, rounded half up") {
  CHECK(Percent(6666) == "66.7 %");
  CHECK(Percent(10000) == "100.0 %");
  CHECK(Percent(0) == "0.0 %");
  CHECK(Percent(4) == "0.0 %");
  CHECK(Percent(5) == "0.1 %");
}

TEST_CASE("Cells pad and cut by code point, so names in any script keep the columns") {
  CHECK(Cell("Ana", 5) == "Ana  ");
  CHECK(Cell("João", 5) == "João ");
  CHECK(Cell("Maximilian", 5) == "Maxi…");
  CHECK(Cell("Żaneta Ćwikła", 7) == "Żaneta…");
  CHECK(Cell("Ana", 3) == "Ana");
}

TEST_CASE("A call row: the Calls page's columns, the zone in the time header") {
  const absl::TimeZone utc = absl::UTCTimeZone();
  CHECK(CallHeader(utc) == absl::StrCat("  CALL", Spaces(32), "  TIME (UTC)", Spaces(9),
                                        "  DIR  CONTACT", Spaces(13), "  PHONE", Spaces(11),
                                        "  STATE     DURATION  COST     AGENT\n"));
  CHECK(CallRow(EndedCall(), utc) ==
        absl::StrCat("  ", kCallId, "  2026-11-30 14:05:09  in   Carla Souza", Spaces(9),
                     "  +5511966812345    ENDED     05:30     $0.03    agent-1\n"));
}

TEST_CASE("A call row shows '-' for what is not known yet, times in the tenant's zone") {
  const absl::TimeZone sao_paulo = Zone("America/Sao_Paulo");
  cv::Call c;
  c.set_call_id(kCallId);
  c.set_direction(cv::CALL_DIRECTION_OUTBOUND);
  c.set_state(cv::CALL_STATE_RINGING);
  c.mutable_contact()->set_wa_id("5511966812345");
  *c.mutable_offered_time() = At("2026-11-30T14:05:09Z");
  *c.mutable_duration() = Seconds(12);  // not ENDED: the duration is not final
  // "TIME (America/Sao_Paulo)" is 24 wide, so the column is.
  CHECK(absl::StrContains(CallHeader(sao_paulo), "  TIME (America/Sao_Paulo)  DIR  "));
  CHECK(CallRow(c, sao_paulo) ==
        absl::StrCat("  ", kCallId, "  2026-11-30 11:05:09", Spaces(5), "  out  -", Spaces(19),
                     "  5511966812345     RINGING   -         -        -\n"));
  c.clear_offered_time();
  c.set_direction(cv::CALL_DIRECTION_UNSPECIFIED);
  CHECK(absl::StrContains(CallRow(c, sao_paulo), absl::StrCat("  -", Spaces(23), "  ?    -")));
}

TEST_CASE("A call known only from Meta's terminate shows when it ended; FAILED shows its talk") {
  const absl::TimeZone utc = absl::UTCTimeZone();
  cv::Call c = EndedCall();
  c.clear_offered_time();
  c.clear_cost();
  c.set_state(cv::CALL_STATE_MISSED);
  CHECK(absl::StrContains(CallRow(c, utc), "  2026-11-30 14:10:50  in   "));
  // Picked up, then failed: the talk time is real, and shown.
  c.set_state(cv::CALL_STATE_FAILED);
  CHECK(absl::StrContains(CallRow(c, utc), "  FAILED    05:30     -  "));
  // Failed before an answer: no talk time.
  c.clear_duration();
  CHECK(absl::StrContains(CallRow(c, utc), "  FAILED    -         -  "));
}

TEST_CASE("calls get: Meta's error in its own words, with its code") {
  cv::Call c = EndedCall();
  c.set_state(cv::CALL_STATE_FAILED);
  c.set_end_reason("MEDIA_TIMEOUT");
  c.set_meta_error_code(138021);
  c.set_meta_error_title("Media timeout");
  c.set_meta_error_message("No media received");
  c.set_meta_error_details("relay 3");
  const std::string details = CallDetails(c, absl::UTCTimeZone());
  CHECK(absl::StrContains(details, "  meta error code    138021\n"));
  CHECK(absl::StrContains(details,
                          "  meta error         Media timeout: No media received (relay 3)\n"));
}

TEST_CASE("calls get: one line per field the call has, times with their offset") {
  CHECK(CallDetails(EndedCall(), Zone("America/Sao_Paulo")) ==
        "  call               0b8e2a9c-5d1f-4e37-9a64-2c7f1e0d3b58\n"
        "  tenant             demo\n"
        "  direction          INBOUND\n"
        "  state              ENDED\n"
        "  business number    106540352242922 (+1 631-555-3601)\n"
        "  contact            Carla Souza, +5511966812345, wa_id 5511966812345\n"
        "  agent              agent-1\n"
        "  offered            2026-11-30 11:05:09 -03:00\n"
        "  answered           2026-11-30 11:05:20 -03:00\n"
        "  ended              2026-11-30 11:10:50 -03:00\n"
        "  duration           05:30\n"
        "  end reason         COMPLETED\n"
        "  disconnected by    AGENT\n"
        "  cost               $0.03\n"
        "  sequence           7\n");
}

TEST_CASE("The summary cards") {
  cv::GetCallStatsResponse s;
  *s.mutable_start_time() = At("2026-11-01T03:00:00Z");
  *s.mutable_end_time() = At("2026-12-01T03:00:00Z");
  s.set_total_calls(12);
  s.set_answered_calls(8);
  s.set_missed_calls(2);
  s.set_rejected_calls(1);
  s.set_failed_calls(1);
  s.set_inbound_calls(7);
  s.set_outbound_calls(5);
  s.set_success_rate_bps(6667);
  *s.mutable_total_duration() = Seconds(3723);
  *s.mutable_average_duration() = Seconds(465);
  s.set_billed_minutes(66);
  *s.mutable_total_cost() = Money(330000, "USD");
  CHECK(StatsText(s, Zone("America/Sao_Paulo")) ==
        "  period          2026-11-01 00:00:00 to 2026-12-01 00:00:00 (America/Sao_Paulo)\n"
        "  total calls     12  (answered 8, missed 2, rejected 1, failed 1; inbound 7, "
        "outbound 5)\n"
        "  success rate    66.7 %\n"
        "  total minutes   62.0  (talk time 1:02:03, 07:45 on average per answered call)\n"
        "  billed minutes  66\n"
        "  total cost      $0.33\n");
}

TEST_CASE("Analytics: buckets with calls, totals, top contacts") {
  cv::GetCallAnalyticsResponse a;
  *a.mutable_start_time() = At("2026-11-29T00:00:00Z");
  *a.mutable_end_time() = At("2026-12-01T00:00:00Z");
  a.set_granularity(cv::TIME_GRANULARITY_DAY);
  cv::CallBucket* empty = a.add_buckets();
  *empty->mutable_start_time() = At("2026-11-29T00:00:00Z");
  cv::CallBucket* busy = a.add_buckets();
  *busy->mutable_start_time() = At("2026-11-30T00:00:00Z");
  busy->set_total_calls(3);
  busy->set_answered_calls(2);
  busy->set_missed_calls(1);
  busy->set_inbound_calls(3);
  *busy->mutable_total_duration() = Seconds(400);
  *busy->mutable_total_cost() = Money(40000, "USD");
  *a.mutable_totals() = *busy;
  a.set_success_rate_bps(6667);
  *a.mutable_average_duration() = Seconds(200);
  cv::TopContact* top = a.add_top_contacts();
  top->mutable_contact()->set_display_name("Carla Souza");
  top->mutable_contact()->set_phone_e164("+5511966812345");
  top->set_call_count(1);
  *top->mutable_total_duration() = Seconds(330);
  CHECK(AnalyticsText(a, absl::UTCTimeZone()) ==
        "  period        2026-11-29 00:00:00 to 2026-12-01 00:00:00 (UTC), by day\n"
        "  BUCKET               CALLS  ANSWERED  MISSED  REJECTED  FAILED    IN   OUT      TALK"
        "  COST\n"
        "  2026-11-30 00:00:00      3         2       1         0       0     3     0     06:40"
        "  $0.04\n"
        "  total                    3         2       1         0       0     3     0     06:40"
        "  $0.04\n"
        "  success rate  66.7 %    average duration  03:20\n"
        "  top contacts\n"
        "    Carla Souza           +5511966812345       1 call   05:30\n");
}

TEST_CASE("Notes and callbacks") {
  cv::CallNote n;
  n.set_note_id("n1");
  n.set_call_id("c1");
  n.set_author_agent_id("agent-1");
  n.set_text("wants a quote\nfor 20 seats");
  *n.mutable_create_time() = At("2026-11-30T14:00:00Z");
  *n.mutable_update_time() = At("2026-11-30T14:30:00Z");
  CHECK(NoteText(n, absl::UTCTimeZone()) ==
        "  n1  2026-11-30 14:00:00 +00:00 (edited 2026-11-30 14:30:00)  agent-1  on call c1\n"
        "    wants a quote\n"
        "    for 20 seats\n");

  cv::Callback cb;
  cb.set_callback_id("cb1");
  *cb.mutable_due_time() = At("2026-11-30T17:00:00Z");
  cb.set_state(cv::CALLBACK_STATE_COMPLETED);
  cb.mutable_contact()->set_display_name("Daniel Lima");
  cb.set_business_phone_number_id("106540352242922");
  cb.set_note("asked about the plan");
  cb.set_completed_call_id("c2");
  CHECK(CallbackHeader(absl::UTCTimeZone()) ==
        absl::StrCat("  CALLBACK", Spaces(28), "  DUE (UTC)", Spaces(10), "  STATE      CONTACT",
                     Spaces(13), "  NUMBER            AGENT       NOTE\n"));
  CHECK(CallbackRow(cb, absl::UTCTimeZone()) ==
        absl::StrCat("  cb1", Spaces(33), "  2026-11-30 17:00:00  COMPLETED  Daniel Lima",
                     Spaces(9),
                     "  106540352242922   any         asked about the plan [by call c2]\n"));
  CHECK(NextPage("") == "");
  CHECK(NextPage("t2") == "  next page: --page-token=t2\n");
}

}  // namespace
}  // namespace switchboard::cli

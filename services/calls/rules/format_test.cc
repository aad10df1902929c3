#include "services/calls/rules/format.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "libs/core/proto_time.h"
#include "services/calls/rules/test_time.h"

namespace switchboard::calls::format {
namespace {

using testing::At;
using testing::Zone;

std::string Field(absl::string_view value) {
  std::string out;
  AppendCsvField(value, &out);
  return out;
}

TEST_CASE("Duration reads MM:SS, and H:MM:SS from an hour on") {
  CHECK(Duration(absl::ZeroDuration()) == "00:00");
  CHECK(Duration(absl::Seconds(59)) == "00:59");
  CHECK(Duration(absl::Seconds(60)) == "01:00");
  CHECK(Duration(absl::Seconds(330)) == "05:30");
  CHECK(Duration(absl::Seconds(3599)) == "59:59");
  CHECK(Duration(absl::Seconds(3600)) == "1:00:00");
  CHECK(Duration(absl::Seconds(3723)) == "1:02:03");
  CHECK(Duration(absl::Seconds(36000)) == "10:00:00");
  CHECK(Duration(absl::Hours(100) + absl::Seconds(1)) == "100:00:01");
}

TEST_CASE("Duration drops fractions and reads negatives as zero") {
  CHECK(Duration(absl::Milliseconds(59999)) == "00:59");
  CHECK(Duration(absl::Milliseconds(3599999)) == "59:59");
  CHECK(Duration(absl::Milliseconds(999)) == "00:00");
  CHECK(Duration(absl::Seconds(-1)) == "00:00");
  CHECK(Duration(absl::Milliseconds(-500)) == "00:00");
  CHECK(Duration(-absl::Hours(2)) == "00:00");
}

TEST_CASE("Amount has two decimals, more only when needed") {
  CHECK(Amount(0) == "0.00");
  CHECK(Amount(30000) == "0.03");
  CHECK(Amount(5000) == "0.005");
  CHECK(Amount(12500000) == "12.50");
  CHECK(Amount(1) == "0.000001");
  CHECK(Amount(-1500000) == "-1.50");
  CHECK(Amount(-1) == "-0.000001");
  CHECK(Amount(1000000) == "1.00");
  CHECK(Amount(123456789) == "123.456789");
  CHECK(Amount(100) == "0.0001");
  CHECK(Amount(std::numeric_limits<int64_t>::max()) == "9223372036854.775807");
  CHECK(Amount(std::numeric_limits<int64_t>::min()) == "-9223372036854.775808");
}

TEST_CASE("Time is RFC 3339 at second precision in the zone") {
  const absl::Time t = At("2026-11-30T14:05:09.987Z");
  CHECK(Time(t, absl::UTCTimeZone()) == "2026-11-30T14:05:09Z");
  CHECK(Time(t, Zone("UTC")) == "2026-11-30T14:05:09Z");
  CHECK(Time(t, Zone("Etc/UTC")) == "2026-11-30T14:05:09Z");
  CHECK(Time(t, Zone("Europe/Berlin")) == "2026-11-30T15:05:09+01:00");
  CHECK(Time(At("2026-07-01T12:00:00Z"), Zone("Europe/Berlin")) == "2026-07-01T14:00:00+02:00");
  CHECK(Time(t, Zone("America/Sao_Paulo")) == "2026-11-30T11:05:09-03:00");
  CHECK(Time(t, Zone("Asia/Kolkata")) == "2026-11-30T19:35:09+05:30");
  // London is at +00:00 in winter but is not UTC; its offset stays explicit all year.
  CHECK(Time(t, Zone("Europe/London")) == "2026-11-30T14:05:09+00:00");
  CHECK(Time(At("1969-12-31T23:59:59Z"), absl::UTCTimeZone()) == "1969-12-31T23:59:59Z");
}

TEST_CASE("AppendCsvField quotes commas, quotes, CR and LF") {
  CHECK(Field("") == "");
  CHECK(Field("Ana Souza") == "Ana Souza");
  CHECK(Field("Souza, Ana") == "\"Souza, Ana\"");
  CHECK(Field("Ana \"Aninha\" Souza") == "\"Ana \"\"Aninha\"\" Souza\"");
  CHECK(Field("\"") == "\"\"\"\"");
  CHECK(Field("line 1\nline 2") == "\"line 1\nline 2\"");
  CHECK(Field("line 1\r\nline 2") == "\"line 1\r\nline 2\"");
  CHECK(Field("a\rb") == "\"a\rb\"");
  CHECK(Field("José Müller 😀") == "José Müller 😀");
  CHECK(Field("a;b\tc") == "a;b\tc");  // not the separator, not at the start
}

TEST_CASE("AppendCsvField defuses cells a spreadsheet would evaluate") {
  CHECK(Field("=1+1") == "'=1+1");
  // Plain signed numbers are numbers, not formulas: phone numbers stay usable.
  CHECK(Field("+5511966881746") == "+5511966881746");
  CHECK(Field("-1.50") == "-1.50");
  CHECK(Field("+") == "'+");
  CHECK(Field("-") == "'-");
  CHECK(Field("+1.2.3") == "'+1.2.3");
  CHECK(Field("+1e5") == "'+1e5");
  CHECK(Field("-1+1") == "'-1+1");
  CHECK(Field("-2+3") == "'-2+3");
  CHECK(Field("@SUM(A1)") == "'@SUM(A1)");
  CHECK(Field("\t=1") == "'\t=1");
  CHECK(Field("\r=1") == "\"'\r=1\"");  // also quoted for the CR
  CHECK(Field("=HYPERLINK(\"http://x\",\"y\")") == "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  CHECK(Field("=a,b") == "\"'=a,b\"");
  // Only the first character counts.
  CHECK(Field("a=b") == "a=b");
  CHECK(Field(" =1") == " =1");
  CHECK(Field("'quoted") == "'quoted");
}

TEST_CASE("AppendCsvHeader writes the columns in order") {
  std::string out = "x";
  AppendCsvHeader(&out);
  CHECK(out ==
        "xcall_id,direction,state,contact_name,contact_phone,contact_wa_id,business_number,"
        "agent_id,offered_time,answered_time,ended_time,duration,duration_seconds,cost,currency,"
        "end_reason\r\n");
}

v1::Call AnsweredCall() {
  v1::Call call;
  call.set_call_id("0193a6a0-7c1e-7b3a-9f00-1d2e3f405060");
  call.set_direction(v1::CALL_DIRECTION_INBOUND);
  call.set_state(v1::CALL_STATE_ENDED);
  call.set_business_phone_number_id("106540352242922");
  call.set_business_display_number("16315553601");
  call.mutable_contact()->set_display_name("Souza, Ana");
  call.mutable_contact()->set_phone_e164("+5511966881746");
  call.mutable_contact()->set_wa_id("5511966881746");
  call.set_answered_by_agent_id("agent-7");
  *call.mutable_offered_time() = core::ToProto(At("2026-11-30T14:05:09Z"));
  *call.mutable_answered_time() = core::ToProto(At("2026-11-30T14:05:19.5Z"));
  *call.mutable_ended_time() = core::ToProto(At("2026-11-30T14:10:49.9Z"));
  call.mutable_duration()->set_seconds(330);
  call.mutable_duration()->set_nanos(400000000);
  call.mutable_cost()->set_amount_micros(30000);
  call.mutable_cost()->set_currency_code("USD");
  call.set_end_reason("COMPLETED");
  return call;
}

TEST_CASE("AppendCsvRow writes one call in the header's order") {
  std::string out;
  AppendCsvRow(AnsweredCall(), absl::UTCTimeZone(), &out);
  CHECK(out ==
        "0193a6a0-7c1e-7b3a-9f00-1d2e3f405060,INBOUND,ENDED,\"Souza, Ana\",+5511966881746,"
        "5511966881746,16315553601,agent-7,2026-11-30T14:05:09Z,2026-11-30T14:05:19Z,"
        "2026-11-30T14:10:49Z,05:30,330,0.03,USD,COMPLETED\r\n");

  out.clear();
  AppendCsvRow(AnsweredCall(), Zone("Europe/Berlin"), &out);
  CHECK(out ==
        "0193a6a0-7c1e-7b3a-9f00-1d2e3f405060,INBOUND,ENDED,\"Souza, Ana\",+5511966881746,"
        "5511966881746,16315553601,agent-7,2026-11-30T15:05:09+01:00,2026-11-30T15:05:19+01:00,"
        "2026-11-30T15:10:49+01:00,05:30,330,0.03,USD,COMPLETED\r\n");
}

TEST_CASE("AppendCsvRow leaves unset times and a missing cost empty") {
  v1::Call call;
  call.set_call_id("call-2");
  call.set_direction(v1::CALL_DIRECTION_OUTBOUND);
  call.set_state(v1::CALL_STATE_FAILED);
  call.set_business_phone_number_id("106540352242922");  // no display number: the id
  call.mutable_contact()->set_user_id("US.1349");
  call.set_end_reason("GRAPH_API_ERROR");
  std::string out;
  AppendCsvRow(call, absl::UTCTimeZone(), &out);
  CHECK(out == "call-2,OUTBOUND,FAILED,,,,106540352242922,,,,,00:00,0,,,GRAPH_API_ERROR\r\n");

  // Offered only; no end reason yet.
  v1::Call live;
  live.set_call_id("call-3");
  live.set_direction(v1::CALL_DIRECTION_INBOUND);
  live.set_state(v1::CALL_STATE_RINGING);
  *live.mutable_offered_time() = core::ToProto(At("2026-11-30T14:05:09Z"));
  out.clear();
  AppendCsvRow(live, absl::UTCTimeZone(), &out);
  CHECK(out == "call-3,INBOUND,RINGING,,,,,,2026-11-30T14:05:09Z,,,00:00,0,,,\r\n");
}

TEST_CASE("AppendCsvRow: a zero cost is a cost, a credit stays a number") {
  v1::Call call = AnsweredCall();
  call.mutable_cost()->set_amount_micros(0);
  std::string out;
  AppendCsvRow(call, absl::UTCTimeZone(), &out);
  CHECK(out.find(",05:30,330,0.00,USD,COMPLETED\r\n") != std::string::npos);

  call.mutable_cost()->set_amount_micros(-1500000);
  out.clear();
  AppendCsvRow(call, absl::UTCTimeZone(), &out);
  CHECK(out.find(",05:30,330,-1.50,USD,COMPLETED\r\n") != std::string::npos);
}

TEST_CASE("AppendCsvRow: a negative duration reads as zero in both columns") {
  v1::Call call = AnsweredCall();
  call.mutable_duration()->set_seconds(-5);
  call.mutable_duration()->set_nanos(0);
  std::string out;
  AppendCsvRow(call, absl::UTCTimeZone(), &out);
  CHECK(out.find(",00:00,0,0.03,USD,") != std::string::npos);
}

TEST_CASE("AppendCsvRow defuses user text in every text column") {
  v1::Call call = AnsweredCall();
  call.mutable_contact()->set_display_name("=cmd|' /C calc'!A0");
  call.mutable_contact()->set_phone_e164("");
  call.mutable_contact()->set_wa_id("@1");
  call.set_business_display_number("-1");
  call.set_answered_by_agent_id("+agent");
  call.set_end_reason("line\nbreak");
  call.mutable_duration()->set_seconds(3723);
  call.mutable_duration()->set_nanos(0);
  call.clear_cost();
  std::string out;
  AppendCsvRow(call, absl::UTCTimeZone(), &out);
  CHECK(out ==
        "0193a6a0-7c1e-7b3a-9f00-1d2e3f405060,INBOUND,ENDED,'=cmd|' /C calc'!A0,,'@1,-1,"
        "'+agent,2026-11-30T14:05:09Z,2026-11-30T14:05:19Z,2026-11-30T14:10:49Z,1:02:03,3723,,,"
        "\"line\nbreak\"\r\n");
}

TEST_CASE("AppendCsvRow appends") {
  std::string out;
  AppendCsvHeader(&out);
  AppendCsvRow(AnsweredCall(), absl::UTCTimeZone(), &out);
  AppendCsvRow(AnsweredCall(), absl::UTCTimeZone(), &out);
  size_t rows = 0;
  for (size_t at = out.find("\r\n"); at != std::string::npos; at = out.find("\r\n", at + 2)) {
    ++rows;
  }
  CHECK(rows == 3);
}

}  // namespace
}  // namespace switchboard::calls::format

#include "services/calls/rules/query.h"

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "libs/core/error.h"
#include "services/calls/rules/test_time.h"

namespace switchboard::calls::query {
namespace {

using testing::At;
using testing::Zone;

Filter MustParse(const std::string& text, TimeTerms time_terms = TimeTerms::kAllowed) {
  auto filter = ParseFilter(text, time_terms);
  INFO(text << " -> " << filter.status().ToString());
  REQUIRE(filter.ok());
  return *filter;
}

// `status`, the result of parsing `text`, checked to be INVALID_FILTER at byte `position`.
absl::Status CheckInvalidFilter(const std::string& text, const absl::Status& status,
                                size_t position) {
  INFO("filter: " << text);
  REQUIRE_FALSE(status.ok());
  INFO(status.ToString());
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(core::ReasonOf(status) == "INVALID_FILTER");
  CHECK(core::MetadataOf(status) == core::ErrorMetadata{{"position", std::to_string(position)}});
  return status;
}

// The error for `text`, checked to be INVALID_FILTER at byte `position`.
absl::Status FilterError(const std::string& text, size_t position,
                         TimeTerms time_terms = TimeTerms::kAllowed) {
  return CheckInvalidFilter(text, ParseFilter(text, time_terms).status(), position);
}

void Refused(const std::string& text, size_t position, TimeTerms time_terms = TimeTerms::kAllowed) {
  (void)FilterError(text, position, time_terms);
}

bool MessageHas(const absl::Status& status, absl::string_view text) {
  return absl::StrContains(status.message(), text);
}

// ---- filter: productions -----------------------------------------------------------------------

TEST_CASE("an empty or blank filter has no conditions") {
  for (const char* text : {"", "   ", "\t\r\n"}) {
    Filter f = MustParse(text);
    CHECK(f.Canonical().empty());
    CHECK(f.directions.empty());
    CHECK(f.states.empty());
    CHECK_FALSE(f.offered_after.has_value());
    CHECK_FALSE(f.offered_before.has_value());
  }
}

TEST_CASE("direction takes bare, full and quoted values, with = and !=") {
  CHECK(MustParse("direction = INBOUND").directions ==
        std::vector<v1::CallDirection>{v1::CALL_DIRECTION_INBOUND});
  CHECK(MustParse("direction = CALL_DIRECTION_OUTBOUND").directions ==
        std::vector<v1::CallDirection>{v1::CALL_DIRECTION_OUTBOUND});
  CHECK(MustParse("direction = \"INBOUND\"").directions ==
        std::vector<v1::CallDirection>{v1::CALL_DIRECTION_INBOUND});
  Filter f = MustParse("direction != OUTBOUND");
  CHECK(f.directions.empty());
  CHECK(f.not_directions == std::vector<v1::CallDirection>{v1::CALL_DIRECTION_OUTBOUND});
}

TEST_CASE("state takes every state, bare or full, with = and !=") {
  const std::pair<const char*, v1::CallState> states[] = {
      {"OFFERED", v1::CALL_STATE_OFFERED},   {"RINGING", v1::CALL_STATE_RINGING},
      {"ANSWERED", v1::CALL_STATE_ANSWERED}, {"ENDED", v1::CALL_STATE_ENDED},
      {"MISSED", v1::CALL_STATE_MISSED},     {"REJECTED", v1::CALL_STATE_REJECTED},
      {"FAILED", v1::CALL_STATE_FAILED},
  };
  for (const auto& [name, state] : states) {
    INFO(name);
    CHECK(MustParse(absl::StrCat("state = ", name)).states == std::vector<v1::CallState>{state});
    CHECK(MustParse(absl::StrCat("state = CALL_STATE_", name)).states ==
          std::vector<v1::CallState>{state});
    CHECK(MustParse(absl::StrCat("state = \"", name, "\"")).states ==
          std::vector<v1::CallState>{state});
    CHECK(MustParse(absl::StrCat("state != ", name)).not_states ==
          std::vector<v1::CallState>{state});
  }
}

TEST_CASE("offered_time takes the four comparisons on an RFC 3339 time") {
  Filter f = MustParse("offered_time > \"2026-11-01T00:00:00Z\"");
  REQUIRE(f.offered_after.has_value());
  CHECK(f.offered_after->time == At("2026-11-01T00:00:00Z"));
  CHECK_FALSE(f.offered_after->inclusive);
  CHECK_FALSE(f.offered_before.has_value());

  f = MustParse("offered_time >= \"2026-11-01T01:00:00+01:00\"");
  REQUIRE(f.offered_after.has_value());
  CHECK(f.offered_after->time == At("2026-11-01T00:00:00Z"));
  CHECK(f.offered_after->inclusive);

  f = MustParse("offered_time < \"2026-11-30T23:59:59.250-03:00\"");
  REQUIRE(f.offered_before.has_value());
  CHECK(f.offered_before->time == At("2026-12-01T02:59:59.25Z"));
  CHECK_FALSE(f.offered_before->inclusive);

  f = MustParse("offered_time <= \"2026-12-01T00:00:00z\"");
  REQUIRE(f.offered_before.has_value());
  CHECK(f.offered_before->time == At("2026-12-01T00:00:00Z"));
  CHECK(f.offered_before->inclusive);
}

TEST_CASE("string fields take quoted strings with \\\" and \\\\ escapes") {
  Filter f = MustParse(
      "business_phone_number_id = \"106540352242922\" AND answered_by_agent_id = \"agent-1\" "
      "AND contact.wa_id = \"5511966881746\"");
  CHECK(f.business_phone_number_ids == std::vector<std::string>{"106540352242922"});
  CHECK(f.agent_ids == std::vector<std::string>{"agent-1"});
  CHECK(f.contact_wa_ids == std::vector<std::string>{"5511966881746"});

  CHECK(MustParse(R"(answered_by_agent_id = "a \"b\" c\\d")").agent_ids ==
        std::vector<std::string>{"a \"b\" c\\d"});
  // Non-ASCII is fine; only control characters are refused.
  CHECK(MustParse("answered_by_agent_id = \"agente-José\"").agent_ids ==
        std::vector<std::string>{"agente-José"});
}

TEST_CASE("string values are 1 to 128 bytes") {
  CHECK(MustParse(absl::StrCat("contact.wa_id = \"", std::string(128, '7'), "\""))
            .contact_wa_ids.front()
            .size() == 128);
  Refused(absl::StrCat("contact.wa_id = \"", std::string(129, '7'), "\""), 16);
  Refused("contact.wa_id = \"\"", 16);
  // 64 two-byte letters are 128 bytes: the limit is bytes, not characters.
  std::string letters;
  for (int i = 0; i < 64; ++i) letters += "é";
  CHECK(MustParse(absl::StrCat("contact.wa_id = \"", letters, "\"")).contact_wa_ids.size() == 1);
  Refused(absl::StrCat("contact.wa_id = \"", letters, "x\""), 16);
}

TEST_CASE("string values hold no control characters and only valid UTF-8") {
  Refused("contact.wa_id = \"55\x01\"", 16);
  Refused("contact.wa_id = \"55\t11\"", 16);
  Refused("contact.wa_id = \"55\n11\"", 16);
  Refused("contact.wa_id = \"55\x7f\"", 16);
  Refused("contact.wa_id = \"55\xc2\x85\"", 16);  // NEL, a C1 control
  Refused("contact.wa_id = \"55\xff\"", 16);
  Refused("contact.wa_id = \"55\xc3\"", 16);  // truncated sequence
}

TEST_CASE("whitespace between tokens is free") {
  Filter tight = MustParse(
      "state!=MISSED AND(direction=INBOUND OR direction=OUTBOUND)AND "
      "offered_time>=\"2026-11-01T00:00:00Z\"");
  Filter loose = MustParse(
      "  state  !=  MISSED\n AND\t( direction = INBOUND\r\n OR direction = OUTBOUND )  AND "
      "offered_time >= \"2026-11-01T00:00:00Z\"  ");
  CHECK(tight.Canonical() == loose.Canonical());
  CHECK(tight.not_states == std::vector<v1::CallState>{v1::CALL_STATE_MISSED});
  CHECK(tight.directions.size() == 2);
}

TEST_CASE("the documented example parses into one condition per field") {
  Filter f = MustParse(
      "direction = INBOUND AND (state = MISSED OR state = REJECTED) AND offered_time >= "
      "\"2026-11-01T00:00:00Z\"");
  CHECK(f.directions == std::vector<v1::CallDirection>{v1::CALL_DIRECTION_INBOUND});
  CHECK(f.states == std::vector<v1::CallState>{v1::CALL_STATE_MISSED, v1::CALL_STATE_REJECTED});
  REQUIRE(f.offered_after.has_value());
  CHECK(f.offered_after->time == At("2026-11-01T00:00:00Z"));
  CHECK(f.offered_after->inclusive);
  CHECK(f.Canonical() ==
        "direction=CALL_DIRECTION_INBOUND;state=CALL_STATE_MISSED,CALL_STATE_REJECTED;"
        "offered>=1793491200000000;");
}

// ---- filter: OR groups, repeats, bounds --------------------------------------------------------

TEST_CASE("an OR group collects the values of one field, sorted and without duplicates") {
  Filter f = MustParse("(state = REJECTED OR state = MISSED OR state = REJECTED)");
  CHECK(f.states == std::vector<v1::CallState>{v1::CALL_STATE_MISSED, v1::CALL_STATE_REJECTED});

  f = MustParse("(contact.wa_id = \"2\" OR contact.wa_id = \"1\" OR contact.wa_id = \"2\")");
  CHECK(f.contact_wa_ids == std::vector<std::string>{"1", "2"});

  f = MustParse(
      "(business_phone_number_id = \"b\" OR business_phone_number_id = \"a\") AND "
      "(answered_by_agent_id = \"y\" OR answered_by_agent_id = \"x\")");
  CHECK(f.business_phone_number_ids == std::vector<std::string>{"a", "b"});
  CHECK(f.agent_ids == std::vector<std::string>{"x", "y"});
}

TEST_CASE("one comparison in parentheses is the comparison itself") {
  CHECK(MustParse("(state = MISSED)").Canonical() == MustParse("state = MISSED").Canonical());
  CHECK(MustParse("(state != MISSED)").not_states ==
        std::vector<v1::CallState>{v1::CALL_STATE_MISSED});
  CHECK(MustParse("(offered_time < \"2026-11-01T00:00:00Z\")").offered_before.has_value());
}

TEST_CASE("!= terms repeat and are ANDed") {
  Filter f = MustParse("state != MISSED AND state != FAILED AND state != MISSED");
  CHECK(f.not_states == std::vector<v1::CallState>{v1::CALL_STATE_MISSED, v1::CALL_STATE_FAILED});
  f = MustParse("direction != INBOUND AND direction != OUTBOUND");
  CHECK(f.not_directions.size() == 2);
  // One "=" term and any number of "!=" terms on the same field.
  f = MustParse("state != FAILED AND (state = MISSED OR state = ENDED) AND state != ENDED");
  CHECK(f.states == std::vector<v1::CallState>{v1::CALL_STATE_ENDED, v1::CALL_STATE_MISSED});
  CHECK(f.not_states == std::vector<v1::CallState>{v1::CALL_STATE_ENDED, v1::CALL_STATE_FAILED});
}

TEST_CASE("repeated offered_time bounds keep the tightest") {
  const std::string a = "\"2026-11-01T00:00:00Z\"";
  const std::string b = "\"2026-11-02T00:00:00Z\"";

  SECTION("the later lower bound, in either order") {
    for (const std::string& text :
         {absl::StrCat("offered_time >= ", a, " AND offered_time > ", b),
          absl::StrCat("offered_time > ", b, " AND offered_time >= ", a)}) {
      Filter f = MustParse(text);
      REQUIRE(f.offered_after.has_value());
      CHECK(f.offered_after->time == At("2026-11-02T00:00:00Z"));
      CHECK_FALSE(f.offered_after->inclusive);
    }
  }
  SECTION("the earlier upper bound, in either order") {
    for (const std::string& text :
         {absl::StrCat("offered_time <= ", a, " AND offered_time < ", b),
          absl::StrCat("offered_time < ", b, " AND offered_time <= ", a)}) {
      Filter f = MustParse(text);
      REQUIRE(f.offered_before.has_value());
      CHECK(f.offered_before->time == At("2026-11-01T00:00:00Z"));
      CHECK(f.offered_before->inclusive);
    }
  }
  SECTION("at the same time the exclusive bound is tighter") {
    for (const std::string& text :
         {absl::StrCat("offered_time >= ", a, " AND offered_time > ", a),
          absl::StrCat("offered_time > ", a, " AND offered_time >= ", a)}) {
      Filter f = MustParse(text);
      REQUIRE(f.offered_after.has_value());
      CHECK_FALSE(f.offered_after->inclusive);
    }
    for (const std::string& text :
         {absl::StrCat("offered_time <= ", a, " AND offered_time < ", a),
          absl::StrCat("offered_time < ", a, " AND offered_time <= ", a)}) {
      Filter f = MustParse(text);
      REQUIRE(f.offered_before.has_value());
      CHECK_FALSE(f.offered_before->inclusive);
    }
  }
  SECTION("both ends together") {
    Filter f = MustParse(absl::StrCat("offered_time >= ", a, " AND offered_time < ", b));
    CHECK(f.offered_after->time == At("2026-11-01T00:00:00Z"));
    CHECK(f.offered_before->time == At("2026-11-02T00:00:00Z"));
  }
}

TEST_CASE("Canonical is equal for filters that select the same calls") {
  const std::string canonical =
      MustParse(
          "direction = INBOUND AND (state = MISSED OR state = REJECTED) AND "
          "state != FAILED AND offered_time >= \"2026-11-01T00:00:00Z\" AND "
          "contact.wa_id = \"5511\"")
          .Canonical();
  CHECK(MustParse("contact.wa_id = \"5511\" AND offered_time >= \"2026-10-31T21:00:00-03:00\" "
                  "AND (state = REJECTED OR state = CALL_STATE_MISSED OR state = MISSED) AND "
                  "state != FAILED AND direction = \"INBOUND\"")
            .Canonical() == canonical);
  // Calls are kept to the microsecond, so "> X" is ">= X + 1 us" and "<= X" is "< X + 1 us".
  CHECK(MustParse("offered_time > \"2026-11-01T00:00:00Z\"").Canonical() ==
        MustParse("offered_time >= \"2026-11-01T00:00:00.000001Z\"").Canonical());
  CHECK(MustParse("offered_time <= \"2026-11-01T00:00:00Z\"").Canonical() ==
        MustParse("offered_time < \"2026-11-01T00:00:00.000001Z\"").Canonical());
  // A hand-built filter with unsorted duplicates reads the same as the parsed one.
  Filter built;
  built.states = {v1::CALL_STATE_REJECTED, v1::CALL_STATE_MISSED, v1::CALL_STATE_MISSED};
  CHECK(built.Canonical() == MustParse("(state = MISSED OR state = REJECTED)").Canonical());
}

TEST_CASE("Canonical tells different filters apart") {
  const std::vector<std::string> filters = {
      "",
      "state = MISSED",
      "state != MISSED",
      "direction = INBOUND",
      "direction != INBOUND",
      "offered_time >= \"2026-11-01T00:00:00Z\"",
      "offered_time > \"2026-11-01T00:00:00Z\"",
      "offered_time < \"2026-11-01T00:00:00Z\"",
      "offered_time <= \"2026-11-01T00:00:00Z\"",
      "contact.wa_id = \"a,b\"",
      "(contact.wa_id = \"a\" OR contact.wa_id = \"b\")",
      "contact.wa_id = \"a\\\",\\\"b\"",
      "answered_by_agent_id = \"a\"",
      "business_phone_number_id = \"a\"",
  };
  for (size_t i = 0; i < filters.size(); ++i) {
    for (size_t j = i + 1; j < filters.size(); ++j) {
      INFO(filters[i] << " vs " << filters[j]);
      CHECK(MustParse(filters[i]).Canonical() != MustParse(filters[j]).Canonical());
    }
  }
}

TEST_CASE("TimeTerms::kRefused refuses offered_time and nothing else") {
  Refused("offered_time >= \"2026-11-01T00:00:00Z\"", 0, TimeTerms::kRefused);
  absl::Status s = FilterError("state = MISSED AND offered_time < \"2026-11-01T00:00:00Z\"", 19,
                               TimeTerms::kRefused);
  CHECK(MessageHas(s, "offered_time"));
  Refused("(offered_time < \"2026-11-01T00:00:00Z\")", 1, TimeTerms::kRefused);
  Filter f = MustParse(
      "direction = INBOUND AND (state = MISSED OR state = ENDED) AND contact.wa_id = \"1\"",
      TimeTerms::kRefused);
  CHECK(f.states.size() == 2);
}

// ---- filter: errors ----------------------------------------------------------------------------

TEST_CASE("filter errors name what was expected at the offending token") {
  SECTION("fields") {
    CHECK(MessageHas(FilterError("foo = \"x\"", 0), "expected a field"));
    Refused("state = MISSED AND State = ENDED", 19);
    Refused("contact.phone = \"1\"", 0);
    Refused("= MISSED", 0);
    Refused("\"state\" = MISSED", 0);
  }
  SECTION("keywords") {
    CHECK(MessageHas(FilterError("state = MISSED and direction = INBOUND", 15),
                     "expected AND or the end"));
    Refused("state = MISSED OR state = ENDED", 15);  // OR only inside parentheses
    Refused("state = MISSED direction = INBOUND", 15);
    Refused("AND state = MISSED", 0);
    CHECK(MessageHas(FilterError("state = MISSED AND", 18), "expected a field"));
    Refused("state = MISSED AND AND direction = INBOUND", 19);
    Refused("(state = MISSED or state = ENDED)", 16);
  }
  SECTION("operators") {
    CHECK(MessageHas(FilterError("state MISSED", 6), "expected = or != after state"));
    Refused("state > MISSED", 6);
    Refused("direction <= INBOUND", 10);
    CHECK(MessageHas(FilterError("offered_time = \"2026-11-01T00:00:00Z\"", 13),
                     "expected >, >=, < or <= after offered_time"));
    CHECK(MessageHas(FilterError("contact.wa_id != \"1\"", 14), "expected = after contact.wa_id"));
    Refused("answered_by_agent_id > \"a\"", 21);
    Refused("state ! MISSED", 6);
    Refused("state =! MISSED", 7);
    Refused("state == MISSED", 7);
    Refused("state", 5);
  }
  SECTION("enum values") {
    CHECK(MessageHas(FilterError("state = DONE", 8), "expected OFFERED, RINGING"));
    Refused("state = UNSPECIFIED", 8);
    Refused("state = CALL_STATE_UNSPECIFIED", 8);
    Refused("state = missed", 8);
    Refused("state = MISSED;", 8);
    Refused("state = CALL_DIRECTION_INBOUND", 8);
    CHECK(MessageHas(FilterError("direction = inbound", 12), "expected INBOUND or OUTBOUND"));
    Refused("direction = CALL_DIRECTION_UNSPECIFIED", 12);
    Refused("direction =", 11);
    Refused("direction = (INBOUND)", 12);
  }
  SECTION("strings") {
    CHECK(MessageHas(FilterError("contact.wa_id = 5511", 16), "expected a string"));
    CHECK(MessageHas(FilterError("contact.wa_id = \"5511", 16), "unterminated"));
    Refused("contact.wa_id = \"55\\", 16);
    CHECK(MessageHas(FilterError("contact.wa_id = \"55\\n11\"", 16), "escaped"));
    Refused("answered_by_agent_id = \"a\" AND contact.wa_id = \"x\\'\"", 47);
  }
  SECTION("times") {
    const char* expected = "expected an RFC 3339 time";
    CHECK(MessageHas(FilterError("offered_time > \"2026-11-01\"", 15), expected));
    Refused("offered_time > 2026-11-01T00:00:00Z", 15);
    Refused("offered_time > \"2026-11-01T00:00:00\"", 15);  // no offset
    Refused("offered_time > \"2026-11-01 00:00:00Z\"", 15);
    Refused("offered_time > \"2026-02-30T00:00:00Z\"", 15);
    Refused("offered_time > \"2026-11-01T24:00:00Z\"", 15);
    Refused("offered_time > \" 2026-11-01T00:00:00Z\"", 15);
    Refused("offered_time > \"2026-11-01T00:00:00Z \"", 15);
    Refused("offered_time > \"\"", 15);
    Refused("offered_time > \"10000-01-01T00:00:00Z\"", 15);
    Refused("offered_time > \"now\"", 15);
  }
  SECTION("parentheses") {
    CHECK(MessageHas(FilterError("(state = MISSED", 15), "expected OR or )"));
    Refused("(state = MISSED OR state = ENDED", 32);
    Refused("state = MISSED)", 14);
    Refused("()", 1);
    Refused("((state = MISSED))", 1);
    Refused("(state = MISSED OR)", 18);
    Refused("(state = MISSED AND direction = INBOUND)", 16);
    Refused(")", 0);
  }
  SECTION("the first problem from the left is the one reported") {
    Refused("foo = \"unterminated", 0);
    Refused("state = MISSED AND contact.wa_id = \"x\\q\" AND bogus", 35);
  }
}

TEST_CASE("an OR group names one field and uses = only") {
  CHECK(MessageHas(FilterError("(state = MISSED OR direction = INBOUND)", 19), "same field"));
  CHECK(MessageHas(FilterError("(state != MISSED OR state != ENDED)", 7), "must use ="));
  Refused("(state = MISSED OR state != ENDED)", 25);
  Refused(
      "(offered_time > \"2026-11-01T00:00:00Z\" OR offered_time < "
      "\"2026-10-01T00:00:00Z\")",
      14);
  Refused("(contact.wa_id = \"1\" OR answered_by_agent_id = \"1\")", 24);
}

TEST_CASE("a field compared with = appears in one term only") {
  CHECK(
      MessageHas(FilterError("state = MISSED AND state = ENDED", 19), "(state = a OR state = b)"));
  Refused("(state = MISSED OR state = REJECTED) AND state = ENDED", 41);
  Refused("state = MISSED AND (state = ENDED OR state = FAILED)", 20);
  Refused("direction = INBOUND AND direction = OUTBOUND", 24);
  Refused("contact.wa_id = \"1\" AND contact.wa_id = \"2\"", 24);
  Refused("business_phone_number_id = \"1\" AND business_phone_number_id = \"1\"", 35);
  Refused("answered_by_agent_id = \"a\" AND answered_by_agent_id = \"b\"", 31);
}

// ---- callback filter ---------------------------------------------------------------------------

CallbackFilter MustParseCallbacks(const std::string& text) {
  auto filter = ParseCallbackFilter(text);
  INFO(text << " -> " << filter.status().ToString());
  REQUIRE(filter.ok());
  return *filter;
}

absl::Status CallbackError(const std::string& text, size_t position) {
  return CheckInvalidFilter(text, ParseCallbackFilter(text).status(), position);
}

void RefusedCallbacks(const std::string& text, size_t position) {
  (void)CallbackError(text, position);
}

TEST_CASE("an empty or blank callback filter has no conditions") {
  for (const char* text : {"", " ", "\t\r\n "}) {
    CallbackFilter f = MustParseCallbacks(text);
    CHECK(f.states.empty());
    CHECK(f.not_states.empty());
    CHECK(f.assigned_agent_id.empty());
    CHECK(f.contact_wa_id.empty());
    CHECK_FALSE(f.due_after.has_value());
    CHECK_FALSE(f.due_before.has_value());
  }
}

TEST_CASE("callback state takes every state, bare, full or quoted, with = and !=") {
  const std::pair<const char*, v1::CallbackState> states[] = {
      {"PENDING", v1::CALLBACK_STATE_PENDING},
      {"DUE", v1::CALLBACK_STATE_DUE},
      {"COMPLETED", v1::CALLBACK_STATE_COMPLETED},
      {"CANCELED", v1::CALLBACK_STATE_CANCELED},
  };
  for (const auto& [name, state] : states) {
    const std::vector<v1::CallbackState> expected{state};
    for (const std::string& value :
         {std::string(name), absl::StrCat("CALLBACK_STATE_", name), absl::StrCat("\"", name, "\""),
          absl::StrCat("\"CALLBACK_STATE_", name, "\"")}) {
      CallbackFilter eq = MustParseCallbacks(absl::StrCat("state = ", value));
      CHECK(eq.states == expected);
      CHECK(eq.not_states.empty());
      CallbackFilter ne = MustParseCallbacks(absl::StrCat("state != ", value));
      CHECK(ne.states.empty());
      CHECK(ne.not_states == expected);
    }
  }
}

TEST_CASE("assigned_agent_id and contact.wa_id take quoted strings") {
  CallbackFilter f =
      MustParseCallbacks("assigned_agent_id = \"agent-7\" AND contact.wa_id = \"5511966881746\"");
  CHECK(f.assigned_agent_id == "agent-7");
  CHECK(f.contact_wa_id == "5511966881746");
  CHECK(MustParseCallbacks(R"(assigned_agent_id = "a \"b\" c\\d")").assigned_agent_id ==
        "a \"b\" c\\d");
  CHECK(MustParseCallbacks("assigned_agent_id = \"agente-José\"").assigned_agent_id ==
        "agente-José");
  CHECK(MustParseCallbacks(absl::StrCat("contact.wa_id = \"", std::string(128, '7'), "\""))
            .contact_wa_id.size() == 128);
}

TEST_CASE("due_time takes the four comparisons on an RFC 3339 time") {
  CallbackFilter f = MustParseCallbacks("due_time > \"2026-11-01T00:00:00Z\"");
  REQUIRE(f.due_after.has_value());
  CHECK(f.due_after->time == At("2026-11-01T00:00:00Z"));
  CHECK_FALSE(f.due_after->inclusive);
  CHECK_FALSE(f.due_before.has_value());

  f = MustParseCallbacks("due_time >= \"2026-11-01T01:00:00+01:00\"");
  REQUIRE(f.due_after.has_value());
  CHECK(f.due_after->time == At("2026-11-01T00:00:00Z"));
  CHECK(f.due_after->inclusive);

  f = MustParseCallbacks("due_time < \"2026-11-30T23:59:59.250-03:00\"");
  REQUIRE(f.due_before.has_value());
  CHECK(f.due_before->time == At("2026-12-01T02:59:59.250Z"));
  CHECK_FALSE(f.due_before->inclusive);
  CHECK_FALSE(f.due_after.has_value());

  f = MustParseCallbacks("due_time <= \"2026-12-01T00:00:00z\"");
  REQUIRE(f.due_before.has_value());
  CHECK(f.due_before->time == At("2026-12-01T00:00:00Z"));
  CHECK(f.due_before->inclusive);
}

TEST_CASE("a callback filter with every field, however it is spaced") {
  const std::string loose =
      "state = DUE AND state != PENDING AND assigned_agent_id = \"agent-7\" AND "
      "contact.wa_id = \"5511966881746\" AND due_time >= \"2026-11-01T00:00:00Z\" AND "
      "due_time < \"2026-11-02T00:00:00Z\"";
  const std::string tight =
      "\tstate=DUE AND state!=PENDING AND assigned_agent_id=\"agent-7\"\nAND "
      "contact.wa_id=\"5511966881746\" AND due_time>=\"2026-11-01T00:00:00Z\"\r\nAND "
      "due_time<\"2026-11-02T00:00:00Z\"  ";
  for (const std::string& text : {loose, tight}) {
    CallbackFilter f = MustParseCallbacks(text);
    CHECK(f.states == std::vector<v1::CallbackState>{v1::CALLBACK_STATE_DUE});
    CHECK(f.not_states == std::vector<v1::CallbackState>{v1::CALLBACK_STATE_PENDING});
    CHECK(f.assigned_agent_id == "agent-7");
    CHECK(f.contact_wa_id == "5511966881746");
    REQUIRE(f.due_after.has_value());
    CHECK(f.due_after->time == At("2026-11-01T00:00:00Z"));
    CHECK(f.due_after->inclusive);
    REQUIRE(f.due_before.has_value());
    CHECK(f.due_before->time == At("2026-11-02T00:00:00Z"));
    CHECK_FALSE(f.due_before->inclusive);
  }
}

TEST_CASE("callback state != repeats, sorted and without duplicates") {
  CallbackFilter f = MustParseCallbacks(
      "state != CANCELED AND state != COMPLETED AND state != CALLBACK_STATE_CANCELED");
  CHECK(f.not_states ==
        std::vector<v1::CallbackState>{v1::CALLBACK_STATE_COMPLETED, v1::CALLBACK_STATE_CANCELED});
  CHECK(f.states.empty());
}

TEST_CASE("repeated due_time bounds keep the tightest") {
  const std::string a = "\"2026-11-01T00:00:00Z\"";
  const std::string b = "\"2026-11-02T00:00:00Z\"";

  SECTION("the later lower bound, in either order") {
    for (const std::string& text : {absl::StrCat("due_time >= ", a, " AND due_time > ", b),
                                    absl::StrCat("due_time > ", b, " AND due_time >= ", a)}) {
      CallbackFilter f = MustParseCallbacks(text);
      REQUIRE(f.due_after.has_value());
      CHECK(f.due_after->time == At("2026-11-02T00:00:00Z"));
      CHECK_FALSE(f.due_after->inclusive);
      CHECK_FALSE(f.due_before.has_value());
    }
  }
  SECTION("the earlier upper bound, in either order") {
    for (const std::string& text : {absl::StrCat("due_time <= ", a, " AND due_time < ", b),
                                    absl::StrCat("due_time < ", b, " AND due_time <= ", a)}) {
      CallbackFilter f = MustParseCallbacks(text);
      REQUIRE(f.due_before.has_value());
      CHECK(f.due_before->time == At("2026-11-01T00:00:00Z"));
      CHECK(f.due_before->inclusive);
      CHECK_FALSE(f.due_after.has_value());
    }
  }
  SECTION("at the same time the exclusive bound is tighter") {
    for (const std::string& text : {absl::StrCat("due_time >= ", a, " AND due_time > ", a),
                                    absl::StrCat("due_time > ", a, " AND due_time >= ", a)}) {
      CallbackFilter f = MustParseCallbacks(text);
      REQUIRE(f.due_after.has_value());
      CHECK_FALSE(f.due_after->inclusive);
    }
    for (const std::string& text : {absl::StrCat("due_time <= ", a, " AND due_time < ", a),
                                    absl::StrCat("due_time < ", a, " AND due_time <= ", a)}) {
      CallbackFilter f = MustParseCallbacks(text);
      REQUIRE(f.due_before.has_value());
      CHECK_FALSE(f.due_before->inclusive);
    }
  }
  SECTION("three bounds at each end") {
    CallbackFilter f = MustParseCallbacks(absl::StrCat(
        "due_time > ", a, " AND due_time < \"2026-11-03T00:00:00Z\" AND due_time >= ", b,
        " AND due_time <= ", b, " AND due_time > \"2026-10-01T00:00:00Z\" AND ",
        "due_time < \"2026-12-01T00:00:00Z\""));
    REQUIRE(f.due_after.has_value());
    CHECK(f.due_after->time == At("2026-11-02T00:00:00Z"));
    CHECK(f.due_after->inclusive);
    REQUIRE(f.due_before.has_value());
    CHECK(f.due_before->time == At("2026-11-02T00:00:00Z"));
    CHECK(f.due_before->inclusive);
  }
}

TEST_CASE("callback filter errors name what was expected at the offending token") {
  SECTION("fields") {
    CHECK(MessageHas(CallbackError("foo = \"x\"", 0),
                     "expected a field: state, assigned_agent_id, contact.wa_id or due_time"));
    RefusedCallbacks("state = DUE AND agent = \"a\"", 16);
    RefusedCallbacks("State = DUE", 0);
    RefusedCallbacks("\"state\" = DUE", 0);
    RefusedCallbacks("= DUE", 0);
    // ListCalls' fields are not callback fields, and the other way round.
    RefusedCallbacks("direction = INBOUND", 0);
    RefusedCallbacks("offered_time > \"2026-11-01T00:00:00Z\"", 0);
    RefusedCallbacks("answered_by_agent_id = \"a\"", 0);
    Refused("due_time > \"2026-11-01T00:00:00Z\"", 0);
    Refused("assigned_agent_id = \"a\"", 0);
  }
  SECTION("operators") {
    CHECK(MessageHas(CallbackError("state > DUE", 6), "expected = or != after state"));
    RefusedCallbacks("state DUE", 6);
    CHECK(MessageHas(CallbackError("due_time = \"2026-11-01T00:00:00Z\"", 9),
                     "expected >, >=, < or <= after due_time"));
    RefusedCallbacks("due_time != \"2026-11-01T00:00:00Z\"", 9);
    CHECK(MessageHas(CallbackError("assigned_agent_id != \"a\"", 18),
                     "expected = after assigned_agent_id"));
    RefusedCallbacks("contact.wa_id > \"1\"", 14);
    CHECK(MessageHas(CallbackError("state ! DUE", 6), "'!' must be followed by '='"));
    RefusedCallbacks("state == DUE", 7);
    RefusedCallbacks("state", 5);
  }
  SECTION("state values") {
    CHECK(MessageHas(CallbackError("state = DONE", 8),
                     "expected PENDING, DUE, COMPLETED or CANCELED"));
    RefusedCallbacks("state = UNSPECIFIED", 8);
    RefusedCallbacks("state = CALLBACK_STATE_UNSPECIFIED", 8);
    RefusedCallbacks("state = CALLBACK_STATE_", 8);
    RefusedCallbacks("state = pending", 8);
    RefusedCallbacks("state = DUE;", 8);
    RefusedCallbacks("state != \"\"", 9);
    RefusedCallbacks("state =", 7);
    // A call state is not a callback state.
    RefusedCallbacks("state = MISSED", 8);
    RefusedCallbacks("state = CALL_STATE_MISSED", 8);
  }
  SECTION("string values") {
    CHECK(MessageHas(CallbackError("assigned_agent_id = agent-7", 20), "expected a string"));
    CHECK(MessageHas(CallbackError("assigned_agent_id = \"\"", 20), "1 to 128 bytes"));
    RefusedCallbacks(absl::StrCat("contact.wa_id = \"", std::string(129, '7'), "\""), 16);
    RefusedCallbacks("contact.wa_id = \"55\x01\"", 16);
    RefusedCallbacks("contact.wa_id = \"55\xff\"", 16);
  }
  SECTION("unterminated strings and bad escapes") {
    CHECK(MessageHas(CallbackError("contact.wa_id = \"5511", 16), "unterminated"));
    RefusedCallbacks("due_time < \"2026-11-01T00:00:00Z", 11);
    RefusedCallbacks("state = \"DUE", 8);
    CHECK(MessageHas(CallbackError("assigned_agent_id = \"a\\q\"", 20), "escaped"));
  }
  SECTION("times") {
    CHECK(MessageHas(CallbackError("due_time > \"2026-11-01\"", 11), "expected an RFC 3339 time"));
    RefusedCallbacks("due_time > 2026-11-01T00:00:00Z", 11);
    RefusedCallbacks("due_time > \"2026-11-01T00:00:00\"", 11);  // no offset
    RefusedCallbacks("due_time >= \"2026-02-30T00:00:00Z\"", 12);
    RefusedCallbacks("due_time <= \" 2026-11-01T00:00:00Z\"", 12);
    RefusedCallbacks("due_time < \"10000-01-01T00:00:00Z\"", 11);
    RefusedCallbacks("due_time < \"\"", 11);
  }
  SECTION("keywords") {
    CHECK(MessageHas(CallbackError("state = DUE and assigned_agent_id = \"a\"", 12),
                     "expected AND or the end"));
    RefusedCallbacks("state = DUE assigned_agent_id = \"a\"", 12);
    RefusedCallbacks("AND state = DUE", 0);
    CHECK(MessageHas(CallbackError("state = DUE AND", 15), "expected a field"));
    RefusedCallbacks("state = DUE AND AND state != PENDING", 16);
  }
}

TEST_CASE("a callback filter refuses OR and parentheses") {
  CHECK(MessageHas(CallbackError("state = DUE OR state = PENDING", 12), "OR is not allowed"));
  RefusedCallbacks("state != DUE OR state != PENDING", 13);
  RefusedCallbacks("OR state = DUE", 0);
  RefusedCallbacks("state = DUE AND OR", 16);
  // Lower case is not the keyword, so it is only "not AND".
  CHECK(MessageHas(CallbackError("state = DUE or state = PENDING", 12), "expected AND"));

  CHECK(MessageHas(CallbackError("(state = DUE)", 0), "parentheses are not allowed"));
  RefusedCallbacks("(state = DUE OR state = PENDING)", 0);
  RefusedCallbacks("state = DUE AND (state != PENDING)", 16);
  CHECK(MessageHas(CallbackError("state = DUE)", 11), "parentheses are not allowed"));
  RefusedCallbacks("state = DUE (", 12);
  RefusedCallbacks("()", 0);
  RefusedCallbacks(")", 0);
  // Where a value or an operator belongs, a parenthesis is a wrong value or operator.
  CHECK(MessageHas(CallbackError("state = (DUE)", 8), "expected PENDING"));
  CHECK(MessageHas(CallbackError("state (", 6), "expected = or !="));
}

TEST_CASE("a callback field compared with = appears once") {
  CHECK(MessageHas(CallbackError("state = DUE AND state = PENDING", 16),
                   "state = may appear only once"));
  RefusedCallbacks("state = DUE AND state = DUE", 16);
  RefusedCallbacks("state = DUE AND state != PENDING AND state = COMPLETED", 37);
  RefusedCallbacks("assigned_agent_id = \"a\" AND assigned_agent_id = \"b\"", 28);
  RefusedCallbacks("contact.wa_id = \"1\" AND contact.wa_id = \"1\"", 24);
  // "=" once next to any number of "!=" is fine.
  CallbackFilter f = MustParseCallbacks("state != PENDING AND state = DUE AND state != CANCELED");
  CHECK(f.states == std::vector<v1::CallbackState>{v1::CALLBACK_STATE_DUE});
  CHECK(f.not_states ==
        std::vector<v1::CallbackState>{v1::CALLBACK_STATE_PENDING, v1::CALLBACK_STATE_CANCELED});
}

TEST_CASE("a callback filter reports the first problem from the left") {
  RefusedCallbacks("state = DUE AND state = PENDING OR bogus", 16);
  RefusedCallbacks("bogus = \"unterminated", 0);
  RefusedCallbacks("state = DUE OR state = \"unterminated", 12);
  RefusedCallbacks("state = DUE AND contact.wa_id = \"x\\q\" AND (", 32);
  RefusedCallbacks("state = DONE AND (", 8);
}

// ---- contact search ----------------------------------------------------------------------------

TEST_CASE("Fold folds case, accents, compatibility forms and punctuation") {
  CHECK(Fold("  Ána   SOUZA!") == "ana souza");
  CHECK(Fold("Straße") == "strasse");
  CHECK(Fold("STRASSE") == "strasse");
  CHECK(Fold("José Müller") == "jose muller");
  CHECK(Fold("François Ñúñez Çelik") == "francois nunez celik");
  CHECK(Fold("Jose\xcc\x81") == "jose");  // an already decomposed accent
  CHECK(Fold("O'Brien-Smith, Jr.") == "o brien smith jr");
  CHECK(Fold("ＡＢＣ　１２３") == "abc 123");  // full-width letters, digits and space
  CHECK(Fold("ﬁsh") == "fish");                // ligature
  CHECK(Fold("Agent 007") == "agent 007");
  CHECK(Fold("") == "");
  CHECK(Fold(" ,.;!?- ") == "");
}

TEST_CASE("Fold drops emoji and symbols") {
  CHECK(Fold("Ana 😀 Souza 👍🏽") == "ana souza");
  CHECK(Fold("❤️Ana❤️") == "ana");
  CHECK(Fold("👨‍👩‍👧") == "");
  CHECK(Fold("€100 ™") == "100 tm");  // NFKC spells ™ as "TM"
}

TEST_CASE("Fold keeps other scripts and their marks") {
  // Devanagari vowel signs and the virama are combining marks that carry meaning.
  CHECK(Fold("राहुल शर्मा") == "राहुल शर्मा");
  CHECK(Fold("  राहुल,  शर्मा! ") == "राहुल शर्मा");
  CHECK(Fold("प्रिया १२३") == "प्रिया १२३");
  // Only Latin letters lose their accents: Greek and Cyrillic keep them (й is its own letter).
  CHECK(Fold("Άννα") == "άννα");
  CHECK(Fold("Андрей") == "андрей");
}

TEST_CASE("Fold reads ill-formed UTF-8 as a word break") {
  CHECK(Fold("ab\xff"
             "cd") == "ab cd");
  CHECK(Fold("\xc3") == "");
}

TEST_CASE("SearchKey is the folded name, the digits once, then the user id") {
  events::v1::ContactRef contact;
  contact.set_display_name("José Müller");
  contact.set_wa_id("5511966881746");
  contact.set_phone_e164("+5511966881746");
  CHECK(SearchKey(contact) == "jose muller 5511966881746");

  contact.set_phone_e164("+55 11 96688-1747");
  CHECK(SearchKey(contact) == "jose muller 5511966881746 5511966881747");

  contact.set_user_id("US.13491208655302741918");
  CHECK(SearchKey(contact) == "jose muller 5511966881746 5511966881747 us 13491208655302741918");

  events::v1::ContactRef only_user;
  only_user.set_user_id("US.1349");
  CHECK(SearchKey(only_user) == "us 1349");
  CHECK(SearchKey(events::v1::ContactRef()) == "");

  events::v1::ContactRef emoji_name;
  emoji_name.set_display_name("🙂");
  emoji_name.set_wa_id("4915112345678");
  CHECK(SearchKey(emoji_name) == "4915112345678");
}

std::string Needle(const std::string& query) {
  auto needle = NormalizeQuery(query);
  INFO(query << " -> " << needle.status().ToString());
  REQUIRE(needle.ok());
  return *needle;
}

void RequireInvalidQuery(const std::string& query) {
  auto needle = NormalizeQuery(query);
  REQUIRE_FALSE(needle.ok());
  CHECK(needle.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(core::ReasonOf(needle.status()) == "INVALID_QUERY");
}

TEST_CASE("NormalizeQuery: a number search keeps the digits") {
  CHECK(Needle("+55 (11) 9668-8174") == "551196688174");
  CHECK(Needle("11.9668.8174") == "1196688174");
  CHECK(Needle("5511") == "5511");
  CHECK(Needle(" 9 ") == "9");
  CHECK(Needle("\t+49 151\t") == "49151");
}

TEST_CASE("NormalizeQuery: anything else is folded text") {
  CHECK(Needle("  Ána   SOUZA!") == "ana souza");
  CHECK(Needle("Ana 11") == "ana 11");  // letters make it text
  CHECK(Needle("+55 11 #2") == "55 11 2");
  CHECK(Needle("१२३") == "१२३");  // Devanagari digits are not a phone number
  CHECK(Needle("राहुल") == "राहुल");
}

TEST_CASE("NormalizeQuery: nothing left means no search") {
  CHECK(Needle("") == "");
  CHECK(Needle("     ") == "");
  CHECK(Needle("+-().") == "");  // phone punctuation without a digit
  CHECK(Needle("!?!") == "");
  CHECK(Needle("😀") == "");
}

TEST_CASE("NormalizeQuery: at most 100 bytes of valid UTF-8") {
  CHECK(Needle(std::string(100, 'a')) == std::string(100, 'a'));
  RequireInvalidQuery(std::string(101, 'a'));
  std::string accents;
  for (int i = 0; i < 50; ++i) accents += "é";  // 100 bytes
  CHECK(Needle(accents) == std::string(50, 'e'));
  RequireInvalidQuery(accents + "e");
  RequireInvalidQuery(std::string(101, ' '));  // checked before anything is trimmed

  RequireInvalidQuery("ana\xff");
  RequireInvalidQuery("\xc3\x28");          // a lead byte without its continuation
  RequireInvalidQuery("\xc0\xaf");          // overlong "/"
  RequireInvalidQuery("\xed\xa0\x80");      // a UTF-16 surrogate
  RequireInvalidQuery("\xf4\x90\x80\x80");  // beyond U+10FFFF
}

TEST_CASE("a call matches when its SearchKey contains the needle") {
  events::v1::ContactRef contact;
  contact.set_display_name("José Müller");
  contact.set_wa_id("5511966881746");
  contact.set_phone_e164("+5511966881746");
  const std::string key = SearchKey(contact);
  for (const char* query :
       {"MULLER", "josé m", "Jose  Müller", "9668-8174", "+55 11", "(11) 9668"}) {
    INFO(query);
    CHECK(absl::StrContains(key, Needle(query)));
  }
  for (const char* query : {"Ana", "mullerx", "+55 12"}) {
    INFO(query);
    CHECK_FALSE(absl::StrContains(key, Needle(query)));
  }
}

// ---- page tokens -------------------------------------------------------------------------------

void RequireInvalidToken(const std::string& token, const std::string& fingerprint) {
  auto cursor = DecodePageToken(token, fingerprint);
  INFO("token: " << token);
  REQUIRE_FALSE(cursor.ok());
  CHECK(cursor.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(core::ReasonOf(cursor.status()) == "INVALID_PAGE_TOKEN");
}

TEST_CASE("a page token round-trips the cursor for the same fingerprint") {
  const std::string fingerprint = Fingerprint(MustParse("state = MISSED"), "ana");
  for (const Cursor& cursor :
       {Cursor{At("2026-11-15T10:30:00.123456Z"), "0193a6a0-7c1e-7b3a-9f00-1d2e3f405060"},
        Cursor{At("1969-12-31T23:59:59.999999Z"), "x"}, Cursor{absl::UnixEpoch(), "café"}}) {
    const std::string token = EncodePageToken(cursor, fingerprint);
    // URL-safe without escaping.
    CHECK(token.find_first_not_of(
              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    auto decoded = DecodePageToken(token, fingerprint);
    REQUIRE(decoded.ok());
    REQUIRE(decoded->has_value());
    CHECK((*decoded)->time == cursor.time);
    CHECK((*decoded)->id == cursor.id);
  }
}

TEST_CASE("an empty page token is the first page") {
  auto decoded = DecodePageToken("", "anything");
  REQUIRE(decoded.ok());
  CHECK_FALSE(decoded->has_value());
}

TEST_CASE("a page token is refused for another filter or query") {
  const Cursor cursor{At("2026-11-15T10:30:00Z"), "call-1"};
  const std::string token =
      EncodePageToken(cursor, Fingerprint(MustParse("state = MISSED"), "ana"));
  RequireInvalidToken(token, Fingerprint(MustParse("state = ENDED"), "ana"));
  RequireInvalidToken(token, Fingerprint(MustParse("state = MISSED"), "ana s"));
  RequireInvalidToken(token, Fingerprint(Filter(), ""));
  // The filter and the needle cannot borrow from each other.
  CHECK(Fingerprint(Filter(), "state=CALL_STATE_MISSED;") !=
        Fingerprint(MustParse("state = MISSED"), ""));
  // The same filter written differently is the same list.
  auto decoded =
      DecodePageToken(token, Fingerprint(MustParse("(state = MISSED OR state = MISSED)"), "ana"));
  REQUIRE(decoded.ok());
  CHECK((*decoded)->id == "call-1");
}

// ---- time ranges -------------------------------------------------------------------------------

TEST_CASE("MonthOf is the calendar month in the zone") {
  auto [start, end] = MonthOf(At("2026-11-15T10:30:00Z"), absl::UTCTimeZone());
  CHECK(start == At("2026-11-01T00:00:00Z"));
  CHECK(end == At("2026-12-01T00:00:00Z"));

  // Still October in São Paulo.
  std::tie(start, end) = MonthOf(At("2026-11-01T02:00:00Z"), Zone("America/Sao_Paulo"));
  CHECK(start == At("2026-10-01T00:00:00-03:00"));
  CHECK(end == At("2026-11-01T00:00:00-03:00"));

  // Already January in Kolkata; the year rolls over.
  std::tie(start, end) = MonthOf(At("2026-12-31T19:00:00Z"), Zone("Asia/Kolkata"));
  CHECK(start == At("2027-01-01T00:00:00+05:30"));
  CHECK(end == At("2027-02-01T00:00:00+05:30"));

  // December's end is next year's first.
  std::tie(start, end) = MonthOf(At("2026-12-15T00:00:00Z"), absl::UTCTimeZone());
  CHECK(end == At("2027-01-01T00:00:00Z"));

  // A month with a DST change starts and ends at local midnight with different offsets.
  std::tie(start, end) = MonthOf(At("2026-03-15T12:00:00Z"), Zone("Europe/Berlin"));
  CHECK(start == At("2026-03-01T00:00:00+01:00"));
  CHECK(end == At("2026-04-01T00:00:00+02:00"));
  CHECK(end - start == absl::Hours(31 * 24 - 1));
}

Period MustResolve(v1::AnalyticsPeriod period, v1::TimeGranularity granularity, absl::Time now,
                   const absl::TimeZone& zone, std::optional<absl::Time> start = std::nullopt,
                   std::optional<absl::Time> end = std::nullopt) {
  auto resolved = ResolvePeriod(period, granularity, start, end, now, zone);
  INFO(resolved.status().ToString());
  REQUIRE(resolved.ok());
  const Period& p = *resolved;
  // The invariants every period keeps.
  REQUIRE_FALSE(p.bucket_starts.empty());
  CHECK(p.bucket_starts.front() == p.start);
  for (size_t i = 1; i < p.bucket_starts.size(); ++i) {
    CHECK(p.bucket_starts[i - 1] < p.bucket_starts[i]);
  }
  CHECK(p.bucket_starts.back() < p.end);
  CHECK(p.granularity != v1::TIME_GRANULARITY_UNSPECIFIED);
  return p;
}

void RequirePeriodError(const absl::StatusOr<Period>& resolved, const std::string& reason) {
  INFO(resolved.status().ToString());
  REQUIRE_FALSE(resolved.ok());
  CHECK(resolved.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(core::ReasonOf(resolved.status()) == reason);
}

// The lengths of the buckets, the last one ending at the period's end.
std::vector<absl::Duration> Widths(const Period& p) {
  std::vector<absl::Duration> widths;
  for (size_t i = 0; i < p.bucket_starts.size(); ++i) {
    absl::Time next = i + 1 < p.bucket_starts.size() ? p.bucket_starts[i + 1] : p.end;
    widths.push_back(next - p.bucket_starts[i]);
  }
  return widths;
}

const absl::Time kNow = absl::FromUnixSeconds(1794738600);  // 2026-11-15T10:30:00Z, a Sunday

TEST_CASE("LAST_24_HOURS: 24 hourly buckets from the local hour 23 h ago") {
  Period p = MustResolve(v1::ANALYTICS_PERIOD_LAST_24_HOURS, v1::TIME_GRANULARITY_UNSPECIFIED, kNow,
                         absl::UTCTimeZone());
  CHECK(p.granularity == v1::TIME_GRANULARITY_HOUR);
  CHECK(p.start == At("2026-11-14T11:00:00Z"));
  CHECK(p.end == kNow);
  REQUIRE(p.bucket_starts.size() == 24);
  CHECK(p.bucket_starts[23] == At("2026-11-15T10:00:00Z"));
  for (size_t i = 0; i < 23; ++i) CHECK(Widths(p)[i] == absl::Hours(1));
  CHECK(Widths(p)[23] == absl::Minutes(30));

  SECTION("the local hour is on the half hour in Kolkata") {
    // 10:00Z is 15:30 IST: the hour began at 15:00 IST, 09:30Z.
    Period k = MustResolve(v1::ANALYTICS_PERIOD_LAST_24_HOURS, v1::TIME_GRANULARITY_UNSPECIFIED,
                           At("2026-11-15T10:00:00Z"), Zone("Asia/Kolkata"));
    CHECK(k.start == At("2026-11-14T16:00:00+05:30"));
    REQUIRE(k.bucket_starts.size() == 24);
    CHECK(k.bucket_starts[23] == At("2026-11-15T09:30:00Z"));
  }
  SECTION("now on the hour: the current hour has not begun, so 23 buckets") {
    Period on = MustResolve(v1::ANALYTICS_PERIOD_LAST_24_HOURS, v1::TIME_GRANULARITY_UNSPECIFIED,
                            At("2026-11-15T10:00:00Z"), absl::UTCTimeZone());
    CHECK(on.start == At("2026-11-14T11:00:00Z"));
    CHECK(on.bucket_starts.size() == 23);
  }
  SECTION("during the repeated hour when Berlin leaves DST") {
    // 02:30 CET, the second 02:30 of 2026-10-25.
    const absl::Time now = At("2026-10-25T02:30:00+01:00");
    Period b = MustResolve(v1::ANALYTICS_PERIOD_LAST_24_HOURS, v1::TIME_GRANULARITY_UNSPECIFIED,
                           now, Zone("Europe/Berlin"));
    CHECK(b.start == At("2026-10-25T02:00:00+01:00") - absl::Hours(23));
    REQUIRE(b.bucket_starts.size() == 24);
    CHECK(b.bucket_starts[23] == At("2026-10-25T02:00:00+01:00"));
    for (size_t i = 0; i < 23; ++i) CHECK(Widths(b)[i] == absl::Hours(1));
  }
}

TEST_CASE("LAST_7_DAYS and LAST_30_DAYS start at local midnight") {
  Period week = MustResolve(v1::ANALYTICS_PERIOD_LAST_7_DAYS, v1::TIME_GRANULARITY_UNSPECIFIED,
                            kNow, absl::UTCTimeZone());
  CHECK(week.granularity == v1::TIME_GRANULARITY_DAY);
  CHECK(week.start == At("2026-11-09T00:00:00Z"));
  CHECK(week.end == kNow);
  CHECK(week.bucket_starts.size() == 7);

  Period month = MustResolve(v1::ANALYTICS_PERIOD_LAST_30_DAYS, v1::TIME_GRANULARITY_UNSPECIFIED,
                             kNow, absl::UTCTimeZone());
  CHECK(month.granularity == v1::TIME_GRANULARITY_DAY);
  CHECK(month.start == At("2026-10-17T00:00:00Z"));
  REQUIRE(month.bucket_starts.size() == 30);
  CHECK(month.bucket_starts[29] == At("2026-11-15T00:00:00Z"));

  // At 23:00 on the 14th in São Paulo "today" is still the 14th.
  Period sp = MustResolve(v1::ANALYTICS_PERIOD_LAST_7_DAYS, v1::TIME_GRANULARITY_UNSPECIFIED,
                          At("2026-11-15T02:00:00Z"), Zone("America/Sao_Paulo"));
  CHECK(sp.start == At("2026-11-08T00:00:00-03:00"));
  CHECK(sp.bucket_starts.size() == 7);
  CHECK(sp.bucket_starts[6] == At("2026-11-14T00:00:00-03:00"));

  Period kolkata = MustResolve(v1::ANALYTICS_PERIOD_LAST_30_DAYS, v1::TIME_GRANULARITY_DAY, kNow,
                               Zone("Asia/Kolkata"));
  CHECK(kolkata.start == At("2026-10-17T00:00:00+05:30"));
  CHECK(kolkata.bucket_starts.size() == 30);

  Period hours = MustResolve(v1::ANALYTICS_PERIOD_LAST_30_DAYS, v1::TIME_GRANULARITY_HOUR, kNow,
                             absl::UTCTimeZone());
  CHECK(hours.bucket_starts.size() == 29 * 24 + 11);
}

TEST_CASE("THIS_MONTH and LAST_MONTH follow the local calendar") {
  Period this_month = MustResolve(v1::ANALYTICS_PERIOD_THIS_MONTH, v1::TIME_GRANULARITY_UNSPECIFIED,
                                  kNow, absl::UTCTimeZone());
  CHECK(this_month.granularity == v1::TIME_GRANULARITY_DAY);
  CHECK(this_month.start == At("2026-11-01T00:00:00Z"));
  CHECK(this_month.end == kNow);
  CHECK(this_month.bucket_starts.size() == 15);

  Period last_month = MustResolve(v1::ANALYTICS_PERIOD_LAST_MONTH, v1::TIME_GRANULARITY_UNSPECIFIED,
                                  kNow, absl::UTCTimeZone());
  CHECK(last_month.start == At("2026-10-01T00:00:00Z"));
  CHECK(last_month.end == At("2026-11-01T00:00:00Z"));
  CHECK(last_month.bucket_starts.size() == 31);

  // In January the previous month is last year's December.
  Period january = MustResolve(v1::ANALYTICS_PERIOD_LAST_MONTH, v1::TIME_GRANULARITY_MONTH,
                               At("2027-01-10T12:00:00Z"), Zone("America/Sao_Paulo"));
  CHECK(january.start == At("2026-12-01T00:00:00-03:00"));
  CHECK(january.end == At("2027-01-01T00:00:00-03:00"));
  CHECK(january.bucket_starts.size() == 1);

  Period kolkata = MustResolve(v1::ANALYTICS_PERIOD_THIS_MONTH, v1::TIME_GRANULARITY_WEEK,
                               At("2026-11-30T20:00:00Z"), Zone("Asia/Kolkata"));
  CHECK(kolkata.start == At("2026-12-01T00:00:00+05:30"));  // already December there
  CHECK(kolkata.bucket_starts.size() == 1);
}

TEST_CASE("a day with a DST change is one bucket of 23 or 25 hours") {
  const absl::TimeZone berlin = Zone("Europe/Berlin");
  Period march = MustResolve(v1::ANALYTICS_PERIOD_LAST_MONTH, v1::TIME_GRANULARITY_DAY,
                             At("2026-04-10T12:00:00Z"), berlin);
  CHECK(march.start == At("2026-03-01T00:00:00+01:00"));
  CHECK(march.end == At("2026-04-01T00:00:00+02:00"));
  REQUIRE(march.bucket_starts.size() == 31);
  CHECK(march.bucket_starts[28] == At("2026-03-29T00:00:00+01:00"));
  CHECK(march.bucket_starts[29] == At("2026-03-30T00:00:00+02:00"));
  CHECK(Widths(march)[27] == absl::Hours(24));
  CHECK(Widths(march)[28] == absl::Hours(23));
  CHECK(Widths(march)[29] == absl::Hours(24));

  Period october = MustResolve(v1::ANALYTICS_PERIOD_LAST_MONTH, v1::TIME_GRANULARITY_DAY,
                               At("2026-11-10T12:00:00Z"), berlin);
  REQUIRE(october.bucket_starts.size() == 31);
  CHECK(october.bucket_starts[24] == At("2026-10-25T00:00:00+02:00"));
  CHECK(Widths(october)[24] == absl::Hours(25));

  SECTION("hours across the change: 23 and 25 of them") {
    Period spring =
        MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_HOUR, kNow, berlin,
                    At("2026-03-29T00:00:00+01:00"), At("2026-03-30T00:00:00+02:00"));
    CHECK(spring.bucket_starts.size() == 23);
    Period autumn =
        MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_HOUR, kNow, berlin,
                    At("2026-10-25T00:00:00+02:00"), At("2026-10-26T00:00:00+01:00"));
    CHECK(autumn.bucket_starts.size() == 25);
    for (absl::Duration width : Widths(autumn)) CHECK(width == absl::Hours(1));
  }
  SECTION("a skipped midnight starts the day at the transition") {
    // São Paulo entered DST at 2018-11-04 00:00, which became 01:00.
    Period p = MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_DAY, kNow,
                           Zone("America/Sao_Paulo"), At("2018-11-03T00:00:00-03:00"),
                           At("2018-11-06T00:00:00-02:00"));
    REQUIRE(p.bucket_starts.size() == 3);
    CHECK(p.bucket_starts[1] == At("2018-11-04T01:00:00-02:00"));
    CHECK(Widths(p)[1] == absl::Hours(23));
  }
}

TEST_CASE("CUSTOM buckets start at the range's start, then on local boundaries") {
  const absl::TimeZone utc = absl::UTCTimeZone();
  SECTION("HOUR") {
    Period p = MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_HOUR, kNow, utc,
                           At("2026-11-10T10:17:00Z"), At("2026-11-10T13:00:00Z"));
    REQUIRE(p.bucket_starts.size() == 3);
    CHECK(p.bucket_starts[1] == At("2026-11-10T11:00:00Z"));
    CHECK(p.bucket_starts[2] == At("2026-11-10T12:00:00Z"));
  }
  SECTION("DAY is the default") {
    Period p =
        MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_UNSPECIFIED, kNow,
                    Zone("Asia/Kolkata"), At("2026-11-10T12:00:00Z"), At("2026-11-12T12:00:00Z"));
    CHECK(p.granularity == v1::TIME_GRANULARITY_DAY);
    REQUIRE(p.bucket_starts.size() == 3);
    CHECK(p.bucket_starts[1] == At("2026-11-11T00:00:00+05:30"));
    CHECK(p.bucket_starts[2] == At("2026-11-12T00:00:00+05:30"));
  }
  SECTION("WEEK starts on Monday") {
    // Wednesday 11 November to Sunday 29 November.
    Period p = MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_WEEK, kNow,
                           Zone("America/Sao_Paulo"), At("2026-11-11T09:00:00-03:00"),
                           At("2026-11-29T00:00:00-03:00"));
    REQUIRE(p.bucket_starts.size() == 3);
    CHECK(p.bucket_starts[1] == At("2026-11-16T00:00:00-03:00"));
    CHECK(p.bucket_starts[2] == At("2026-11-23T00:00:00-03:00"));
    // From a Monday midnight the next week is 7 days on.
    Period monday = MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_WEEK, kNow, utc,
                                At("2026-11-16T00:00:00Z"), At("2026-11-30T00:00:00Z"));
    REQUIRE(monday.bucket_starts.size() == 2);
    CHECK(monday.bucket_starts[1] == At("2026-11-23T00:00:00Z"));
    // A Sunday start: the next day is Monday.
    Period sunday = MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_WEEK, kNow, utc,
                                At("2026-11-15T00:00:00Z"), At("2026-11-17T00:00:00Z"));
    REQUIRE(sunday.bucket_starts.size() == 2);
    CHECK(sunday.bucket_starts[1] == At("2026-11-16T00:00:00Z"));
  }
  SECTION("WEEK over a DST change is 167 hours") {
    Period p = MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_WEEK, kNow,
                           Zone("Europe/Berlin"), At("2026-03-23T00:00:00+01:00"),
                           At("2026-04-06T00:00:00+02:00"));
    REQUIRE(p.bucket_starts.size() == 2);
    CHECK(Widths(p)[0] == absl::Hours(7 * 24 - 1));
  }
  SECTION("MONTH") {
    Period p = MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_MONTH, kNow, utc,
                           At("2026-01-15T00:00:00Z"), At("2026-12-31T00:00:00Z"));
    REQUIRE(p.bucket_starts.size() == 12);
    CHECK(p.bucket_starts[1] == At("2026-02-01T00:00:00Z"));
    CHECK(p.bucket_starts[11] == At("2026-12-01T00:00:00Z"));
    Period thirty =
        MustResolve(v1::ANALYTICS_PERIOD_LAST_30_DAYS, v1::TIME_GRANULARITY_MONTH, kNow, utc);
    REQUIRE(thirty.bucket_starts.size() == 2);
    CHECK(thirty.bucket_starts[1] == At("2026-11-01T00:00:00Z"));
  }
  SECTION("times in the future are the caller's business") {
    Period p = MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_DAY,
                           At("2026-01-01T00:00:00Z"), utc, At("2026-11-10T00:00:00Z"),
                           At("2026-11-11T00:00:00Z"));
    CHECK(p.bucket_starts.size() == 1);
  }
}

TEST_CASE("explicit granularities are kept for presets") {
  CHECK(MustResolve(v1::ANALYTICS_PERIOD_LAST_24_HOURS, v1::TIME_GRANULARITY_DAY, kNow,
                    absl::UTCTimeZone())
            .bucket_starts.size() == 2);
  CHECK(MustResolve(v1::ANALYTICS_PERIOD_LAST_7_DAYS, v1::TIME_GRANULARITY_HOUR, kNow,
                    absl::UTCTimeZone())
            .bucket_starts.size() == 6 * 24 + 11);
  Period weeks = MustResolve(v1::ANALYTICS_PERIOD_LAST_30_DAYS, v1::TIME_GRANULARITY_WEEK, kNow,
                             absl::UTCTimeZone());
  CHECK(weeks.granularity == v1::TIME_GRANULARITY_WEEK);
  // Saturday 17 October, then the Mondays 19 and 26 October, 2 and 9 November.
  CHECK(weeks.bucket_starts.size() == 5);
}

TEST_CASE("ResolvePeriod refuses at most 1000 buckets and 400 days") {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time start = At("2026-01-01T00:00:00Z");
  SECTION("1000 buckets, not 1001") {
    CHECK(MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_HOUR, kNow, utc, start,
                      start + absl::Hours(1000))
              .bucket_starts.size() == 1000);
    auto over = ResolvePeriod(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_HOUR, start,
                              start + absl::Hours(1000) + absl::Seconds(1), kNow, utc);
    RequirePeriodError(over, "TOO_MANY_BUCKETS");
    CHECK(core::MetadataOf(over.status()) == core::ErrorMetadata{{"max_buckets", "1000"}});
    // An unaligned start adds a partial first bucket.
    RequirePeriodError(ResolvePeriod(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_HOUR,
                                     start + absl::Minutes(30),
                                     start + absl::Hours(1000) + absl::Minutes(1), kNow, utc),
                       "TOO_MANY_BUCKETS");
    RequirePeriodError(ResolvePeriod(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_HOUR, start,
                                     start + absl::Hours(24 * 400), kNow, utc),
                       "TOO_MANY_BUCKETS");
  }
  SECTION("400 days, not 401") {
    CHECK(MustResolve(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_DAY, kNow, utc, start,
                      start + absl::Hours(24 * 400))
              .bucket_starts.size() == 400);
    auto over = ResolvePeriod(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_DAY, start,
                              start + absl::Hours(24 * 401), kNow, utc);
    RequirePeriodError(over, "RANGE_TOO_LONG");
    CHECK(core::MetadataOf(over.status()) == core::ErrorMetadata{{"max_days", "400"}});
    RequirePeriodError(ResolvePeriod(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_MONTH, start,
                                     start + absl::Hours(24 * 400) + absl::Seconds(1), kNow, utc),
                       "RANGE_TOO_LONG");
  }
}

TEST_CASE("ResolvePeriod errors") {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time a = At("2026-11-01T00:00:00Z");
  const absl::Time b = At("2026-11-02T00:00:00Z");
  SECTION("MISSING_PERIOD") {
    RequirePeriodError(ResolvePeriod(v1::ANALYTICS_PERIOD_UNSPECIFIED,
                                     v1::TIME_GRANULARITY_UNSPECIFIED, a, b, kNow, utc),
                       "MISSING_PERIOD");
    RequirePeriodError(ResolvePeriod(static_cast<v1::AnalyticsPeriod>(99), v1::TIME_GRANULARITY_DAY,
                                     a, b, kNow, utc),
                       "MISSING_PERIOD");
  }
  SECTION("INVALID_GRANULARITY") {
    RequirePeriodError(
        ResolvePeriod(v1::ANALYTICS_PERIOD_LAST_7_DAYS, static_cast<v1::TimeGranularity>(5),
                      std::nullopt, std::nullopt, kNow, utc),
        "INVALID_GRANULARITY");
    RequirePeriodError(
        ResolvePeriod(v1::ANALYTICS_PERIOD_LAST_7_DAYS, static_cast<v1::TimeGranularity>(-1),
                      std::nullopt, std::nullopt, kNow, utc),
        "INVALID_GRANULARITY");
  }
  SECTION("INVALID_RANGE") {
    const auto custom = [&](std::optional<absl::Time> start, std::optional<absl::Time> end) {
      return ResolvePeriod(v1::ANALYTICS_PERIOD_CUSTOM, v1::TIME_GRANULARITY_UNSPECIFIED, start,
                           end, kNow, utc);
    };
    RequirePeriodError(custom(std::nullopt, std::nullopt), "INVALID_RANGE");
    RequirePeriodError(custom(a, std::nullopt), "INVALID_RANGE");
    RequirePeriodError(custom(std::nullopt, b), "INVALID_RANGE");
    RequirePeriodError(custom(a, a), "INVALID_RANGE");
    RequirePeriodError(custom(b, a), "INVALID_RANGE");
    CHECK(custom(a, a + absl::Microseconds(1)).ok());
  }
  SECTION("presets ignore custom times") {
    auto p = ResolvePeriod(v1::ANALYTICS_PERIOD_LAST_7_DAYS, v1::TIME_GRANULARITY_UNSPECIFIED, b, a,
                           kNow, utc);
    REQUIRE(p.ok());
    CHECK(p->start == At("2026-11-09T00:00:00Z"));
  }
}

}  // namespace
}  // namespace switchboard::calls::query

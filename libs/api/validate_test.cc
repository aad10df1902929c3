#include "libs/api/validate.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::api {
namespace {

using core::MetadataOf;
using core::ReasonOf;

TEST_CASE("ids are 1-64 characters of [A-Za-z0-9._-]") {
  CHECK(IsId("a"));
  CHECK(IsId("0193a6a0-7c1e-7b3a-9f00-1d2e3f405060"));
  CHECK(IsId(std::string(64, 'x')));
  CHECK_FALSE(IsId(""));
  CHECK_FALSE(IsId(std::string(65, 'x')));
  for (const char* bad : {"a b", "a}b", "a:b", "ação", "a\n", "a/b"}) {
    INFO(bad);
    CHECK_FALSE(IsId(bad));
  }
  CHECK(ReasonOf(RequireId("", "call_id")) == "MISSING_CALL_ID");
  CHECK(MetadataOf(RequireId("", "call_id")).at("field") == "call_id");
  CHECK(ReasonOf(RequireId("a b", "call_id")) == "INVALID_ID");
  CHECK(ReasonOf(RequireId("a b", "request_id")) == "INVALID_REQUEST_ID");
  CHECK(ReasonOf(RequireId("", "request_id")) == "MISSING_REQUEST_ID");
  CHECK(OptionalId("", "request_id").ok());
  CHECK(ReasonOf(OptionalId("x y", "request_id")) == "INVALID_REQUEST_ID");
  CHECK(MissingReason("contact.wa_id") == "MISSING_WA_ID");
  CHECK(MissingReason("weekly_operating_hours[2].day_of_week") == "MISSING_DAY_OF_WEEK");
}

TEST_CASE("text is checked in characters, as UTF-8") {
  CHECK(IsValidUtf8("José 🙂"));
  CHECK_FALSE(IsValidUtf8("\xff"));
  CHECK_FALSE(IsValidUtf8("\xc3"));          // truncated sequence
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));  // a surrogate
  CHECK(IsValidUtf8("a\nb"));
  CHECK_FALSE(IsValidUtf8("a\nb", /*allow_controls=*/false));
  CHECK(Utf8Chars("नमस्ते") == 6);
  CHECK(Utf8Chars("🙂🙂") == 2);

  CHECK(Text("", "note", {.max_chars = 3}).ok());
  CHECK(ReasonOf(Text("", "note", {.required = true})) == "MISSING_NOTE");
  CHECK(Text("ééé", "note", {.max_chars = 3}).ok());  // 6 bytes, 3 characters
  absl::Status longer = Text("éééé", "note", {.max_chars = 3});
  CHECK(ReasonOf(longer) == "TEXT_TOO_LONG");
  CHECK(MetadataOf(longer).at("max_chars") == "3");
  CHECK(ReasonOf(Text("a\xff", "note", {})) == "INVALID_TEXT");
  CHECK(ReasonOf(Text("a\tb", "name", {.single_line = true})) == "INVALID_TEXT");
}

TEST_CASE("CutUtf8 never splits a character") {
  // 68 Devanagari characters of 3 bytes: a byte cut at 200 would land inside one.
  std::string hindi;
  for (int i = 0; i < 68; ++i) hindi += "न";
  REQUIRE(hindi.size() == 204);
  CHECK(IsValidUtf8(hindi.substr(0, 200)) == false);
  std::string cut = CutUtf8(hindi, 66);
  CHECK(cut.size() == 198);
  CHECK(IsValidUtf8(cut));
  CHECK(CutUtf8(hindi, 1000) == hindi);
  CHECK(CutUtf8("🙂a", 1) == "🙂");
  CHECK(CutUtf8("abc", 0).empty());
}

TEST_CASE("contacts need an id; phones must be E.164") {
  events::v1::ContactRef c;
  CHECK(ReasonOf(Contact(c, "contact")) == "MISSING_CONTACT");
  c.set_user_id("US.13491208655302741918");
  CHECK(Contact(c, "contact").ok());
  CHECK(ContactKey(c) == "US.13491208655302741918");
  c.set_wa_id("5511966881746");
  CHECK(ContactKey(c) == "5511966881746");
  c.set_wa_id("55}:evil");
  CHECK(ReasonOf(Contact(c, "contact")) == "INVALID_CONTACT");
  CHECK(MetadataOf(Contact(c, "contact")).at("field") == "contact.wa_id");
  c.set_wa_id("5511966881746");
  c.set_phone_e164("+55119");
  CHECK(ReasonOf(Contact(c, "contact")) == "INVALID_PHONE_NUMBER");
  c.set_phone_e164("5511966881746");  // no '+'
  CHECK(ReasonOf(Contact(c, "contact")) == "INVALID_PHONE_NUMBER");
  c.set_phone_e164("+5511966881746");
  CHECK(Contact(c, "contact").ok());
  c.set_display_name(std::string(257, 'a'));
  CHECK(ReasonOf(Contact(c, "contact")) == "TEXT_TOO_LONG");
  CHECK(RegionOf("+5511966881746") == "BR");
  CHECK(RegionOf("+919876543210") == "IN");
  CHECK(RegionOf("+1234").empty());
  CHECK(RegionOf("").empty());
}

TEST_CASE("enums: UNSPECIFIED is missing, unknown numbers are invalid") {
  const auto* type = calls::v1::CallState_descriptor();
  CHECK(ReasonOf(RequireEnum(0, type, "state")) == "MISSING_STATE");
  CHECK(RequireEnum(calls::v1::CALL_STATE_MISSED, type, "state").ok());
  absl::Status unknown = RequireEnum(100000, type, "state");
  CHECK(ReasonOf(unknown) == "INVALID_ENUM");
  CHECK(MetadataOf(unknown).at("value") == "100000");
  CHECK(OptionalEnum(0, type, "state").ok());
  CHECK(ReasonOf(OptionalEnum(-1, type, "state")) == "INVALID_ENUM");
}

TEST_CASE("times outside Timestamp's range or not believable are refused") {
  const absl::Time now = absl::FromUnixSeconds(1796000000);  // 2026-12
  google::protobuf::Timestamp t;
  t.set_seconds(1795990000);
  CHECK(PastTime(t, now, "at").ok());
  t.set_seconds(1796000000 + 3600);
  CHECK(ReasonOf(PastTime(t, now, "at").status()) == "INVALID_TIME");
  t.set_seconds(1000);  // 1970
  CHECK(ReasonOf(PastTime(t, now, "at").status()) == "INVALID_TIME");
  t.set_seconds(INT64_MAX);
  CHECK(ReasonOf(Time(t, "at").status()) == "INVALID_TIME");
  t.set_seconds(0);
  t.set_nanos(-1);
  CHECK(ReasonOf(Time(t, "at").status()) == "INVALID_TIME");
  CHECK(TimeZone("Asia/Kolkata", "tz").ok());
  CHECK(ReasonOf(TimeZone("Mars/Olympus", "tz").status()) == "INVALID_TIME_ZONE");
  CHECK(ReasonOf(TimeZone("", "tz").status()) == "INVALID_TIME_ZONE");
}

TEST_CASE("duration settings: both ends included, whole milliseconds") {
  auto at = [](int64_t seconds, int32_t nanos = 0) {
    google::protobuf::Duration d;
    d.set_seconds(seconds);
    d.set_nanos(nanos);
    return DurationSetting(d, "settings.x", absl::Seconds(1), absl::Hours(24));
  };
  CHECK(*at(1) == absl::Seconds(1));
  CHECK(*at(86400) == absl::Hours(24));
  CHECK(*at(1, 500000000) == absl::Milliseconds(1500));
  for (const absl::StatusOr<absl::Duration>& refused :
       {at(0, 999000000), at(86400, 1000000), at(2, 500000), at(-5)}) {
    CHECK(ReasonOf(refused.status()) == "SETTING_OUT_OF_RANGE");
    CHECK(MetadataOf(refused.status())["field"] == "settings.x");
  }
  CHECK(at(0).status().message() == "settings.x must be from 1s to 24h, in whole milliseconds");
  absl::Status count = SettingOutOfRange("settings.n", "from 0 (never) to 10");
  CHECK(count.message() == "settings.n must be from 0 (never) to 10");
  CHECK(MetadataOf(count)["field"] == "settings.n");
}

TEST_CASE("roles and acting for another agent") {
  auth::Principal agent{.tenant_id = "acme", .subject = "agent-1", .roles = {"agent"}};
  auth::Principal supervisor{.tenant_id = "acme", .subject = "sup", .roles = {"supervisor"}};
  absl::Status denied = RequireRole(agent, "admin");
  CHECK(denied.code() == absl::StatusCode::kPermissionDenied);
  CHECK(ReasonOf(denied) == "ADMIN_ROLE_REQUIRED");
  CHECK(RequireRole(supervisor, "supervisor").ok());

  CHECK(*ActingAgent(agent, "", "agent_id", {"supervisor"}) == "agent-1");
  CHECK(*ActingAgent(agent, "agent-1", "agent_id", {"supervisor"}) == "agent-1");
  CHECK(ReasonOf(ActingAgent(agent, "agent-2", "agent_id", {"supervisor"}).status()) ==
        "NOT_CALLER_AGENT");
  CHECK(*ActingAgent(supervisor, "agent-2", "agent_id", {"supervisor"}) == "agent-2");
  CHECK(ReasonOf(ActingAgent(supervisor, "a b", "agent_id", {"supervisor"}).status()) ==
        "INVALID_ID");
}

TEST_CASE("not found names the entity") {
  CHECK(ReasonOf(NotFound("call")) == "CALL_NOT_FOUND");
  CHECK(ReasonOf(NotFound("phone number")) == "PHONE_NUMBER_NOT_FOUND");
  CHECK(NotFound("call").code() == absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace switchboard::api

#include "services/notifications/rules/notices.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"

namespace rules = switchboard::notifications::rules;
namespace v1 = switchboard::notifications::v1;
namespace bv1 = switchboard::billing::v1;
namespace ev1 = switchboard::eligibility::v1;
namespace core = switchboard::core;

namespace {

v1::NoticeSettings Settings() {
  v1::NoticeSettings s;
  s.set_business_phone_number_id("106540352242922");
  s.add_recipient_wa_ids("5511999990000");
  s.add_recipient_wa_ids("14155550100");
  s.set_usage_alerts(true);
  s.set_suspension_alerts(true);
  return s;
}

bv1::UsageUpdated Usage(bv1::UsageLevel alert) {
  bv1::UsageUpdated u;
  u.mutable_header()->set_tenant_id("acme");
  u.set_month("2026-11");
  u.set_minutes_used(812);
  u.set_minutes_limit(1000);
  u.set_percent_used(81);
  u.set_alert(alert);
  return u;
}

ev1::CallingSuspensionChanged Suspension(bool suspended) {
  ev1::CallingSuspensionChanged e;
  e.mutable_header()->set_tenant_id("acme");
  e.set_business_phone_number_id("106540352242922");
  e.set_suspended(suspended);
  if (suspended) {
    e.set_reason_code("SUSPENDED_MISSED_CALLS");
    *e.mutable_suspended_until_time() =
        core::ToProto(absl::FromUnixSeconds(1'780'000'000));  // 20:26 UTC
    e.set_missed_call_count(5);
  }
  return e;
}

// The reason and field an invalid setting is refused with.
std::pair<std::string, std::string> Refusal(const v1::NoticeSettings& s) {
  absl::Status st = rules::ValidateNoticeSettings(s);
  if (st.ok()) return {"OK", ""};
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  return {core::ReasonOf(st), core::MetadataOf(st)["field"]};
}

}  // namespace

TEST_CASE("notice settings: off by default, and every bad field named") {
  CHECK(Refusal(v1::NoticeSettings()).first == "OK");  // turning notices off
  CHECK(Refusal(Settings()).first == "OK");

  v1::NoticeSettings s = Settings();
  s.clear_business_phone_number_id();
  CHECK(Refusal(s) == std::pair<std::string, std::string>{"MISSING_BUSINESS_PHONE_NUMBER_ID",
                                                          "settings.business_phone_number_id"});
  s = Settings();
  s.set_business_phone_number_id("106540352242922'; DROP TABLE");
  CHECK(Refusal(s).first == "INVALID_ID");

  s = Settings();
  s.clear_recipient_wa_ids();
  CHECK(Refusal(s).first == "MISSING_RECIPIENT_WA_IDS");
  s.set_usage_alerts(false);
  s.set_suspension_alerts(false);
  CHECK(Refusal(s).first == "OK");  // a number kept, nobody told

  for (const char* bad :
       {"+5511999990000", "55 11 99999 0000", "123", "5511999990000123456", "00000000000", ""}) {
    INFO(bad);
    s = Settings();
    s.add_recipient_wa_ids(bad);
    CHECK(Refusal(s) == std::pair<std::string, std::string>{"INVALID_PHONE_NUMBER",
                                                            "settings.recipient_wa_ids[2]"});
  }
  s = Settings();
  s.add_recipient_wa_ids("5511999990000");
  CHECK(Refusal(s) ==
        std::pair<std::string, std::string>{"DUPLICATE_RECIPIENT", "settings.recipient_wa_ids[2]"});
  s = Settings();
  for (int i = 2; i < rules::kMaxNoticeRecipients; ++i) {
    s.add_recipient_wa_ids(absl::StrCat("55119999900", 10 + i));
  }
  CHECK(Refusal(s).first == "OK");  // exactly 10
  s.add_recipient_wa_ids("5511999990099");
  CHECK(Refusal(s).first == "TOO_MANY_RECIPIENTS");

  s = Settings();
  s.mutable_fallback_template()->set_name("usage_notice");
  CHECK(Refusal(s).first == "MISSING_LANGUAGE_CODE");
  s.mutable_fallback_template()->set_language_code("en_US");
  CHECK(Refusal(s).first == "OK");
  s.mutable_fallback_template()->set_name(std::string(513, 'a'));
  CHECK(Refusal(s).first == "TEXT_TOO_LONG");
  s.mutable_fallback_template()->set_name("usage\nnotice");
  CHECK(Refusal(s).first == "INVALID_TEXT");
}

TEST_CASE("a usage alert becomes one notice per recipient, with ids stable across replays") {
  std::vector<rules::Notice> notices =
      rules::NoticesFor(Settings(), Usage(bv1::USAGE_LEVEL_WARNING), "ev-1");
  REQUIRE(notices.size() == 2);
  CHECK(notices[0].event_id == "notice.usage.ev-1.5511999990000");
  CHECK(notices[1].event_id == "notice.usage.ev-1.14155550100");
  const v1::OutboundMessageRequested& m = notices[0].message;
  CHECK(m.business_phone_number_id() == "106540352242922");
  CHECK(m.contact().wa_id() == "5511999990000");
  CHECK(m.reason() == v1::OUTBOUND_REASON_SYSTEM_NOTICE);
  CHECK(m.text() ==
        "Switchboard: calling minutes for 2026-11 are at 81% of the monthly limit (812 / 1000 "
        "min). Calls stop when the limit is reached; buy more minutes in Billing > Usage.");
  CHECK_FALSE(m.has_fallback_template());
  // The same event again: the same ids (the sender sends each once).
  CHECK(rules::NoticesFor(Settings(), Usage(bv1::USAGE_LEVEL_WARNING), "ev-1")[1].event_id ==
        notices[1].event_id);

  std::vector<rules::Notice> exhausted =
      rules::NoticesFor(Settings(), Usage(bv1::USAGE_LEVEL_EXHAUSTED), "ev-2");
  REQUIRE(exhausted.size() == 2);
  CHECK(absl::StrContains(exhausted[0].message.text(),
                          "monthly calling limit for 2026-11 is "
                          "reached (812 / 1000 min)"));

  // No alert raised (most updates), or usage alerts not asked for: nothing.
  CHECK(rules::NoticesFor(Settings(), Usage(bv1::USAGE_LEVEL_UNSPECIFIED), "ev-3").empty());
  v1::NoticeSettings quiet = Settings();
  quiet.set_usage_alerts(false);
  CHECK(rules::NoticesFor(quiet, Usage(bv1::USAGE_LEVEL_WARNING), "ev-4").empty());
  CHECK(rules::NoticesFor(v1::NoticeSettings(), Usage(bv1::USAGE_LEVEL_WARNING), "ev-5").empty());
}

TEST_CASE("a suspension notice names the number; outside the window the template carries it") {
  v1::NoticeSettings s = Settings();
  s.mutable_fallback_template()->set_name("admin_notice");
  s.mutable_fallback_template()->set_language_code("en_US");
  std::vector<rules::Notice> on = rules::NoticesFor(s, Suspension(true), "ev-9");
  REQUIRE(on.size() == 2);
  CHECK(on[0].event_id == "notice.suspension.ev-9.5511999990000");
  const std::string text =
      "Switchboard, number 106540352242922: Calling from this number is suspended until 20:26 "
      "UTC after 5 missed calls.";
  CHECK(on[0].message.text() == text);
  REQUIRE(on[0].message.has_fallback_template());
  CHECK(on[0].message.fallback_template().name() == "admin_notice");
  CHECK(on[0].message.fallback_template().language_code() == "en_US");
  CHECK(std::vector<std::string>(on[0].message.fallback_template().body_parameters().begin(),
                                 on[0].message.fallback_template().body_parameters().end()) ==
        std::vector<std::string>{text});

  std::vector<rules::Notice> off = rules::NoticesFor(s, Suspension(false), "ev-10");
  REQUIRE(off.size() == 2);
  CHECK(off[1].message.text() ==
        "Switchboard, number 106540352242922: Calling from this number is allowed again.");

  s.set_suspension_alerts(false);
  CHECK(rules::NoticesFor(s, Suspension(true), "ev-11").empty());
}

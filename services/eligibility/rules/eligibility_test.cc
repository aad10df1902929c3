#include "services/eligibility/rules/eligibility.h"

#include <catch2/catch.hpp>

namespace rules = switchboard::eligibility::rules;
using rules::AgentState;
using rules::CallingRestriction;
using rules::CallKind;
using rules::Decision;
using rules::Evaluate;
using rules::Facts;
using rules::Permission;
using rules::Policy;
using rules::Quality;
using rules::Reason;
using rules::Request;

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);

// A contact every rule lets through: recent message, a call request, a yes to an offer,
// long-term consent, permanent permission, green number, available agent, no counters.
Facts Green() {
  Facts f;
  f.contact.last_inbound_message = kNow - absl::Hours(1);
  f.contact.call_requested = kNow - absl::Minutes(10);
  f.contact.offer_made = kNow - absl::Minutes(20);
  f.contact.offer_accepted = kNow - absl::Minutes(15);
  f.contact.long_term_consent = kNow - absl::Hours(24 * 30);
  f.contact.permission = Permission::kPermanent;
  f.quality = Quality::kGreen;
  f.agent = AgentState::kAvailable;
  f.usage = {.known = true, .minutes_used = 10, .minutes_limit = 1000};
  return f;
}

Decision Check(const Facts& f, CallKind kind = CallKind::kUserRequested, Policy p = {},
               absl::Time now = kNow) {
  return Evaluate({.kind = kind}, f, p, now);
}

std::vector<absl::Time> Ago(std::initializer_list<absl::Duration> ds) {
  std::vector<absl::Time> out;
  for (auto d : ds) out.push_back(kNow - d);
  return out;
}

}  // namespace

TEST_CASE("the green baseline is eligible for every kind of call") {
  for (CallKind kind :
       {CallKind::kUserRequested, CallKind::kAgentOffered, CallKind::kLongTermConsent}) {
    Decision d = Check(Green(), kind);
    CHECK(d.eligible());
    CHECK(d.warnings.empty());
    CHECK_FALSE(d.degraded);
  }
}

TEST_CASE("opt-outs and declines block until the contact asks again") {
  Facts f = Green();
  f.contact.opted_out = kNow - absl::Minutes(5);  // after the call request 10 min ago
  CHECK(Check(f).Blocks("OPTED_OUT"));
  f.contact.call_requested = kNow - absl::Minutes(1);  // "call me" after the opt-out
  CHECK_FALSE(Check(f).Blocks("OPTED_OUT"));

  f = Green();
  f.contact.declined = kNow - absl::Minutes(5);
  f.contact.offer_accepted.reset();
  f.contact.long_term_consent.reset();
  CHECK(Check(f).Blocks("DECLINED_PREVIOUSLY"));
  f.contact.call_requested = kNow - absl::Minutes(4);
  CHECK_FALSE(Check(f).Blocks("DECLINED_PREVIOUSLY"));
}

TEST_CASE("no conversation history") {
  Facts f = Green();
  f.contact.last_inbound_message.reset();
  Decision d = Check(f);
  CHECK(d.Blocks("NO_CONVERSATION_HISTORY"));
  CHECK_FALSE(d.Blocks("OUTSIDE_SERVICE_WINDOW"));  // one reason for one cause
}

TEST_CASE("the 24 h service window: 23:59 inside, 24:01 outside unless there is consent") {
  Facts f = Green();
  f.contact.permission = Permission::kNone;  // no explicit consent of either kind
  f.contact.long_term_consent.reset();
  f.contact.last_inbound_message = kNow - (absl::Hours(23) + absl::Minutes(59));
  CHECK_FALSE(Check(f).Blocks("OUTSIDE_SERVICE_WINDOW"));
  f.contact.last_inbound_message = kNow - absl::Hours(24);
  CHECK_FALSE(Check(f).Blocks("OUTSIDE_SERVICE_WINDOW"));  // "older than 24 h" is strict
  f.contact.last_inbound_message = kNow - (absl::Hours(24) + absl::Minutes(1));
  CHECK(Check(f).Blocks("OUTSIDE_SERVICE_WINDOW"));

  f.contact.long_term_consent = kNow - absl::Hours(24 * 10);  // explicit consent lifts it
  CHECK_FALSE(Check(f).Blocks("OUTSIDE_SERVICE_WINDOW"));
  f.contact.long_term_consent.reset();
  f.contact.permission = Permission::kTemporary;  // so does a valid Meta permission
  f.contact.permission_expires = kNow + absl::Hours(1);
  CHECK_FALSE(Check(f).Blocks("OUTSIDE_SERVICE_WINDOW"));
}

TEST_CASE("a user-requested call needs a fresh call request or a Meta grant") {
  Facts f = Green();
  f.contact.permission = Permission::kNone;
  f.contact.call_requested.reset();
  CHECK(Check(f).Blocks("NO_CALL_REQUEST"));
  f.contact.call_requested = kNow - (absl::Hours(23) + absl::Minutes(59));
  CHECK_FALSE(Check(f).Blocks("NO_CALL_REQUEST"));
  f.contact.call_requested = kNow - (absl::Hours(24) + absl::Minutes(1));
  CHECK(Check(f).Blocks("NO_CALL_REQUEST"));
  f.contact.permission = Permission::kPermanent;  // the user granted calls in WhatsApp
  CHECK_FALSE(Check(f).Blocks("NO_CALL_REQUEST"));
  // The other kinds do not need a call request.
  f.contact.permission = Permission::kNone;
  CHECK_FALSE(Check(f, CallKind::kAgentOffered).Blocks("NO_CALL_REQUEST"));
}

TEST_CASE("agent-offered consent: a yes to this offer, for 1 hour (59 min vs 61 min)") {
  Facts f = Green();
  f.contact.offer_accepted.reset();
  CHECK(Check(f, CallKind::kAgentOffered).Blocks("CONSENT_NOT_AFFIRMATIVE"));
  f.contact.offer_accepted = kNow - absl::Minutes(30);
  f.contact.offer_made = kNow - absl::Minutes(10);  // the yes answered an older offer
  CHECK(Check(f, CallKind::kAgentOffered).Blocks("CONSENT_NOT_AFFIRMATIVE"));

  f.contact.offer_made = kNow - absl::Minutes(70);
  f.contact.offer_accepted = kNow - absl::Minutes(59);
  CHECK(Check(f, CallKind::kAgentOffered).eligible());
  f.contact.offer_accepted = kNow - absl::Minutes(61);
  Decision d = Check(f, CallKind::kAgentOffered);
  CHECK(d.Blocks("CONSENT_EXPIRED"));
  CHECK_FALSE(d.Blocks("CONSENT_NOT_AFFIRMATIVE"));
}

TEST_CASE("long-term consent lasts 365 days") {
  Facts f = Green();
  f.contact.long_term_consent.reset();
  CHECK(Check(f, CallKind::kLongTermConsent).Blocks("CONSENT_NOT_AFFIRMATIVE"));
  f.contact.long_term_consent = kNow - absl::Hours(24 * 365) + absl::Minutes(1);
  CHECK(Check(f, CallKind::kLongTermConsent).eligible());
  f.contact.long_term_consent = kNow - absl::Hours(24 * 365) - absl::Minutes(1);
  CHECK(Check(f, CallKind::kLongTermConsent).Blocks("CONSENT_EXPIRED"));
}

TEST_CASE("monthly minutes: warning above 80 % (80 vs 81), blocked at the limit") {
  Facts f = Green();
  f.usage = {.known = true, .minutes_used = 80, .minutes_limit = 100};
  Decision d = Check(f);
  CHECK(d.eligible());
  CHECK(d.warnings.empty());

  f.usage.minutes_used = 81;
  d = Check(f);
  CHECK(d.eligible());
  REQUIRE(d.Warns("MONTHLY_MINUTES_NEAR_LIMIT"));
  CHECK(d.warnings[0].message == "81% of this month's 100 call minutes are used.");

  f.usage.minutes_used = 99;
  CHECK(Check(f).eligible());
  f.usage.minutes_used = 100;
  f.usage.resets = kNow + absl::Hours(48);
  d = Check(f);
  REQUIRE(d.Blocks("MONTHLY_MINUTES_EXHAUSTED"));
  CHECK(d.blocking[0].clears == kNow + absl::Hours(48));
  CHECK_FALSE(d.Warns("MONTHLY_MINUTES_NEAR_LIMIT"));

  f.usage.minutes_limit = 0;  // unlimited
  CHECK(Check(f).eligible());
}

TEST_CASE("the calling agent must be Available") {
  Facts f = Green();
  for (AgentState s :
       {AgentState::kBusy, AgentState::kCooldown, AgentState::kDnd, AgentState::kOffline}) {
    f.agent = s;
    CHECK(Check(f).Blocks("AGENT_NOT_AVAILABLE"));
  }
  f.agent = AgentState::kUnknown;  // routing has not reported: not a reason to block
  CHECK(Check(f).eligible());
}

TEST_CASE("quality RED blocks, YELLOW warns") {
  Facts f = Green();
  f.quality = Quality::kYellow;
  Decision d = Check(f);
  CHECK(d.eligible());
  CHECK(d.Warns("QUALITY_YELLOW"));
  f.quality = Quality::kRed;
  CHECK(Check(f).Blocks("QUALITY_RED"));
}

TEST_CASE("a calling restriction from Meta blocks until it lifts") {
  Facts f = Green();
  f.restriction = CallingRestriction{.type = "RESTRICTED_BIZ_INITIATED_CALLING",
                                     .until = kNow + absl::Hours(24 * 7)};
  Decision d = Check(f);
  REQUIRE(d.Blocks("CALLING_RESTRICTED"));
  const Reason& r = d.blocking.front();
  CHECK(r.clears == kNow + absl::Hours(24 * 7));
  CHECK(r.metadata.at("restriction_type") == "RESTRICTED_BIZ_INITIATED_CALLING");
  CHECK(Check(f, CallKind::kUserRequested, {}, kNow + absl::Hours(24 * 7)).eligible());
  f.restriction->until.reset();  // for good
  CHECK(Check(f, CallKind::kUserRequested, {}, kNow + absl::Hours(24 * 365))
            .Blocks("CALLING_RESTRICTED"));
}

TEST_CASE("automation states block only when the tenant says so") {
  Facts f = Green();
  f.contact.automation_state = "bot_active";
  CHECK(Check(f).eligible());
  Policy p;
  p.blocking_automation_states = {"bot_active"};
  CHECK(Check(f, CallKind::kUserRequested, p).Blocks("AUTOMATION_BLOCKED"));
}

TEST_CASE("rate limit per minute is a sliding window: 59 s counts, 61 s does not") {
  Facts f = Green();
  f.counters.recent_calls =
      Ago({absl::Seconds(59), absl::Seconds(40), absl::Seconds(30), absl::Seconds(20)});
  CHECK(Check(f).eligible());  // 4 of 5
  f.counters.recent_calls.push_back(kNow - absl::Seconds(61));
  CHECK(Check(f).eligible());  // the fifth is outside the minute
  f.counters.recent_calls.push_back(kNow - absl::Seconds(1));
  Decision d = Check(f);
  REQUIRE(d.Blocks("RATE_LIMIT_MINUTE"));
  // It clears when the oldest call inside the window (59 s ago) leaves it.
  CHECK(d.blocking[0].clears == kNow + absl::Seconds(1));
  CHECK(d.blocking[0].metadata.at("used") == "5");
  CHECK_FALSE(d.Blocks("RATE_LIMIT_HOUR"));
  // Exactly 60 s ago is outside: the window is (now - 60 s, now].
  f.counters.recent_calls = Ago({absl::Seconds(60), absl::Seconds(40), absl::Seconds(30),
                                 absl::Seconds(20), absl::Seconds(1)});
  CHECK(Check(f).eligible());
}

TEST_CASE("rate limit per hour") {
  Facts f = Green();
  for (int i = 0; i < 60; ++i)
    f.counters.recent_calls.push_back(kNow - absl::Minutes(1 + i) + absl::Seconds(1));
  Decision d = Check(f);
  REQUIRE(d.Blocks("RATE_LIMIT_HOUR"));
  CHECK_FALSE(d.Blocks("RATE_LIMIT_MINUTE"));  // only one call in the last minute
  // The oldest (59:59 ago) leaves in 1 s.
  CHECK(d.blocking[0].clears == kNow + absl::Seconds(1));
  f.counters.recent_calls.pop_back();
  CHECK(Check(f).eligible());
}

TEST_CASE("5 missed calls in 30 minutes suspend calling for 15 minutes; 4 do not") {
  Facts f = Green();
  f.counters.missed_calls =
      Ago({absl::Minutes(29), absl::Minutes(20), absl::Minutes(10), absl::Minutes(5)});
  CHECK(Check(f).eligible());
  f.counters.missed_calls.push_back(kNow - absl::Minutes(1));
  Decision d = Check(f);
  REQUIRE(d.Blocks("SUSPENDED_MISSED_CALLS"));
  CHECK(d.blocking[0].clears == kNow + absl::Minutes(14));
  // The suspension outlives the window: 14 minutes later it still holds, then it ends.
  CHECK(Check(f, CallKind::kUserRequested, {}, kNow + absl::Minutes(13) + absl::Seconds(59))
            .Blocks("SUSPENDED_MISSED_CALLS"));
  CHECK_FALSE(Check(f, CallKind::kUserRequested, {}, kNow + absl::Minutes(14))
                  .Blocks("SUSPENDED_MISSED_CALLS"));
  // Five missed calls spread over more than 30 minutes never suspend.
  f.counters.missed_calls = Ago({absl::Minutes(31), absl::Minutes(20), absl::Minutes(10),
                                 absl::Minutes(5), absl::Minutes(1)});
  CHECK_FALSE(Check(f).Blocks("SUSPENDED_MISSED_CALLS"));
}

TEST_CASE("Meta's permission rules") {
  Facts f = Green();
  f.contact.permission = Permission::kNone;
  CHECK(Check(f, CallKind::kAgentOffered).Blocks("NO_CALL_PERMISSION"));
  f.contact.permission = Permission::kTemporary;
  f.contact.permission_expires = kNow + absl::Seconds(1);
  CHECK(Check(f, CallKind::kAgentOffered).eligible());
  f.contact.permission_expires = kNow;
  CHECK(Check(f, CallKind::kAgentOffered).Blocks("CALL_PERMISSION_EXPIRED"));

  f = Green();
  f.contact.permission_revoked = true;
  Decision d = Check(f, CallKind::kAgentOffered);
  CHECK(d.Blocks("CALL_PERMISSION_REVOKED"));
  CHECK_FALSE(d.Blocks("NO_CALL_PERMISSION"));

  f = Green();
  f.contact.consecutive_unanswered = 3;
  CHECK(Check(f).eligible());
  f.contact.consecutive_unanswered = 4;  // Meta revokes after 4 unanswered calls
  CHECK(Check(f).Blocks("CALL_PERMISSION_REVOKED"));

  f = Green();
  Policy p;
  p.daily_connected_calls_per_contact = 3;
  f.contact.connected_calls_24h = 2;
  CHECK(Check(f, CallKind::kUserRequested, p).eligible());
  f.contact.connected_calls_24h = 3;
  CHECK(Check(f, CallKind::kUserRequested, p).Blocks("DAILY_CALL_CAP_REACHED"));
}

TEST_CASE("a degraded check follows the fail policy of its method") {
  Facts f = Green();
  f.counters.available = false;
  f.counters.missed_calls = Ago({absl::Minutes(1), absl::Minutes(2), absl::Minutes(3),
                                 absl::Minutes(4), absl::Minutes(5)});  // unreadable anyway
  Decision check = Evaluate({.kind = CallKind::kUserRequested}, f, {}, kNow);
  CHECK(check.degraded);
  CHECK(check.eligible());  // CheckEligibility fails open by default
  CHECK(check.Warns("CHECK_DEGRADED"));
  CHECK_FALSE(check.Blocks("SUSPENDED_MISSED_CALLS"));

  Decision reserve = Evaluate({.kind = CallKind::kUserRequested, .reserve = true}, f, {}, kNow);
  CHECK(reserve.degraded);
  CHECK(reserve.Blocks("CHECK_DEGRADED"));  // ReserveCall fails closed by default

  Policy open;
  open.reserve_fail_policy = rules::FailPolicy::kFailOpen;
  CHECK(Evaluate({.kind = CallKind::kUserRequested, .reserve = true}, f, open, kNow).eligible());
}

TEST_CASE("a check with several failing rules returns all of them") {
  Facts f;  // nothing known about the contact
  f.contact.opted_out = kNow - absl::Hours(2);
  f.contact.automation_state = "survey";
  f.quality = Quality::kRed;
  f.agent = AgentState::kBusy;
  f.usage = {.known = true, .minutes_used = 500, .minutes_limit = 500};
  f.counters.recent_calls = Ago(
      {absl::Seconds(1), absl::Seconds(2), absl::Seconds(3), absl::Seconds(4), absl::Seconds(5)});
  f.counters.missed_calls = Ago(
      {absl::Minutes(1), absl::Minutes(2), absl::Minutes(3), absl::Minutes(4), absl::Minutes(5)});
  Policy p;
  p.blocking_automation_states = {"survey"};
  Decision d = Check(f, CallKind::kAgentOffered, p);
  std::set<std::string> codes;
  for (const auto& r : d.blocking) codes.insert(r.code);
  CHECK(codes == std::set<std::string>{"OPTED_OUT", "NO_CONVERSATION_HISTORY",
                                       "CONSENT_NOT_AFFIRMATIVE", "NO_CALL_PERMISSION",
                                       "AUTOMATION_BLOCKED", "MONTHLY_MINUTES_EXHAUSTED",
                                       "AGENT_NOT_AVAILABLE", "QUALITY_RED", "RATE_LIMIT_MINUTE",
                                       "SUSPENDED_MISSED_CALLS"});
  for (const auto& r : d.blocking) CHECK_FALSE(r.message.empty());
}

TEST_CASE("CountInWindow and SuspendedUntil on their own") {
  auto c =
      rules::CountInWindow(Ago({absl::Seconds(10), absl::Seconds(70)}), absl::Minutes(1), kNow);
  CHECK(c.count == 1);
  CHECK(c.oldest_leaves == kNow + absl::Seconds(50));
  CHECK(rules::CountInWindow({}, absl::Minutes(1), kNow).count == 0);
  Policy p;
  p.missed_call_threshold = 0;  // disabled
  CHECK_FALSE(rules::SuspendedUntil(Ago({absl::Minutes(1)}), p, kNow).has_value());
}

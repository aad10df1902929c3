#include "services/eligibility/store/hot_state.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "tests/support/servers.h"

namespace rules = switchboard::eligibility::rules;
namespace store = switchboard::eligibility::store;
namespace testing = switchboard::testing;
using switchboard::core::ReasonOf;

namespace {

const absl::Time kT0 = absl::FromUnixMillis(1'780'000'000'000);

struct Fixture {
  Fixture()
      : pool(*switchboard::redis::Options::FromUrl(server.url())),
        hot(pool),
        keys(*store::NumberKeys::For("acme", "1065550001")) {}
  store::Reservation Reserve(const std::string& request, absl::Time at, rules::Policy p = {}) {
    auto r = hot.Reserve(keys, request, absl::StrCat("res-", request), at, p);
    REQUIRE(r.ok());
    return *r;
  }
  int64_t Taken() { return pool.Command({"ZCARD", keys.calls})->integer; }

  testing::RedisServer server;
  switchboard::redis::Pool pool;
  store::HotState hot;
  store::NumberKeys keys;
};

}  // namespace

TEST_CASE("keys carry the tenant and refuse ids that could break out of them") {
  auto k = store::NumberKeys::For("acme", "1065550001");
  REQUIRE(k.ok());
  CHECK(k->calls == "sb:elig:{acme|1065550001}:calls");
  CHECK(k->Contact("5511999") == "sb:elig:{acme|1065550001}:contact:5511999");
  CHECK(ReasonOf(store::NumberKeys::For("acme}:x", "1").status()) == "INVALID_ID");
  CHECK(ReasonOf(store::NumberKeys::For("acme", "1 2").status()) == "INVALID_ID");
  CHECK_FALSE(store::IsSafeId(""));
  CHECK_FALSE(store::IsSafeId(std::string(65, 'a')));
  CHECK(store::IsSafeId("wamid.HBg-_x"));
}

TEST_CASE("five calls a minute: the sixth is denied and takes nothing") {
  Fixture f;
  for (int i = 0; i < 5; ++i) {
    CHECK(f.Reserve(absl::StrCat("r", i), kT0 + absl::Seconds(i)).granted);
  }
  store::Reservation denied = f.Reserve("r5", kT0 + absl::Seconds(5));
  CHECK_FALSE(denied.granted);
  CHECK(denied.denied == std::vector<std::string>{"RATE_LIMIT_MINUTE"});
  CHECK(f.Taken() == 5);
  // 60 s after the first call it has left the window (the window is (now - 60 s, now]).
  CHECK(f.Reserve("r6", kT0 + absl::Seconds(60)).granted);
  CHECK(f.Taken() == 6);
}

TEST_CASE("a repeated request id returns the first grant and takes no second token") {
  Fixture f;
  store::Reservation first = f.Reserve("same", kT0);
  store::Reservation again = f.Reserve("same", kT0 + absl::Seconds(1));
  CHECK(first.granted);
  CHECK_FALSE(first.duplicate);
  CHECK(again.granted);
  CHECK(again.duplicate);
  CHECK(again.reservation_id == first.reservation_id);
  CHECK(f.Taken() == 1);
}

TEST_CASE("sixty an hour, and a call denied by the minute does not count against the hour") {
  Fixture f;
  rules::Policy p;
  p.calls_per_minute = 5;
  p.calls_per_hour = 7;
  // 5 in the first minute, then one denied by the minute window.
  for (int i = 0; i < 5; ++i)
    REQUIRE(f.Reserve(absl::StrCat("a", i), kT0 + absl::Seconds(i), p).granted);
  REQUIRE_FALSE(f.Reserve("denied", kT0 + absl::Seconds(10), p).granted);
  // Two more fit the hour later on: the denied one took no hour token.
  CHECK(f.Reserve("b0", kT0 + absl::Minutes(5), p).granted);
  CHECK(f.Reserve("b1", kT0 + absl::Minutes(6), p).granted);
  store::Reservation full = f.Reserve("b2", kT0 + absl::Minutes(7), p);
  CHECK(full.denied == std::vector<std::string>{"RATE_LIMIT_HOUR"});
  // An hour after the first five, they are gone.
  CHECK(f.Reserve("c0", kT0 + absl::Minutes(60) + absl::Seconds(5), p).granted);
}

TEST_CASE("one read returns every fact the rules need") {
  Fixture f;
  rules::ContactFacts c;
  c.last_inbound_message = kT0 - absl::Minutes(3);
  c.call_requested = kT0 - absl::Minutes(2);
  c.permission = rules::Permission::kTemporary;
  c.permission_expires = kT0 + absl::Hours(24 * 7);
  c.consecutive_unanswered = 2;
  c.automation_state = "bot_active";
  REQUIRE(f.hot.CacheContact(f.keys, "5511999", c).ok());
  REQUIRE(*f.hot.SetQuality(f.keys, rules::Quality::kYellow, kT0 - absl::Minutes(5)));
  // An older update delivered late does not overwrite it (Meta's order, not arrival order).
  REQUIRE_FALSE(*f.hot.SetQuality(f.keys, rules::Quality::kRed, kT0 - absl::Minutes(6)));
  REQUIRE(*f.hot.SetUsage(
      "acme",
      {.known = true, .minutes_used = 81, .minutes_limit = 100, .resets = kT0 + absl::Hours(100)},
      /*version=*/2));
  REQUIRE(*f.hot.SetAgent("acme", "agent-7", rules::AgentState::kBusy, /*version=*/5));
  REQUIRE(f.Reserve("r0", kT0 - absl::Seconds(30)).granted);
  REQUIRE(f.Reserve("r1", kT0 - absl::Minutes(61)).granted);  // outside the hour by now
  REQUIRE(f.hot.RecordMissedCall(f.keys, "call-1", kT0 - absl::Minutes(10), {}).ok());
  REQUIRE(f.hot.RecordMissedCall(f.keys, "call-1", kT0 - absl::Minutes(10), {}).ok());  // again

  auto read = f.hot.Read(f.keys, "acme", "5511999", "agent-7", kT0, {});
  REQUIRE(read.ok());
  REQUIRE(read->contact.has_value());
  CHECK(read->contact->last_inbound_message == c.last_inbound_message);
  CHECK(read->contact->call_requested == c.call_requested);
  CHECK(read->contact->permission == rules::Permission::kTemporary);
  CHECK(read->contact->permission_expires == c.permission_expires);
  CHECK_FALSE(read->contact->opted_out.has_value());
  CHECK(read->contact->consecutive_unanswered == 2);
  CHECK(read->contact->automation_state == "bot_active");
  CHECK(read->counters.recent_calls == std::vector<absl::Time>{kT0 - absl::Seconds(30)});
  CHECK(read->counters.missed_calls == std::vector<absl::Time>{kT0 - absl::Minutes(10)});
  CHECK(read->quality == rules::Quality::kYellow);
  CHECK(read->usage.known);
  CHECK(read->usage.minutes_used == 81);
  CHECK(read->usage.resets == kT0 + absl::Hours(100));
  CHECK(read->agent == rules::AgentState::kBusy);

  // Another tenant sees none of it.
  auto other = f.hot.Read(*store::NumberKeys::For("globex", "1065550001"), "globex", "5511999",
                          "agent-7", kT0, {});
  REQUIRE(other.ok());
  CHECK_FALSE(other->contact.has_value());
  CHECK(other->counters.recent_calls.empty());
  CHECK_FALSE(other->usage.known);
  CHECK(other->agent == rules::AgentState::kUnknown);

  REQUIRE(f.hot.InvalidateContact(f.keys, "5511999").ok());
  CHECK_FALSE(f.hot.Read(f.keys, "acme", "5511999", "", kT0, {})->contact.has_value());
}

TEST_CASE("Meta's calling restriction on a number: set, lifted, in Meta's order") {
  Fixture f;
  CHECK_FALSE(f.hot.Read(f.keys, "acme", "5511999", "", kT0, {})->restriction.has_value());
  const rules::CallingRestriction week{.type = "RESTRICTED_BIZ_INITIATED_CALLING",
                                       .until = kT0 + absl::Hours(24 * 7)};
  REQUIRE(*f.hot.SetRestriction(f.keys, week, kT0 - absl::Minutes(5)));
  auto read = f.hot.Read(f.keys, "acme", "5511999", "", kT0, {});
  REQUIRE(read->restriction.has_value());
  CHECK(read->restriction->type == "RESTRICTED_BIZ_INITIATED_CALLING");
  CHECK(read->restriction->until == kT0 + absl::Hours(24 * 7));
  // An older lift delivered late changes nothing; a newer one lifts it.
  REQUIRE_FALSE(*f.hot.SetRestriction(f.keys, std::nullopt, kT0 - absl::Minutes(6)));
  CHECK(f.hot.Read(f.keys, "acme", "5511999", "", kT0, {})->restriction.has_value());
  REQUIRE(*f.hot.SetRestriction(f.keys, std::nullopt, kT0 - absl::Minutes(1)));
  CHECK_FALSE(f.hot.Read(f.keys, "acme", "5511999", "", kT0, {})->restriction.has_value());
  // One for good: no end.
  REQUIRE(
      *f.hot.SetRestriction(f.keys, rules::CallingRestriction{.type = "RESTRICTED_CALLING"}, kT0));
  read = f.hot.Read(f.keys, "acme", "5511999", "", kT0, {});
  REQUIRE(read->restriction.has_value());
  CHECK_FALSE(read->restriction->until.has_value());
}

TEST_CASE("missed calls older than any suspension could need are trimmed") {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(
        f.hot.RecordMissedCall(f.keys, absl::StrCat("old", i), kT0 - absl::Minutes(60), {}).ok());
  }
  REQUIRE(f.hot.RecordMissedCall(f.keys, "new", kT0, {}).ok());
  CHECK(f.pool.Command({"ZCARD", f.keys.missed})->integer == 1);
}

TEST_CASE("with Redis gone, reads and reservations are UNAVAILABLE at once") {
  Fixture f;
  f.server.Kill();
  auto read = f.hot.Read(f.keys, "acme", "5511999", "", kT0, {});
  CHECK(read.status().code() == absl::StatusCode::kUnavailable);
  auto reserve = f.hot.Reserve(f.keys, "r", "res", kT0, {});
  CHECK(reserve.status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("a read returns at most the newest `limit` calls of the hour") {
  Fixture f;
  rules::Policy p;
  p.calls_per_minute = 2;
  p.calls_per_hour = 3;
  for (int i = 0; i < 6; ++i) {
    REQUIRE(f.pool
                .Command({"ZADD", f.keys.calls,
                          absl::StrCat(absl::ToUnixMillis(kT0 - absl::Minutes(10 - i))),
                          absl::StrCat("c", i)})
                .ok());
  }
  auto read = f.hot.Read(f.keys, "acme", "5511999", "", kT0, p);
  REQUIRE(read.ok());
  std::vector<absl::Time> expected = {kT0 - absl::Minutes(5), kT0 - absl::Minutes(6),
                                      kT0 - absl::Minutes(7)};
  CHECK(read->counters.recent_calls == expected);
  // Enough for the rules: the hour is full until the oldest of those three leaves.
  rules::Facts facts;
  facts.counters = read->counters;
  rules::Decision d = rules::Evaluate({}, facts, p, kT0);
  REQUIRE(d.Blocks("RATE_LIMIT_HOUR"));
  for (const auto& r : d.blocking) {
    if (r.code == "RATE_LIMIT_HOUR") CHECK(r.clears == kT0 - absl::Minutes(7) + absl::Hours(1));
  }
}

TEST_CASE("usage and agent state ignore events older than what they hold") {
  Fixture f;
  REQUIRE(*f.hot.SetAgent("acme", "agent-7", rules::AgentState::kBusy, 10));
  CHECK_FALSE(*f.hot.SetAgent("acme", "agent-7", rules::AgentState::kAvailable, 9));  // late
  CHECK(f.hot.Read(f.keys, "acme", "c", "agent-7", kT0, {})->agent == rules::AgentState::kBusy);
  CHECK(*f.hot.SetAgent("acme", "agent-7", rules::AgentState::kAvailable, 11));
  CHECK(f.hot.Read(f.keys, "acme", "c", "agent-7", kT0, {})->agent ==
        rules::AgentState::kAvailable);

  REQUIRE(*f.hot.SetUsage("acme", {.minutes_used = 90, .minutes_limit = 100}, 7));
  CHECK_FALSE(*f.hot.SetUsage("acme", {.minutes_used = 40, .minutes_limit = 100}, 3));
  CHECK(f.hot.Read(f.keys, "acme", "c", "", kT0, {})->usage.minutes_used == 90);
}

TEST_CASE("connected calls to a contact are counted over the last 24 hours, once each") {
  Fixture f;
  REQUIRE(f.hot.RecordConnectedCall(f.keys, "5511999", "old", kT0 - absl::Hours(25)).ok());
  REQUIRE(f.hot.RecordConnectedCall(f.keys, "5511999", "a", kT0 - absl::Hours(2)).ok());
  REQUIRE(f.hot.RecordConnectedCall(f.keys, "5511999", "a", kT0 - absl::Hours(2)).ok());  // again
  REQUIRE(f.hot.RecordConnectedCall(f.keys, "5511999", "b", kT0 - absl::Minutes(5)).ok());
  REQUIRE(f.hot.RecordConnectedCall(f.keys, "5511000", "c", kT0 - absl::Minutes(5)).ok());
  auto read = f.hot.Read(f.keys, "acme", "5511999", "", kT0, {});
  REQUIRE(read.ok());
  CHECK(read->connected_calls_24h == 2);
}

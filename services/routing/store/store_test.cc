#include "services/routing/store/store.h"

#include <catch2/catch.hpp>
#include <thread>

#include "absl/synchronization/notification.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/migrate.h"
#include "services/routing/module.h"
#include "tests/support/servers.h"

namespace store = switchboard::routing::store;
namespace rules = switchboard::routing::rules;
namespace v1 = switchboard::routing::v1;
namespace pg = switchboard::pg;
namespace testing = switchboard::testing;
using Ids = std::vector<std::string>;

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);

struct Fixture {
  Fixture()
      : pool({.url = testing::PostgresServer::Shared().CreateDatabase(), .schema = "routing"}) {
    REQUIRE(pg::Migrate(pool, switchboard::routing::Migrations()).ok());
  }
  // Runs `fn` in a transaction and requires it to succeed.
  void Tx(const std::function<absl::Status(pg::Conn&)>& fn) {
    absl::Status s = pool.InTransaction(fn);
    INFO(s.ToString());
    REQUIRE(s.ok());
  }
  pg::Pool pool;
};

v1::Team Team(const std::string& id, Ids members, Ids numbers) {
  v1::Team t;
  t.set_team_id(id);
  t.set_routing_mode(v1::ROUTING_MODE_BROADCAST);
  for (const auto& m : members) t.add_members()->set_agent_id(m);
  for (const auto& n : numbers) t.add_business_phone_number_ids(n);
  *t.mutable_update_time() = switchboard::core::ToProto(kNow);
  return t;
}

Ids TeamIds(const std::vector<v1::Team>& teams) {
  Ids out;
  for (const auto& t : teams) out.push_back(t.team_id());
  return out;
}

}  // namespace

TEST_CASE("an agent row keeps every field, and is the tenant's") {
  Fixture f;
  store::AgentRow row;
  row.agent = {.agent_id = "alice",
               .chosen = v1::AVAILABILITY_DND,
               .chosen_reason = rules::kMaxNoAnswer,
               .busy_call_id = "call-1",
               .cooldown_end = kNow + absl::Seconds(60),
               .last_call_end = kNow - absl::Minutes(3),
               .last_seen = kNow,
               .offered_call_id = "call-2",
               .unanswered_offers = 3,
               .published = v1::AVAILABILITY_BUSY,
               .published_reason = rules::kOnCall,
               .published_time = kNow - absl::Seconds(5)};
  row.sequence = 7;
  f.Tx([&](pg::Conn& tx) { return store::SaveAgent(tx, "acme", row, kNow + absl::Seconds(90)); });
  absl::StatusOr<std::optional<store::AgentRow>> got = store::GetAgent(f.pool, "acme", "alice");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  const rules::Agent& a = (*got)->agent;
  CHECK(a.chosen == v1::AVAILABILITY_DND);
  CHECK(a.chosen_reason == rules::kMaxNoAnswer);
  CHECK(a.busy_call_id == "call-1");
  CHECK(a.cooldown_end == kNow + absl::Seconds(60));
  CHECK(a.last_call_end == kNow - absl::Minutes(3));
  CHECK(a.last_seen == kNow);
  CHECK(a.offered_call_id == "call-2");
  CHECK(a.unanswered_offers == 3);
  CHECK(a.published == v1::AVAILABILITY_BUSY);
  CHECK(a.published_reason == rules::kOnCall);
  CHECK(a.published_time == kNow - absl::Seconds(5));
  CHECK((*got)->sequence == 7);
  CHECK_FALSE(store::GetAgent(f.pool, "globex", "alice")->has_value());

  SECTION("cleared fields come back cleared") {
    row.agent.cooldown_end.reset();
    row.agent.busy_call_id.clear();
    f.Tx([&](pg::Conn& tx) { return store::SaveAgent(tx, "acme", row, std::nullopt); });
    got = store::GetAgent(f.pool, "acme", "alice");
    CHECK_FALSE((*got)->agent.cooldown_end.has_value());
    CHECK((*got)->agent.busy_call_id.empty());
  }
}

TEST_CASE("agents are locked in id order, and only those due are swept") {
  Fixture f;
  for (const std::string id : {"carol", "alice", "bob"}) {
    store::AgentRow row;
    row.agent.agent_id = id;
    std::optional<absl::Time> due;
    if (id == "alice") due = kNow - absl::Seconds(1);
    if (id == "bob") due = kNow + absl::Seconds(1);
    f.Tx([&](pg::Conn& tx) { return store::SaveAgent(tx, "acme", row, due); });
  }
  f.Tx([&](pg::Conn& tx) -> absl::Status {
    absl::StatusOr<std::vector<store::AgentRow>> rows =
        store::LockAgents(tx, "acme", {"carol", "ghost", "alice", "carol"});
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 2);
    CHECK((*rows)[0].agent.agent_id == "alice");
    CHECK((*rows)[1].agent.agent_id == "carol");
    absl::StatusOr<std::vector<store::AgentKey>> due = store::DueAgents(tx, kNow, 10);
    REQUIRE(due.ok());
    REQUIRE(due->size() == 1);
    CHECK((*due)[0].agent_id == "alice");
    return absl::OkStatus();
  });
  absl::StatusOr<std::vector<store::AgentRow>> page = store::ListAgents(f.pool, "acme", {}, {}, 2);
  REQUIRE(page.ok());
  REQUIRE(page->size() == 2);
  CHECK(page->back().agent.agent_id == "bob");
  page = store::ListAgents(f.pool, "acme", {}, switchboard::api::Cursor{.id = "bob"}, 2);
  REQUIRE(page->size() == 1);
  CHECK(page->front().agent.agent_id == "carol");
}

TEST_CASE("teams keep their numbers and members as rows a save replaces") {
  Fixture f;
  f.Tx([&](pg::Conn& tx) -> absl::Status {
    RETURN_IF_ERROR(store::LockTeams(tx, "acme"));
    RETURN_IF_ERROR(store::SaveTeam(tx, "acme", Team("support", {"alice", "bob"}, {"1065"})));
    return store::SaveTeam(tx, "acme", Team("sales", {"bob"}, {"2077"}));
  });
  f.Tx([&](pg::Conn& tx) -> absl::Status {
    CHECK((*store::TeamOfNumber(tx, "acme", "1065"))->team_id() == "support");
    CHECK_FALSE(store::TeamOfNumber(tx, "globex", "1065")->has_value());
    CHECK(store::NumberOwner(tx, "acme", "1065", "sales")->value() == "support");
    CHECK_FALSE(store::NumberOwner(tx, "acme", "1065", "support")->has_value());
    CHECK(TeamIds(*store::TeamsOfAgent(tx, "acme", "bob")) == Ids{"sales", "support"});
    CHECK(TeamIds(*store::AllTeams(tx, "acme")) == Ids{"sales", "support"});
    // Saved again without bob and with another number: the old rows are gone.
    RETURN_IF_ERROR(store::SaveTeam(tx, "acme", Team("support", {"alice"}, {"3099"})));
    CHECK_FALSE(store::TeamOfNumber(tx, "acme", "1065")->has_value());
    CHECK((*store::TeamOfNumber(tx, "acme", "3099"))->team_id() == "support");
    CHECK(TeamIds(*store::TeamsOfAgent(tx, "acme", "bob")) == Ids{"sales"});
    absl::StatusOr<std::optional<v1::Team>> got = store::GetTeam(tx, "acme", "support");
    REQUIRE(got->has_value());
    CHECK((*got)->members_size() == 1);
    return absl::OkStatus();
  });
  absl::StatusOr<std::vector<v1::Team>> page = store::ListTeams(f.pool, "acme", {}, 1);
  REQUIRE(page.ok());
  CHECK(TeamIds(*page) == Ids{"sales"});
  page = store::ListTeams(f.pool, "acme", switchboard::api::Cursor{.id = "sales"}, 1);
  CHECK(TeamIds(*page) == Ids{"support"});
  // Several agents' teams in one query: the same answers, another tenant's none.
  auto teams = store::TeamsOfAgents(f.pool, "acme", {"alice", "bob", "carol"});
  REQUIRE(teams.ok());
  CHECK(TeamIds((*teams)["alice"]) == Ids{"support"});
  CHECK(TeamIds((*teams)["bob"]) == Ids{"sales"});
  CHECK(teams->count("carol") == 0);
  CHECK(store::TeamsOfAgents(f.pool, "globex", {"alice", "bob"})->empty());
}

TEST_CASE("a number cannot be in two teams, whatever the code above the store does") {
  Fixture f;
  f.Tx([&](pg::Conn& tx) { return store::SaveTeam(tx, "acme", Team("support", {}, {"1065"})); });
  absl::Status twice = f.pool.InTransaction(
      [&](pg::Conn& tx) { return store::SaveTeam(tx, "acme", Team("sales", {}, {"1065"})); });
  CHECK_FALSE(twice.ok());
  // Another tenant may use the same id (it cannot own the number; the registry says so).
  f.Tx([&](pg::Conn& tx) { return store::SaveTeam(tx, "globex", Team("sales", {}, {"1065"})); });
}

TEST_CASE("assignments are set, replaced and cleared") {
  Fixture f;
  f.Tx([&](pg::Conn& tx) -> absl::Status {
    CHECK(store::Assignment(tx, "acme", "5511").value().empty());
    RETURN_IF_ERROR(store::SetAssignment(tx, "acme", "5511", "alice", kNow));
    RETURN_IF_ERROR(store::SetAssignment(tx, "acme", "5511", "bob", kNow));
    CHECK(store::Assignment(tx, "acme", "5511").value() == "bob");
    CHECK(store::Assignment(tx, "globex", "5511").value().empty());
    RETURN_IF_ERROR(store::SetAssignment(tx, "acme", "5511", "", kNow));
    CHECK(store::Assignment(tx, "acme", "5511").value().empty());
    return absl::OkStatus();
  });
}

TEST_CASE("a ring keeps every field; only ringing rings past their deadline are due") {
  Fixture f;
  store::Ring ring{.tenant = "acme",
                   .call_id = "call-1",
                   .round = 2,
                   .team_id = "support",
                   .mode = v1::ROUTING_MODE_ROUND_ROBIN,
                   .ringing = {"bob"},
                   .tried = {"alice", "carol"},
                   .round_start = kNow - absl::Seconds(20),
                   .round_deadline = kNow + absl::Seconds(10),
                   .due = kNow - absl::Seconds(1),
                   .fallback_action = v1::FALLBACK_ACTION_ESCALATION,
                   .business_phone_number_id = "1065",
                   .business_display_number = "15550001065",
                   .sequence = 4};
  ring.contact.set_wa_id("5511");
  ring.contact.set_display_name("Carla");
  store::Ring later = ring;
  later.call_id = "call-2";
  later.due = kNow + absl::Seconds(5);
  store::Ring claimed = ring;
  claimed.call_id = "call-3";
  claimed.state = store::Ring::State::kClaimed;
  claimed.winner = "bob";
  f.Tx([&](pg::Conn& tx) -> absl::Status {
    for (const auto* r : {&ring, &later, &claimed}) RETURN_IF_ERROR(store::SaveRing(tx, *r, kNow));
    return absl::OkStatus();
  });
  f.Tx([&](pg::Conn& tx) -> absl::Status {
    absl::StatusOr<std::vector<store::Ring>> due = store::DueRings(tx, kNow, 10);
    REQUIRE(due.ok());
    REQUIRE(due->size() == 1);
    const store::Ring& r = due->front();
    CHECK(r.call_id == "call-1");
    CHECK(r.state == store::Ring::State::kRinging);
    CHECK(r.round == 2);
    CHECK(r.team_id == "support");
    CHECK(r.mode == v1::ROUTING_MODE_ROUND_ROBIN);
    CHECK(r.ringing == Ids{"bob"});
    CHECK(r.tried == Ids{"alice", "carol"});
    CHECK(r.round_start == kNow - absl::Seconds(20));
    CHECK(r.round_deadline == kNow + absl::Seconds(10));
    CHECK(r.due == kNow - absl::Seconds(1));
    CHECK(r.fallback_action == v1::FALLBACK_ACTION_ESCALATION);
    CHECK(r.contact.display_name() == "Carla");
    CHECK(r.business_display_number == "15550001065");
    CHECK(r.sequence == 4);
    absl::StatusOr<std::optional<store::Ring>> won = store::LockRing(tx, "acme", "call-3");
    REQUIRE(won->has_value());
    CHECK((*won)->winner == "bob");
    CHECK_FALSE((*won)->due.has_value());  // a ring that is not ringing has no deadline
    CHECK_FALSE(store::LockRing(tx, "globex", "call-1")->has_value());
    return absl::OkStatus();
  });
}

TEST_CASE("a claim's race: one agent rung takes the ring before its deadline, nobody at it") {
  Fixture f;
  store::Ring ring{.tenant = "acme",
                   .call_id = "call-1",
                   .ringing = {"alice", "bob"},
                   .due = kNow + absl::Seconds(5),
                   .start = kNow - absl::Seconds(10)};
  f.Tx([&](pg::Conn& tx) { return store::SaveRing(tx, ring, kNow); });
  auto take = [&](const std::string& agent, absl::Time at) {
    std::optional<store::Ring> taken;
    f.Tx([&](pg::Conn& tx) -> absl::Status {
      ASSIGN_OR_RETURN(taken, store::TakeRing(tx, "acme", "call-1", agent, at));
      return absl::OkStatus();
    });
    return taken;
  };
  // At the deadline the step is over; an agent not rung never takes it; another tenant's
  // claim finds nothing.
  CHECK_FALSE(take("alice", kNow + absl::Seconds(5)).has_value());
  CHECK_FALSE(take("carol", kNow).has_value());
  f.Tx([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<store::Ring> other,
                     store::TakeRing(tx, "globex", "call-1", "alice", kNow));
    CHECK_FALSE(other.has_value());
    return absl::OkStatus();
  });
  // A microsecond before it, the first rung agent takes it, and then nobody else can.
  std::optional<store::Ring> won = take("bob", kNow + absl::Seconds(5) - absl::Microseconds(1));
  REQUIRE(won.has_value());
  CHECK(won->state == store::Ring::State::kClaimed);
  CHECK(won->winner == "bob");
  CHECK(won->start == kNow - absl::Seconds(10));
  CHECK_FALSE(take("alice", kNow).has_value());
  CHECK_FALSE(take("bob", kNow).has_value());  // the winner asking again changes nothing
}

TEST_CASE(
    "settings keep what was set and NULL for the rest; saving makes the tenant's agents due") {
  Fixture f;
  for (const auto& [tenant, id] : {std::pair{"acme", "alice"}, std::pair{"globex", "gina"}}) {
    store::AgentRow row;
    row.agent.agent_id = id;
    f.Tx([&](pg::Conn& tx) { return store::SaveAgent(tx, tenant, row, std::nullopt); });
  }
  f.Tx([&](pg::Conn& tx) -> absl::Status {
    absl::StatusOr<rules::TenantSettings> none = store::LoadSettings(tx, "acme");
    REQUIRE(none.ok());
    CHECK(*none == rules::TenantSettings{});
    const rules::TenantSettings set{.cooldown = absl::Milliseconds(1500),
                                    .max_unanswered_offers = 0};
    REQUIRE(store::SaveSettings(tx, "acme", set, kNow).ok());
    absl::StatusOr<rules::TenantSettings> back = store::LockSettings(tx, "acme", kNow);
    REQUIRE(back.ok());
    CHECK(*back == set);  // 0 is kept apart from "not set"
    CHECK(*store::LoadSettings(tx, "globex") == rules::TenantSettings{});
    absl::StatusOr<std::vector<store::AgentKey>> due = store::DueAgents(tx, kNow, 10);
    REQUIRE(due.ok());
    REQUIRE(due->size() == 1);  // acme's agents only
    CHECK((*due)[0].tenant == "acme");
    CHECK((*due)[0].agent_id == "alice");
    return absl::OkStatus();
  });
  f.Tx([&](pg::Conn& tx) -> absl::Status {  // a lock on a tenant never seen creates its row
    absl::StatusOr<rules::TenantSettings> fresh = store::LockSettings(tx, "initech", kNow);
    REQUIRE(fresh.ok());
    CHECK(*fresh == rules::TenantSettings{});
    return absl::OkStatus();
  });
}

TEST_CASE("two transactions creating the same agent take turns: the second sees the first's row") {
  Fixture f;
  absl::Notification holding, release;
  std::thread first([&] {
    f.Tx([&](pg::Conn& tx) -> absl::Status {
      absl::StatusOr<store::AgentRow> row = store::LockOrAddAgent(tx, "acme", "alice");
      REQUIRE(row.ok());
      CHECK(row->sequence == 0);  // created now
      row->sequence = 1;
      RETURN_IF_ERROR(store::SaveAgent(tx, "acme", *row, std::nullopt));
      holding.Notify();
      release.WaitForNotification();
      return absl::OkStatus();
    });
  });
  holding.WaitForNotification();
  std::optional<int64_t> seen;
  std::thread second([&] {
    f.Tx([&](pg::Conn& tx) -> absl::Status {
      absl::StatusOr<store::AgentRow> row = store::LockOrAddAgent(tx, "acme", "alice");
      REQUIRE(row.ok());
      seen = row->sequence;
      return absl::OkStatus();
    });
  });
  // The second waits on the first's row before the first commits.
  REQUIRE(testing::Eventually([&] {
    absl::StatusOr<pg::Result> waiting = f.pool.Exec(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database()");
    return waiting.ok() && waiting->GetInt(0, 0) >= 1;
  }));
  release.Notify();
  first.join();
  second.join();
  REQUIRE(seen.has_value());
  CHECK(*seen == 1);
}

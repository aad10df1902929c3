#include "services/eligibility/store/durable.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "libs/pg/migrate.h"
#include "services/eligibility/module.h"
#include "tests/support/servers.h"

namespace rules = switchboard::eligibility::rules;
namespace store = switchboard::eligibility::store;
namespace pg = switchboard::pg;
namespace testing = switchboard::testing;
using switchboard::core::FakeClock;

namespace {

struct Fixture {
  Fixture()
      : pool({.url = testing::PostgresServer::Shared().CreateDatabase(), .schema = "eligibility"}),
        durable(pool, clock) {
    REQUIRE(pg::Migrate(pool, switchboard::eligibility::Migrations()).ok());
  }
  store::ApplyResult Apply(const store::ContactRef& c, std::function<void(rules::ContactFacts&)> fn,
                           const std::string& action, const std::string& request_id = "") {
    auto r = durable.Apply(c, {.apply = std::move(fn),
                               .action = action,
                               .source = "API",
                               .actor = "agent-7",
                               .request_id = request_id,
                               .at = clock.Now()});
    REQUIRE(r.ok());
    return *r;
  }
  FakeClock clock{absl::FromUnixSeconds(1'780'000'000)};
  pg::Pool pool;
  store::Durable durable;
};

const store::ContactRef kAna{"acme", "1065550001", "5511999990000"};

}  // namespace

TEST_CASE("a contact's facts survive the round trip, every field") {
  Fixture f;
  CHECK_FALSE(f.durable.Load(kAna)->has_value());
  absl::Time t = f.clock.Now();
  f.Apply(
      kAna,
      [&](rules::ContactFacts& c) {
        c.last_inbound_message = t - absl::Minutes(1);
        c.opted_out = t - absl::Minutes(2);
        c.declined = t - absl::Minutes(3);
        c.call_requested = t - absl::Minutes(4);
        c.offer_made = t - absl::Minutes(5);
        c.offer_accepted = t - absl::Minutes(6);
        c.long_term_consent = t - absl::Minutes(7);
        c.permission = rules::Permission::kTemporary;
        c.permission_expires = t + absl::Hours(168);
        c.permission_revoked = true;
        c.consecutive_unanswered = 3;
        c.automation_state = "survey";
      },
      "CONSENT_RECORDED");
  auto loaded = f.durable.Load(kAna);
  REQUIRE(loaded.ok());
  REQUIRE(loaded->has_value());
  const rules::ContactFacts& c = **loaded;
  CHECK(c.last_inbound_message == t - absl::Minutes(1));
  CHECK(c.opted_out == t - absl::Minutes(2));
  CHECK(c.declined == t - absl::Minutes(3));
  CHECK(c.call_requested == t - absl::Minutes(4));
  CHECK(c.offer_made == t - absl::Minutes(5));
  CHECK(c.offer_accepted == t - absl::Minutes(6));
  CHECK(c.long_term_consent == t - absl::Minutes(7));
  CHECK(c.permission == rules::Permission::kTemporary);
  CHECK(c.permission_expires == t + absl::Hours(168));
  CHECK(c.permission_revoked);
  CHECK(c.consecutive_unanswered == 3);
  CHECK(c.automation_state == "survey");
}

TEST_CASE("a repeated request id changes nothing and is audited once") {
  Fixture f;
  int applied = 0;
  auto opt_out = [&](rules::ContactFacts& c) {
    ++applied;
    c.opted_out = f.clock.Now();
  };
  CHECK_FALSE(f.Apply(kAna, opt_out, "OPTED_OUT", "req-1").duplicate);
  f.clock.Advance(absl::Minutes(1));
  CHECK(f.Apply(kAna, opt_out, "OPTED_OUT", "req-1").duplicate);
  CHECK(applied == 1);
  CHECK((*f.durable.Load(kAna))->opted_out == f.clock.Now() - absl::Minutes(1));
  CHECK(f.durable.ListAudit("acme", "", 10, "")->size() == 1);
}

TEST_CASE("the audit trail is per tenant, newest first, and pages") {
  Fixture f;
  store::ContactRef bruno{"acme", "1065550001", "5511888880000"};
  store::ContactRef other_tenant{"globex", "1065550001", "5511999990000"};
  for (int i = 0; i < 5; ++i) {
    f.clock.Advance(absl::Seconds(1));
    f.Apply(
        kAna, [](rules::ContactFacts&) {}, absl::StrCat("ACTION_", i));
  }
  f.Apply(
      bruno, [](rules::ContactFacts&) {}, "BRUNO");
  f.Apply(
      other_tenant, [](rules::ContactFacts&) {}, "GLOBEX");

  auto page1 = f.durable.ListAudit("acme", kAna.contact_key, 3, "");
  REQUIRE(page1.ok());
  REQUIRE(page1->size() == 3);
  CHECK((*page1)[0].action == "ACTION_4");
  CHECK((*page1)[0].actor == "agent-7");
  CHECK((*page1)[0].source == "API");
  auto page2 = f.durable.ListAudit("acme", kAna.contact_key, 3, page1->back().id);
  REQUIRE(page2->size() == 2);
  CHECK((*page2)[1].action == "ACTION_0");

  auto all = f.durable.ListAudit("acme", "", 100, "");
  CHECK(all->size() == 6);  // Ana's five and Bruno's one; never globex's
  for (const auto& e : *all) CHECK(e.contact.tenant == "acme");
  CHECK(f.durable.ListAudit("globex", "", 100, "")->size() == 1);
  // The same contact key under another tenant is another contact.
  CHECK((*f.durable.Load(other_tenant)).has_value());
  CHECK_FALSE(f.durable.Load({"initech", "1065550001", kAna.contact_key})->has_value());
}

TEST_CASE("bookkeeping changes are not consent changes and are not audited") {
  Fixture f;
  auto r = f.durable.Apply(
      kAna, {.apply = [&](rules::ContactFacts& c) { c.last_inbound_message = f.clock.Now(); },
             .action = "MESSAGE",
             .source = "INBOUND_MESSAGE",
             .actor = "//switchboard/webhooks",
             .at = f.clock.Now(),
             .audit = false});
  REQUIRE(r.ok());
  CHECK(f.durable.ListAudit("acme", "", 10, "")->empty());
  CHECK((*f.durable.Load(kAna))->last_inbound_message == f.clock.Now());
}

#include "services/billing/rules/plan.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"
#include "libs/core/proto_time.h"

namespace rules = switchboard::billing::rules;
namespace v1 = switchboard::billing::v1;
using switchboard::core::MetadataOf;
using switchboard::core::ReasonOf;

namespace {

v1::UpdateRatePlanRequest Req(std::vector<std::string> mask) {
  v1::UpdateRatePlanRequest req;
  for (const auto& p : mask) req.mutable_update_mask()->add_paths(p);
  return req;
}

}  // namespace

TEST_CASE("a plan never set is DESIGN's default") {
  const v1::RatePlan p = rules::Effective({});
  CHECK(p.price_per_minute().amount_micros() == 5'000);
  CHECK(p.price_per_minute().currency_code() == "USD");
  CHECK(p.billing_increment().seconds() == 60);
  CHECK(p.usage_warning_percent() == 80);
  CHECK(p.monthly_minutes_limit() == 0);
  CHECK(p.purchase_price_per_minute().amount_micros() == 5'000);
  CHECK(p.time_zone() == "UTC");
  CHECK(rules::Validate(p).ok());
}

TEST_CASE("an update changes the fields in its mask; a named field left unset is the default") {
  v1::UpdateRatePlanRequest req = Req({"monthly_minutes_limit", "time_zone"});
  req.mutable_rate_plan()->set_monthly_minutes_limit(1000);
  req.mutable_rate_plan()->set_time_zone("Asia/Kolkata");
  req.mutable_rate_plan()->set_usage_warning_percent(50);  // not in the mask: ignored
  absl::StatusOr<v1::RatePlan> stored = rules::Update({}, req);
  REQUIRE(stored.ok());
  CHECK(stored->monthly_minutes_limit() == 1000);
  CHECK(stored->usage_warning_percent() == 0);
  CHECK(rules::Effective(*stored).usage_warning_percent() == 80);

  stored = rules::Update(*stored, Req({"time_zone"}));
  REQUIRE(stored.ok());
  CHECK(rules::Effective(*stored).time_zone() == "UTC");
  CHECK(stored->monthly_minutes_limit() == 1000);

  CHECK(ReasonOf(rules::Update({}, Req({})).status()) == "INVALID_UPDATE_MASK");
  CHECK(ReasonOf(rules::Update({}, Req({"price"})).status()) == "INVALID_UPDATE_MASK");
  CHECK(ReasonOf(rules::Update({}, Req({"update_time"})).status()) == "INVALID_UPDATE_MASK");
}

TEST_CASE("plans that break the rules are refused with a reason and the field") {
  struct Case {
    const char* name;
    std::function<void(v1::RatePlan&)> change;
    const char* reason;
    const char* field;
  };
  auto rate = [](v1::RatePlan& p, const std::string& region, const std::string& prefix) {
    v1::CountryRate* r = p.add_country_rates();
    r->set_region_code(region);
    r->set_prefix(prefix);
    r->mutable_price_per_minute()->set_amount_micros(1);
    r->mutable_price_per_minute()->set_currency_code("USD");
    return r;
  };
  const std::vector<Case> cases = {
      {"unknown currency", [](auto& p) { p.mutable_price_per_minute()->set_currency_code("XYZ"); },
       "INVALID_CURRENCY", "rate_plan.price_per_minute.currency_code"},
      {"lower-case currency",
       [](auto& p) { p.mutable_price_per_minute()->set_currency_code("usd"); }, "INVALID_CURRENCY",
       "rate_plan.price_per_minute.currency_code"},
      {"negative price", [](auto& p) { p.mutable_price_per_minute()->set_amount_micros(-1); },
       "INVALID_PRICE", "rate_plan.price_per_minute"},
      {"absurd price",
       [](auto& p) { p.mutable_price_per_minute()->set_amount_micros(1'000'000'001); },
       "INVALID_PRICE", "rate_plan.price_per_minute"},
      {"increment 0 s", [](auto& p) { p.mutable_billing_increment()->set_seconds(0); },
       "INVALID_BILLING_INCREMENT", "rate_plan.billing_increment"},
      {"increment 3601 s", [](auto& p) { p.mutable_billing_increment()->set_seconds(3601); },
       "INVALID_BILLING_INCREMENT", "rate_plan.billing_increment"},
      {"increment 1.5 s", [](auto& p) { p.mutable_billing_increment()->set_nanos(500'000'000); },
       "INVALID_BILLING_INCREMENT", "rate_plan.billing_increment"},
      {"two rates for BR",
       [&](auto& p) {
         rate(p, "BR", "");
         rate(p, "BR", "");
       },
       "OVERLAPPING_COUNTRY_RATES", "rate_plan.country_rates[1]"},
      {"two rates for +44",
       [&](auto& p) {
         rate(p, "", "44");
         rate(p, "", "44");
       },
       "OVERLAPPING_COUNTRY_RATES", "rate_plan.country_rates[1]"},
      {"region and prefix", [&](auto& p) { rate(p, "BR", "55"); }, "INVALID_COUNTRY_RATE",
       "rate_plan.country_rates[0]"},
      {"unknown region", [&](auto& p) { rate(p, "QQ", ""); }, "INVALID_COUNTRY_RATE",
       "rate_plan.country_rates[0].region_code"},
      {"prefix with +", [&](auto& p) { rate(p, "", "+44"); }, "INVALID_COUNTRY_RATE",
       "rate_plan.country_rates[0].prefix"},
      {"rate in EUR",
       [&](auto& p) { rate(p, "DE", "")->mutable_price_per_minute()->set_currency_code("EUR"); },
       "CURRENCY_MISMATCH", "rate_plan.country_rates[0].price_per_minute"},
      {"tiers not ascending",
       [](auto& p) {
         p.add_volume_tiers()->set_from_minutes(100);
         p.mutable_volume_tiers(0)->mutable_price_per_minute()->set_currency_code("USD");
         p.add_volume_tiers()->set_from_minutes(100);
         p.mutable_volume_tiers(1)->mutable_price_per_minute()->set_currency_code("USD");
       },
       "INVALID_VOLUME_TIERS", "rate_plan.volume_tiers[1]"},
      {"negative limit", [](auto& p) { p.set_monthly_minutes_limit(-5); }, "INVALID_MINUTES_LIMIT",
       "rate_plan.monthly_minutes_limit"},
      {"warning at 100 %", [](auto& p) { p.set_usage_warning_percent(100); },
       "INVALID_WARNING_PERCENT", "rate_plan.usage_warning_percent"},
      {"unknown zone", [](auto& p) { p.set_time_zone("Mars/Olympus"); }, "INVALID_TIME_ZONE",
       "rate_plan.time_zone"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    v1::RatePlan plan = rules::Effective({});
    c.change(plan);
    const absl::Status s = rules::Validate(plan);
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(ReasonOf(s) == c.reason);
    CHECK(MetadataOf(s).at("field") == c.field);
  }
  // An update that would break them writes nothing: Update() returns the error, not a plan.
  v1::UpdateRatePlanRequest req = Req({"billing_increment"});
  req.mutable_rate_plan()->mutable_billing_increment()->set_seconds(7200);
  CHECK(ReasonOf(rules::Update({}, req).status()) == "INVALID_BILLING_INCREMENT");
  CHECK(rules::KnownCurrency("EUR"));
  CHECK(rules::KnownCurrency("BRL"));
  CHECK_FALSE(rules::KnownCurrency("ABC"));
}

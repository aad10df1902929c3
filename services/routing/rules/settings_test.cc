#include "services/routing/rules/settings.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"
#include "libs/core/proto_time.h"

namespace rules = switchboard::routing::rules;
namespace v1 = switchboard::routing::v1;
using switchboard::core::ReasonOf;

namespace {

const rules::Policy kDefaults{
    .cooldown = absl::Seconds(60), .presence_ttl = absl::Seconds(90), .max_unanswered_offers = 3};

v1::UpdateRoutingSettingsRequest Req(std::vector<std::string> mask = {}) {
  v1::UpdateRoutingSettingsRequest req;
  for (const auto& p : mask) req.mutable_update_mask()->add_paths(p);
  return req;
}

google::protobuf::Duration Secs(double s) { return switchboard::core::ToProto(absl::Seconds(s)); }

}  // namespace

TEST_CASE("a tenant that set nothing gets the process's defaults; what it set wins") {
  CHECK(rules::Resolve({}, kDefaults).cooldown == absl::Seconds(60));
  rules::Policy p =
      rules::Resolve({.cooldown = absl::ZeroDuration(), .max_unanswered_offers = 0}, kDefaults);
  CHECK(p.cooldown == absl::ZeroDuration());
  CHECK(p.presence_ttl == absl::Seconds(90));
  CHECK(p.max_unanswered_offers == 0);

  v1::RoutingSettings shown = rules::ToProto(p);
  CHECK(shown.agent_cooldown().seconds() == 0);
  CHECK(shown.has_agent_cooldown());
  CHECK(shown.presence_ttl().seconds() == 90);
  CHECK(shown.has_max_unanswered_offers());
  CHECK(shown.max_unanswered_offers() == 0);
}

TEST_CASE("an update with no mask changes the fields it sets, and only those") {
  v1::UpdateRoutingSettingsRequest req = Req();
  *req.mutable_settings()->mutable_agent_cooldown() = Secs(15);
  absl::StatusOr<rules::TenantSettings> set =
      rules::Update({.presence_ttl = absl::Minutes(5)}, req);
  REQUIRE(set.ok());
  CHECK(*set ==
        rules::TenantSettings{.cooldown = absl::Seconds(15), .presence_ttl = absl::Minutes(5)});

  // 0 offers is "never", told apart from not set.
  req = Req();
  req.mutable_settings()->set_max_unanswered_offers(0);
  set = rules::Update(*set, req);
  REQUIRE(set.ok());
  CHECK(set->max_unanswered_offers == 0);
  CHECK(set->cooldown == absl::Seconds(15));
}

TEST_CASE("a field named in the mask and left unset goes back to the default") {
  rules::TenantSettings before{
      .cooldown = absl::Seconds(15), .presence_ttl = absl::Minutes(5), .max_unanswered_offers = 1};
  v1::UpdateRoutingSettingsRequest req = Req({"agent_cooldown", "max_unanswered_offers"});
  *req.mutable_settings()->mutable_presence_ttl() = Secs(600);  // not in the mask: ignored
  absl::StatusOr<rules::TenantSettings> set = rules::Update(before, req);
  REQUIRE(set.ok());
  CHECK(*set == rules::TenantSettings{.presence_ttl = absl::Minutes(5)});
  CHECK(rules::Resolve(*set, kDefaults).cooldown == absl::Seconds(60));
}

TEST_CASE("settings out of their bounds, or an unknown path, are refused with the field") {
  struct Case {
    const char* name;
    std::function<void(v1::RoutingSettings&)> set;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"negative cooldown", [](auto& s) { *s.mutable_agent_cooldown() = Secs(-1); },
       "settings.agent_cooldown"},
      {"cooldown over 10 min", [](auto& s) { *s.mutable_agent_cooldown() = Secs(601); },
       "settings.agent_cooldown"},
      {"sub-millisecond cooldown", [](auto& s) { s.mutable_agent_cooldown()->set_nanos(1500); },
       "settings.agent_cooldown"},
      {"presence under a minute", [](auto& s) { *s.mutable_presence_ttl() = Secs(59.999); },
       "settings.presence_ttl"},
      {"presence over a day", [](auto& s) { *s.mutable_presence_ttl() = Secs(86401); },
       "settings.presence_ttl"},
      {"negative offers", [](auto& s) { s.set_max_unanswered_offers(-1); },
       "settings.max_unanswered_offers"},
      {"21 offers", [](auto& s) { s.set_max_unanswered_offers(21); },
       "settings.max_unanswered_offers"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    v1::UpdateRoutingSettingsRequest req = Req();
    c.set(*req.mutable_settings());
    absl::StatusOr<rules::TenantSettings> set = rules::Update({}, req);
    REQUIRE_FALSE(set.ok());
    CHECK(set.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(ReasonOf(set.status()) == "SETTING_OUT_OF_RANGE");
    CHECK(switchboard::core::MetadataOf(set.status()).at("field") == c.field);
  }
  // The bounds themselves are allowed.
  v1::UpdateRoutingSettingsRequest req = Req();
  *req.mutable_settings()->mutable_agent_cooldown() = Secs(600);
  *req.mutable_settings()->mutable_presence_ttl() = Secs(60);
  req.mutable_settings()->set_max_unanswered_offers(20);
  CHECK(rules::Update({}, req).ok());

  absl::StatusOr<rules::TenantSettings> unknown =
      rules::Update({}, Req({"agent_cooldown", "ring_timeout"}));
  REQUIRE_FALSE(unknown.ok());
  CHECK(ReasonOf(unknown.status()) == "INVALID_UPDATE_MASK");
  CHECK(switchboard::core::MetadataOf(unknown.status()).at("path") == "ring_timeout");
}

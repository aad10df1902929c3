#include "services/eligibility/policy.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"

namespace eligibility = switchboard::eligibility;
namespace v1 = switchboard::eligibility::v1;
using switchboard::core::ReasonOf;

namespace {

google::protobuf::FieldMask Mask(std::initializer_list<const char*> paths) {
  google::protobuf::FieldMask m;
  for (const char* p : paths) m.add_paths(p);
  return m;
}

}  // namespace

TEST_CASE("an empty policy means the product guide's defaults") {
  auto s = eligibility::Effective(v1::TenantPolicy());
  REQUIRE(s.ok());
  CHECK(s->rules.calls_per_minute == 5);
  CHECK(s->rules.calls_per_hour == 60);
  CHECK(s->rules.missed_call_threshold == 5);
  CHECK(s->rules.missed_call_window == absl::Minutes(30));
  CHECK(s->rules.suspension_duration == absl::Minutes(15));
  CHECK(s->rules.agent_offer_consent == absl::Hours(1));
  CHECK(s->rules.check_fail_policy == switchboard::eligibility::rules::FailPolicy::kFailOpen);
  CHECK(s->rules.reserve_fail_policy == switchboard::eligibility::rules::FailPolicy::kFailClosed);
  v1::TenantPolicy shown = eligibility::WithDefaults(v1::TenantPolicy());
  CHECK(shown.calls_per_hour() == 60);
  CHECK(shown.service_window().seconds() == 24 * 3600);
}

TEST_CASE("a patch changes only the masked fields, and a masked zero resets to the default") {
  v1::TenantPolicy stored;
  stored.set_calls_per_minute(3);
  stored.set_calls_per_hour(30);
  v1::TenantPolicy patch;
  patch.set_calls_per_minute(9);
  patch.set_calls_per_hour(999);  // not in the mask: ignored
  patch.add_language_codes("pt");
  auto out = eligibility::Patch(stored, patch, Mask({"calls_per_minute", "language_codes"}));
  REQUIRE(out.ok());
  CHECK(out->calls_per_minute() == 9);
  CHECK(out->calls_per_hour() == 30);
  CHECK(out->language_codes_size() == 1);

  auto reset = eligibility::Patch(*out, v1::TenantPolicy(), Mask({"calls_per_minute"}));
  REQUIRE(reset.ok());
  CHECK(eligibility::Effective(*reset)->rules.calls_per_minute == 5);
}

TEST_CASE("bad policies and masks are refused with a reason") {
  CHECK(ReasonOf(eligibility::Patch({}, {}, Mask({})).status()) == "MISSING_UPDATE_MASK");
  CHECK(ReasonOf(eligibility::Patch({}, {}, Mask({"no_such_field"})).status()) ==
        "INVALID_UPDATE_MASK");
  v1::TenantPolicy p;
  p.set_calls_per_minute(-1);
  CHECK(ReasonOf(eligibility::Validate(p)) == "INVALID_POLICY");
  p = v1::TenantPolicy();
  p.mutable_service_window()->set_seconds(-5);
  CHECK(ReasonOf(eligibility::Validate(p)) == "INVALID_POLICY");
  p = v1::TenantPolicy();
  p.mutable_suspension_duration()->set_seconds(24 * 3600 * 401);
  CHECK(ReasonOf(eligibility::Validate(p)) == "INVALID_POLICY");
  p = v1::TenantPolicy();
  p.set_reserve_fail_policy(static_cast<v1::FailPolicy>(42));
  CHECK(ReasonOf(eligibility::Validate(p)) == "INVALID_POLICY");
  p = v1::TenantPolicy();
  p.add_blocking_automation_states("");
  CHECK(ReasonOf(eligibility::Validate(p)) == "INVALID_POLICY");
}

TEST_CASE("tenant phrases extend detection") {
  v1::TenantPolicy p;
  p.add_language_codes("en");
  p.add_extra_call_request_phrases("give us a tinkle");
  auto s = eligibility::Effective(p);
  REQUIRE(s.ok());
  CHECK(s->classifier->Classify("Give us a tinkle tomorrow!", s->languages).signal ==
        switchboard::eligibility::rules::Signal::kCallRequest);
  CHECK(eligibility::Effective(v1::TenantPolicy())
            ->classifier->Classify("Give us a tinkle tomorrow!", {})
            .signal == switchboard::eligibility::rules::Signal::kNone);
}

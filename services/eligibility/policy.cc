#include "services/eligibility/policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/field_mask_util.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"

namespace switchboard::eligibility {
namespace {

using google::protobuf::util::FieldMaskUtil;

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return core::InvalidArgument("INVALID_POLICY", absl::StrCat(field, ": ", why),
                               {{"field", std::string(field)}});
}

absl::Status CheckCount(absl::string_view field, int64_t v, int64_t max) {
  if (v < 0 || v > max) return Bad(field, absl::StrCat("must be between 0 and ", max));
  return absl::OkStatus();
}

absl::Status CheckDuration(absl::string_view field, const google::protobuf::Duration& d, bool set) {
  if (!set) return absl::OkStatus();
  absl::Duration v = core::FromProto(d);
  if (v <= absl::ZeroDuration() || v > absl::Hours(24 * 400)) {
    return Bad(field, "must be more than 0 and at most 400 days");
  }
  return absl::OkStatus();
}

rules::FailPolicy Fail(v1::FailPolicy p, rules::FailPolicy fallback) {
  if (p == v1::FAIL_POLICY_FAIL_CLOSED) return rules::FailPolicy::kFailClosed;
  if (p == v1::FAIL_POLICY_FAIL_OPEN) return rules::FailPolicy::kFailOpen;
  return fallback;
}

}  // namespace

absl::Status Validate(const v1::TenantPolicy& p) {
  RETURN_IF_ERROR(CheckCount("calls_per_minute", p.calls_per_minute(), 10'000));
  RETURN_IF_ERROR(CheckCount("calls_per_hour", p.calls_per_hour(), 100'000));
  RETURN_IF_ERROR(CheckCount("missed_call_threshold", p.missed_call_threshold(), 1'000));
  RETURN_IF_ERROR(CheckCount("daily_connected_calls_per_contact",
                             p.daily_connected_calls_per_contact(), 1'000));
  RETURN_IF_ERROR(CheckCount("unanswered_calls_revoke_threshold",
                             p.unanswered_calls_revoke_threshold(), 1'000));
  RETURN_IF_ERROR(
      CheckDuration("missed_call_window", p.missed_call_window(), p.has_missed_call_window()));
  RETURN_IF_ERROR(
      CheckDuration("suspension_duration", p.suspension_duration(), p.has_suspension_duration()));
  RETURN_IF_ERROR(CheckDuration("service_window", p.service_window(), p.has_service_window()));
  RETURN_IF_ERROR(CheckDuration("call_request_validity", p.call_request_validity(),
                                p.has_call_request_validity()));
  RETURN_IF_ERROR(CheckDuration("agent_offer_consent_duration", p.agent_offer_consent_duration(),
                                p.has_agent_offer_consent_duration()));
  RETURN_IF_ERROR(CheckDuration("long_term_consent_duration", p.long_term_consent_duration(),
                                p.has_long_term_consent_duration()));
  if (!v1::FailPolicy_IsValid(p.check_fail_policy()) ||
      !v1::FailPolicy_IsValid(p.reserve_fail_policy())) {
    return Bad("fail_policy", "unknown fail policy");
  }
  if (p.language_codes_size() > 20) return Bad("language_codes", "at most 20");
  for (const auto& l : p.language_codes()) {
    if (l.size() < 2 || l.size() > 8) return Bad("language_codes", "BCP 47 codes such as pt-BR");
  }
  if (p.blocking_automation_states_size() > 50) {
    return Bad("blocking_automation_states", "at most 50");
  }
  for (const auto& s : p.blocking_automation_states()) {
    if (s.empty() || s.size() > 64) return Bad("blocking_automation_states", "1-64 characters");
  }
  if (p.extra_call_request_phrases_size() + p.extra_affirmative_phrases_size() > 200) {
    return Bad("extra_phrases", "at most 200 in all");
  }
  return absl::OkStatus();
}

v1::TenantPolicy WithDefaults(const v1::TenantPolicy& stored) {
  rules::Policy d;
  v1::TenantPolicy p = stored;
  if (p.calls_per_minute() == 0) p.set_calls_per_minute(d.calls_per_minute);
  if (p.calls_per_hour() == 0) p.set_calls_per_hour(d.calls_per_hour);
  if (p.missed_call_threshold() == 0) p.set_missed_call_threshold(d.missed_call_threshold);
  if (!p.has_missed_call_window())
    *p.mutable_missed_call_window() = core::ToProto(d.missed_call_window);
  if (!p.has_suspension_duration()) {
    *p.mutable_suspension_duration() = core::ToProto(d.suspension_duration);
  }
  if (!p.has_service_window()) *p.mutable_service_window() = core::ToProto(d.service_window);
  if (!p.has_call_request_validity()) {
    *p.mutable_call_request_validity() = core::ToProto(d.call_request_validity);
  }
  if (!p.has_agent_offer_consent_duration()) {
    *p.mutable_agent_offer_consent_duration() = core::ToProto(d.agent_offer_consent);
  }
  if (!p.has_long_term_consent_duration()) {
    *p.mutable_long_term_consent_duration() = core::ToProto(d.long_term_consent);
  }
  if (p.check_fail_policy() == v1::FAIL_POLICY_UNSPECIFIED) {
    p.set_check_fail_policy(v1::FAIL_POLICY_FAIL_OPEN);
  }
  if (p.reserve_fail_policy() == v1::FAIL_POLICY_UNSPECIFIED) {
    p.set_reserve_fail_policy(v1::FAIL_POLICY_FAIL_CLOSED);
  }
  if (p.unanswered_calls_revoke_threshold() == 0) {
    p.set_unanswered_calls_revoke_threshold(d.unanswered_calls_revoke_threshold);
  }
  return p;
}

absl::StatusOr<TenantSettings> Effective(const v1::TenantPolicy& stored) {
  v1::TenantPolicy p = WithDefaults(stored);
  TenantSettings s;
  rules::Policy& r = s.rules;
  r.calls_per_minute = p.calls_per_minute();
  r.calls_per_hour = p.calls_per_hour();
  r.missed_call_threshold = p.missed_call_threshold();
  r.missed_call_window = core::FromProto(p.missed_call_window());
  r.suspension_duration = core::FromProto(p.suspension_duration());
  r.service_window = core::FromProto(p.service_window());
  r.call_request_validity = core::FromProto(p.call_request_validity());
  r.agent_offer_consent = core::FromProto(p.agent_offer_consent_duration());
  r.long_term_consent = core::FromProto(p.long_term_consent_duration());
  r.check_fail_policy = Fail(p.check_fail_policy(), rules::FailPolicy::kFailOpen);
  r.reserve_fail_policy = Fail(p.reserve_fail_policy(), rules::FailPolicy::kFailClosed);
  r.daily_connected_calls_per_contact = p.daily_connected_calls_per_contact();
  r.unanswered_calls_revoke_threshold = p.unanswered_calls_revoke_threshold();
  r.blocking_automation_states.insert(p.blocking_automation_states().begin(),
                                      p.blocking_automation_states().end());
  s.languages.assign(p.language_codes().begin(), p.language_codes().end());
  std::vector<rules::ExtraPhrase> extras;
  // Tenant phrases apply in every language the tenant enabled ("und" when none).
  std::string language = s.languages.empty() ? "und" : s.languages.front();
  for (const auto& t : p.extra_call_request_phrases())
    extras.push_back({language, "call_request", t});
  for (const auto& t : p.extra_affirmative_phrases())
    extras.push_back({language, "affirmative", t});
  if (extras.empty()) {
    s.classifier = std::shared_ptr<const rules::TextClassifier>(
        &rules::TextClassifier::Default(), [](const rules::TextClassifier*) {});
  } else {
    ASSIGN_OR_RETURN(rules::TextClassifier c, rules::TextClassifier::WithExtras(extras));
    s.classifier = std::make_shared<const rules::TextClassifier>(std::move(c));
  }
  return s;
}

absl::StatusOr<v1::TenantPolicy> Patch(const v1::TenantPolicy& stored,
                                       const v1::TenantPolicy& patch,
                                       const google::protobuf::FieldMask& mask) {
  if (mask.paths_size() == 0) {
    return api::Missing("update_mask", "update_mask names the fields to change");
  }
  for (const auto& path : mask.paths()) {
    if (!FieldMaskUtil::GetFieldDescriptors(v1::TenantPolicy::descriptor(), path, nullptr)) {
      return core::InvalidArgument("INVALID_UPDATE_MASK", absl::StrCat("unknown field ", path),
                                   {{"path", path}});
    }
  }
  v1::TenantPolicy out = stored;
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(patch, mask, options, &out);
  RETURN_IF_ERROR(Validate(out));
  return out;
}

}  // namespace switchboard::eligibility

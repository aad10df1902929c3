// Tenant policies: the stored, sparse TenantPolicy (only what the tenant set), its validation,
// and the effective settings with the product guide's defaults filled in.
//
//   ASSIGN_OR_RETURN(TenantSettings s, Effective(stored));   // s.rules for rules::Evaluate
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/eligibility/rules/eligibility.h"
#include "services/eligibility/rules/text_signals.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"

namespace switchboard::eligibility {

struct TenantSettings {
  rules::Policy rules;
  std::vector<std::string> languages;  // empty: every built-in language
  std::shared_ptr<const rules::TextClassifier> classifier;
};

// Refuses values no tenant can mean: negative limits, durations outside (0, 400 days],
// unknown fail policies, oversized lists.
absl::Status Validate(const v1::TenantPolicy& policy);

// The stored policy with defaults for every unset field.
v1::TenantPolicy WithDefaults(const v1::TenantPolicy& stored);

absl::StatusOr<TenantSettings> Effective(const v1::TenantPolicy& stored);

// Applies `patch`'s fields named in `mask` to `stored` (a named field at its zero value goes
// back to the default). Unknown paths and an empty mask are INVALID_ARGUMENT.
absl::StatusOr<v1::TenantPolicy> Patch(const v1::TenantPolicy& stored,
                                       const v1::TenantPolicy& patch,
                                       const google::protobuf::FieldMask& mask);

}  // namespace switchboard::eligibility

// How the rules' values are spelled where the store keeps them (Redis hashes, PostgreSQL
// columns): one spelling for both, and text it does not know read back as the rules' unknown.
//
//   {"perm", PermissionName(c.permission)}   ...   c.permission = ParsePermission(v);
#pragma once

#include "absl/strings/string_view.h"
#include "services/eligibility/rules/eligibility.h"

namespace switchboard::eligibility::store {

const char* PermissionName(rules::Permission p);  // NONE, TEMPORARY, PERMANENT
rules::Permission ParsePermission(absl::string_view s);
const char* QualityName(rules::Quality q);  // GREEN, YELLOW, RED; "" when unknown
rules::Quality ParseQuality(absl::string_view s);
const char* AgentName(rules::AgentState a);  // AVAILABLE, BUSY, ...; "" when unknown
rules::AgentState ParseAgent(absl::string_view s);

}  // namespace switchboard::eligibility::store

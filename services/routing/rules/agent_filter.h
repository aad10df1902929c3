// ListAgents' filter, in the AIP-160 subset every list reads (libs/api/filter.h):
//
//   availability = AVAILABLE
//   availability != OFFLINE AND team_id = "support"
//
// Each field is compared with "=" at most once; availability also takes "!=" (any number of
// them). Errors are INVALID_FILTER at the offending token's position.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "switchboard/routing/v1/routing_service.pb.h"

namespace switchboard::routing::rules {

struct AgentFilter {
  std::optional<v1::Availability> availability;
  std::vector<v1::Availability> not_availability;  // sorted, unique
  std::string team_id;                             // empty: any

  bool Admits(v1::Availability a) const;
  // One text per meaning (what page tokens are bound to).
  std::string Canonical() const;
};

absl::StatusOr<AgentFilter> ParseAgentFilter(absl::string_view text);

}  // namespace switchboard::routing::rules

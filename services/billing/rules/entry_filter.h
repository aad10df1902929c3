// ListUsageEntries' filter, in the AIP-160 subset every list reads (libs/api/filter.h):
//   month = "2026-11"   kind = CALL | PURCHASE | ADJUSTMENT | REVERSAL   call_id = "..."
//   create_time >= "<RFC 3339>" (also >, <, <=)
// joined by AND; INVALID_FILTER at the offending token.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "switchboard/billing/v1/billing_service.pb.h"

namespace switchboard::billing::rules {

struct EntryFilter {
  std::string month;
  v1::UsageEntryKind kind = v1::USAGE_ENTRY_KIND_UNSPECIFIED;
  std::string call_id;
  std::optional<absl::Time> created_from;   // inclusive, whole microseconds
  std::optional<absl::Time> created_until;  // exclusive, whole microseconds
  // One text per meaning, which page tokens are bound to.
  std::string Canonical() const;
};

absl::StatusOr<EntryFilter> ParseEntryFilter(absl::string_view text);

}  // namespace switchboard::billing::rules

#include "services/notifications/rules/current.h"

#include <optional>

#include "absl/time/civil_time.h"
#include "libs/core/proto_time.h"

namespace switchboard::notifications::rules {
namespace {

bool Recent(absl::Time event_time, absl::Time now, absl::Duration max_age) {
  return now - event_time <= max_age;
}

// When the usage's month ends: end_time, else the month read as UTC (events from before billing
// sent end_time); nullopt when neither says.
std::optional<absl::Time> MonthEnd(const billing::v1::UsageUpdated& event) {
  if (event.has_end_time()) return core::FromProto(event.end_time());
  absl::CivilMonth month;
  if (!absl::ParseCivilTime(event.month(), &month)) return std::nullopt;
  return absl::FromCivil(month + 1, absl::UTCTimeZone());
}

}  // namespace

absl::Time EventTime(const events::v1::EventHeader& header, absl::Time ce_time, absl::Time now) {
  if (ce_time != absl::InfinitePast()) return ce_time;
  if (header.has_occurred_time()) return core::FromProto(header.occurred_time());
  return now;
}

std::vector<Entry> CurrentEntries(std::vector<Entry> entries, absl::Time event_time, absl::Time now,
                                  absl::Duration max_age) {
  const bool recent = Recent(event_time, now, max_age);
  std::vector<Entry> out;
  for (Entry& entry : entries) {
    if (entry.snapshot.op == SnapshotChange::Op::kRemove) {
      out.push_back(std::move(entry));
      continue;
    }
    if (!recent) continue;
    if (entry.notification.has_value() && entry.notification->has_incoming_call()) {
      const v1::IncomingCallAlert& alert = entry.notification->incoming_call();
      if (alert.has_ring_deadline_time() && core::FromProto(alert.ring_deadline_time()) <= now) {
        continue;  // stopped ringing: its withdrawal may still be on its way
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

bool NoticeIsCurrent(const billing::v1::UsageUpdated& event, absl::Time event_time, absl::Time now,
                     absl::Duration max_age) {
  std::optional<absl::Time> ends = MonthEnd(event);
  if (ends.has_value() && *ends <= now) return false;
  return Recent(event_time, now, max_age);
}

bool NoticeIsCurrent(const eligibility::v1::CallingSuspensionChanged& event, absl::Time event_time,
                     absl::Time now, absl::Duration max_age) {
  if (event.suspended()) {
    return !event.has_suspended_until_time() || core::FromProto(event.suspended_until_time()) > now;
  }
  return Recent(event_time, now, max_age);
}

}  // namespace switchboard::notifications::rules

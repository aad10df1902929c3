// What an event that arrives late may still show. After a crash the outbox relays publish again
// what they sent in the last 24 h (same ce_id, payload and ce_time), and consumer groups may read
// their topics again from the start, so an event can arrive hours after it happened. What it
// removes (an alert withdrawn, a call over) is always applied, so nothing is left behind; what
// it adds (an alert, a call in progress, an admin's notice) only while it is still news. Pure:
// time from the caller.
//
//   const absl::Time at = rules::EventTime(event.header(), message.event.time, now);
//   entries = rules::CurrentEntries(std::move(entries), at, now, retention.age);
#pragma once

#include <vector>

#include "absl/time/time.h"
#include "services/notifications/rules/streams.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"
#include "switchboard/events/v1/envelope.pb.h"

namespace switchboard::notifications::rules {

// When the event happened: its ce_time (InfinitePast when the record had none), else its
// header's occurred_time, else `now` (an event that does not say is taken as current).
absl::Time EventTime(const events::v1::EventHeader& header, absl::Time ce_time, absl::Time now);

// The entries still worth appending at `now`: every one that removes from a snapshot (an alert
// withdrawn, a call over); the others (an incoming-call alert, a call in progress, usage,
// suspension and callback alerts) only when the event is at most `max_age` old (the streams'
// retention: no client can still be waiting for it), and an incoming-call alert only while its
// ring deadline is ahead (as BuildReset shows it).
std::vector<Entry> CurrentEntries(std::vector<Entry> entries, absl::Time event_time, absl::Time now,
                                  absl::Duration max_age);

// Whether an admin's notice for the event is still news at `now`: a usage alert while its month
// lasts (end_time, else `month` read as UTC) and the event is at most `max_age` old.
bool NoticeIsCurrent(const billing::v1::UsageUpdated& event, absl::Time event_time, absl::Time now,
                     absl::Duration max_age);
// A suspension while it lasts (suspended_until_time ahead of `now`); a resumption when the event
// is at most `max_age` old.
bool NoticeIsCurrent(const eligibility::v1::CallingSuspensionChanged& event, absl::Time event_time,
                     absl::Time now, absl::Duration max_age);

}  // namespace switchboard::notifications::rules

// Business hours for calls: whether a number takes calls at an instant, and when that next
// changes, from its call hours in Meta's call_hours shape. Pure: the caller passes `now`.
//
//   ASSIGN_OR_RETURN(Openness hours, rules::OpenAt(settings.call_hours(), clock.Now()));
//   if (!hours.open) return Closed(/*reopens=*/hours.changes);
//
// Semantics (all times local to `timezone_id`, an IANA zone):
// - Disabled hours are open around the clock and are not checked further.
// - A weekly range "HHMM"-"HHMM" is open from its opening minute up to, not including, its
//   closing minute ("1730" closes at 17:30:00), except "2359", Meta's end of the day, which
//   runs to 24:00 (so "0000"-"2359" every day is open around the clock). A weekday without
//   ranges is closed all day.
// - A holiday closes [start_time, end_time) of its date, end_time "2359" meaning up to 24:00,
//   whatever the weekly ranges say.
// - A local time becomes an instant as the first moment the wall clock reads that time or
//   later: a time repeated when clocks go back is its first occurrence (TimeInfo::pre), a time
//   skipped when clocks go forward is the jump itself (TimeInfo::trans), so 02:30 on a
//   spring-forward day at 02:00 means 03:00 and a range inside the gap is never open.
// Errors: INVALID_ARGUMENT INVALID_CALL_HOURS (metadata "field") for an unknown zone, a weekday
// outside MONDAY..SUNDAY, a time that is not HHMM, a range whose open_time is not before its
// close_time, a holiday date that is not YYYY-MM-DD or whose start_time is after its end_time.
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "switchboard/webhooks/v1/webhooks_service.pb.h"

namespace switchboard::routing::rules {

struct Openness {
  bool open;
  // The first instant after `now` at which `open` flips. absl::InfiniteFuture() when it does not
  // within the 8 local days after today (holidays can close a whole week; a longer closure
  // reads as "not within the search"), and always for disabled hours.
  absl::Time changes;
};

absl::StatusOr<Openness> OpenAt(const webhooks::v1::CallHours& hours, absl::Time now);

}  // namespace switchboard::routing::rules

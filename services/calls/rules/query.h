// The Calls page's questions in a form the store can run: the ListCalls / ExportCalls /
// GetCallStats filter (a documented subset of AIP-160), the free-text contact search, keyset
// page tokens, and the analytics period with its buckets. Pure: no I/O; "now" and the time
// zone come from the caller.
//
//   ASSIGN_OR_RETURN(query::Filter filter, query::ParseFilter(req.filter()));
//   ASSIGN_OR_RETURN(std::string needle, query::NormalizeQuery(req.query()));
//   ASSIGN_OR_RETURN(auto after, query::DecodePageToken(req.page_token(),
//                                                       query::Fingerprint(filter, needle)));
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/api/filter.h"
#include "libs/api/page.h"
#include "switchboard/calls/v1/calls_service.pb.h"
#include "switchboard/events/v1/envelope.pb.h"

namespace switchboard::calls::query {

// ---- filter ---------------------------------------------------------------------------------
//
// Grammar (whitespace between tokens is free; keywords AND / OR are upper case):
//   filter     := term ( "AND" term )*
//   term       := comparison | "(" comparison ( "OR" comparison )* ")"
//   comparison := field op value
// Fields, operators and values:
//   direction                 =  !=           INBOUND | OUTBOUND (or CALL_DIRECTION_INBOUND ...)
//   state                     =  !=           OFFERED | RINGING | ANSWERED | ENDED | MISSED |
//                                             REJECTED | FAILED (or CALL_STATE_...)
//   offered_time              >  >=  <  <=    "RFC 3339", e.g. "2026-11-01T00:00:00Z"
//   business_phone_number_id  =               "string"
//   answered_by_agent_id      =               "string"
//   contact.wa_id             =               "string"
// Enum values may be bare or double-quoted. Strings are double-quoted (\" and \\ escape), 1-128
// bytes, no control characters. Inside an OR group every comparison names the same field and
// uses "="; a field compared with "=" appears in at most one term (write "(a OR b)" instead).
// "!=" terms and offered_time bounds may repeat (ANDed; the tightest bound wins).
// Errors: INVALID_ARGUMENT, reason INVALID_FILTER, metadata "position" (byte offset of the
// offending token) and a message naming what was expected.

// One end of the offered_time range.
using TimeBound = api::filter::TimeBound;

// A parsed filter. Each vector is an OR of its values (empty: no condition on that field); the
// conditions of different fields are ANDed.
struct Filter {
  std::vector<v1::CallDirection> directions;      // direction = X
  std::vector<v1::CallDirection> not_directions;  // direction != X
  std::vector<v1::CallState> states;              // state = X
  std::vector<v1::CallState> not_states;          // state != X
  std::optional<TimeBound> offered_after;         // offered_time > / >=
  std::optional<TimeBound> offered_before;        // offered_time < / <=
  std::vector<std::string> business_phone_number_ids;
  std::vector<std::string> agent_ids;  // answered_by_agent_id
  std::vector<std::string> contact_wa_ids;

  // A stable text form, equal for filters that select the same calls however they were written
  // (values sorted, duplicates dropped, times as Unix microseconds). Page tokens are bound to
  // it (libs/api/page.h).
  std::string Canonical() const;
};

enum class TimeTerms { kAllowed, kRefused };

// Parses `text` (empty or blank: no conditions). With TimeTerms::kRefused (GetCallStats and
// GetCallAnalytics, which take the range separately) an offered_time term is INVALID_FILTER.
absl::StatusOr<Filter> ParseFilter(absl::string_view text,
                                   TimeTerms time_terms = TimeTerms::kAllowed);

// ListCallbacks' filter: comparisons joined by AND, no groups:
//   state              =  !=           PENDING | DUE | COMPLETED | CANCELED (or CALLBACK_STATE_...)
//   assigned_agent_id  =               "string"
//   contact.wa_id      =               "string"
//   due_time           >  >=  <  <=    "RFC 3339"
// Same tokens, values and errors (INVALID_FILTER with "position") as ParseFilter; "=" on a field
// at most once, "!=" and due_time bounds may repeat.
struct CallbackFilter {
  std::vector<v1::CallbackState> states;      // state = X (at most one)
  std::vector<v1::CallbackState> not_states;  // state != X
  std::string assigned_agent_id;
  std::string contact_wa_id;
  std::optional<TimeBound> due_after;
  std::optional<TimeBound> due_before;

  // A stable text form, equal for filters that select the same callbacks (as Filter's).
  std::string Canonical() const;
};

absl::StatusOr<CallbackFilter> ParseCallbackFilter(absl::string_view text);

// ---- contact search -------------------------------------------------------------------------
//
// A call matches a search when its SearchKey contains the normalized query as a substring.
// Text is folded: Unicode case folding (NFKC_Casefold), accents removed (NFD, combining marks of
// Latin letters dropped), every run of characters other than letters and digits turned into
// one space, leading/trailing spaces trimmed: "  Ána   SOUZA!" -> "ana souza", "Straße" ->
// "strasse".

// The text stored with a call: the folded display name, then the digits of wa_id and of
// phone_e164 (once when they are the same digits), then user_id, separated by single spaces.
// {display_name "José Müller", wa_id "5511966881746", phone_e164 "+5511966881746"}
//   -> "jose muller 5511966881746"
std::string SearchKey(const events::v1::ContactRef& contact);

// The needle for a query. When the query holds at least one digit and nothing but digits,
// spaces, '+', '-', '(', ')' and '.', it is a number search and the needle is its digits
// ("+55 (11) 9668-8174" -> "551196688174"); otherwise it is the folded text. "" when nothing
// is left (only spaces or punctuation): no search. INVALID_ARGUMENT reason INVALID_QUERY when
// the query is longer than 100 bytes or is not valid UTF-8.
absl::StatusOr<std::string> NormalizeQuery(absl::string_view query);

// Folds `text` as described above (exposed for tests and SearchKey).
std::string Fold(absl::string_view text);

// ---- keyset pages ---------------------------------------------------------------------------

// The last row of a page: the sort time and the id that breaks ties.
using Cursor = api::Cursor;

// What a page token is bound to: the list's canonical filter and search needle.
std::string Fingerprint(const Filter& filter, absl::string_view needle);

// Page tokens are the API kit's (libs/api/page.h), bound to the list and its Fingerprint.
using api::DecodePageToken;
using api::EncodePageToken;

// ---- time ranges ----------------------------------------------------------------------------

// The calendar month containing `now` in `zone`: [first day 00:00, first day of next month).
std::pair<absl::Time, absl::Time> MonthOf(absl::Time now, const absl::TimeZone& zone);

// An analytics period resolved to times and buckets.
struct Period {
  absl::Time start;  // inclusive
  absl::Time end;    // exclusive
  v1::TimeGranularity granularity = v1::TIME_GRANULARITY_UNSPECIFIED;
  // Bucket i covers [bucket_starts[i], bucket_starts[i + 1]) and the last one [.., end).
  // bucket_starts[0] == start; later starts fall on the granularity's boundaries in the zone.
  std::vector<absl::Time> bucket_starts;
};

// Resolves an analytics request at `now` in `zone`:
//   LAST_24_HOURS  [start of the current hour - 23 h, now)
//   LAST_7_DAYS    [today 00:00 - 6 days, now)
//   LAST_30_DAYS   [today 00:00 - 29 days, now)
//   THIS_MONTH     [the 1st 00:00, now)
//   LAST_MONTH     [the previous month's 1st 00:00, this month's 1st 00:00)
//   CUSTOM         [start, end) from the arguments: both required, start < end, at most 400
//                  days apart
// Granularity UNSPECIFIED means HOUR for LAST_24_HOURS and DAY otherwise. HOUR buckets are
// consecutive absolute hours from the local hour boundary; DAY, WEEK (weeks start on Monday)
// and MONTH buckets start at local midnight, so a day with a DST change lasts 23 or 25 h.
// Errors (INVALID_ARGUMENT): MISSING_PERIOD (UNSPECIFIED or unknown), INVALID_RANGE (CUSTOM
// without both times, or end <= start), RANGE_TOO_LONG (CUSTOM over 400 days),
// TOO_MANY_BUCKETS (more than 1000), INVALID_GRANULARITY (unknown value).
absl::StatusOr<Period> ResolvePeriod(v1::AnalyticsPeriod period, v1::TimeGranularity granularity,
                                     std::optional<absl::Time> custom_start,
                                     std::optional<absl::Time> custom_end, absl::Time now,
                                     const absl::TimeZone& zone);

}  // namespace switchboard::calls::query

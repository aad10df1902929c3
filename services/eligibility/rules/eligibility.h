// Why a call may or may not happen: the eligibility rules as one pure function of what is known
// about the contact, the number, the tenant's usage and the calling agent, the tenant's policy,
// and "now". No I/O; every rule is evaluated, so a check returns every blocking reason, each
// with a stable code, a tooltip message and when it clears where that is known.
//
//   rules::Decision d = rules::Evaluate(request, facts, policy, clock.Now());
//   if (!d.eligible()) ShowTooltip(d.blocking);   // every reason, not only the first
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace switchboard::eligibility::rules {

enum class CallKind { kUserRequested, kAgentOffered, kLongTermConsent };
enum class Quality { kUnknown, kGreen, kYellow, kRed };
enum class AgentState { kUnknown, kAvailable, kBusy, kCooldown, kDnd, kOffline };
enum class Permission { kNone, kTemporary, kPermanent };
enum class FailPolicy { kFailClosed, kFailOpen };

// The tenant's policy; the defaults are the product guide's.
struct Policy {
  int calls_per_minute = 5;
  int calls_per_hour = 60;
  int missed_call_threshold = 5;
  absl::Duration missed_call_window = absl::Minutes(30);
  absl::Duration suspension_duration = absl::Minutes(15);
  absl::Duration service_window = absl::Hours(24);
  absl::Duration call_request_validity = absl::Hours(24);
  absl::Duration agent_offer_consent = absl::Hours(1);
  absl::Duration long_term_consent = absl::Hours(24 * 365);
  int usage_warning_percent = 80;
  std::set<std::string> blocking_automation_states;
  int daily_connected_calls_per_contact = 0;  // 0: not checked
  int unanswered_calls_revoke_threshold = 4;
  FailPolicy check_fail_policy = FailPolicy::kFailOpen;
  FailPolicy reserve_fail_policy = FailPolicy::kFailClosed;
};

// What the store knows about the contact (per tenant and business number).
struct ContactFacts {
  std::optional<absl::Time> last_inbound_message;
  std::optional<absl::Time> opted_out;
  std::optional<absl::Time> declined;
  std::optional<absl::Time> call_requested;  // a detected "call me" (or the user's own call)
  std::optional<absl::Time> offer_made;      // an agent offered a call
  std::optional<absl::Time> offer_accepted;  // an affirmative reply to it
  std::optional<absl::Time> long_term_consent;
  Permission permission = Permission::kNone;     // Meta call permission
  std::optional<absl::Time> permission_expires;  // temporary permissions
  bool permission_revoked = false;               // Meta's automatic revoke
  // When the permission facts above last changed, by Meta's clock: an older reply (Meta
  // delivers out of order) does not overwrite a newer one.
  std::optional<absl::Time> permission_changed;
  int consecutive_unanswered = 0;  // outbound calls in a row not answered
  int connected_calls_24h = 0;     // connected business-initiated calls, last 24 h
  std::string automation_state;
};

// The rate-limit and suspension state of the business number, from Redis. Unavailable when
// Redis could not be read in time: the check is then degraded.
struct NumberCounters {
  bool available = true;
  std::vector<absl::Time> recent_calls;  // outbound call starts, any order
  std::vector<absl::Time> missed_calls;  // missed calls, any order
};

struct Usage {
  bool known = false;
  int64_t minutes_used = 0;
  int64_t minutes_limit = 0;         // 0: unlimited
  std::optional<absl::Time> resets;  // start of the next period, when known
};

// Meta restricted business-initiated calls from the number (an account_update), until
// `until` (for good when unset).
struct CallingRestriction {
  std::string type;  // Meta's restriction_type, e.g. RESTRICTED_BIZ_INITIATED_CALLING
  std::optional<absl::Time> until;
};

struct Facts {
  ContactFacts contact;
  NumberCounters counters;
  Quality quality = Quality::kUnknown;
  std::optional<CallingRestriction> restriction;
  Usage usage;
  AgentState agent = AgentState::kUnknown;
};

struct Request {
  CallKind kind = CallKind::kUserRequested;
  // ReserveCall (the authoritative gate) or CheckEligibility (the button): only the fail
  // policy differs.
  bool reserve = false;
};

struct Reason {
  std::string code;
  std::string message;
  std::optional<absl::Time> clears;
  std::map<std::string, std::string> metadata;
};

struct Decision {
  std::vector<Reason> blocking;
  std::vector<Reason> warnings;
  bool degraded = false;
  bool eligible() const { return blocking.empty(); }
  bool Blocks(const std::string& code) const;
  bool Warns(const std::string& code) const;
};

Decision Evaluate(const Request& request, const Facts& facts, const Policy& policy, absl::Time now);

// When a suspension for missed calls ends, if one is in force at `now`: a suspension starts at
// every missed call that makes `threshold` within the window ending at it, and lasts
// `suspension_duration` from there.
std::optional<absl::Time> SuspendedUntil(std::vector<absl::Time> missed, const Policy& policy,
                                         absl::Time now);

// How many of `times` fall in (now - window, now], and when the oldest of them leaves it.
struct WindowCount {
  int count = 0;
  std::optional<absl::Time> oldest_leaves;
};
WindowCount CountInWindow(const std::vector<absl::Time>& times, absl::Duration window,
                          absl::Time now);

}  // namespace switchboard::eligibility::rules

// An agent's call availability as a pure function of what routing knows about the agent and the
// time. The status the agent chose (AVAILABLE, DND, OFFLINE) is kept apart from what the system
// does with the agent (on a call, cooling down after one, holding an offer, present or not), so
// an agent who chose DND during a call is DND after it, and a cooldown ends by itself without
// anyone writing anything: the published availability is recomputed and re-announced when it
// differs (Due() says when to look again).
//
//   rules::Agent a = ...;                      // from the store
//   rules::Choose(a, AVAILABILITY_DND, now);   // the agent's choice
//   rules::View v = rules::Effective(a, now, policy);
//   if (v != a.published) publish AgentAvailabilityChanged{v}
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "switchboard/routing/v1/routing_service.pb.h"

namespace switchboard::routing::rules {

// Per-tenant policy (DESIGN §4 defaults).
struct Policy {
  // After a call the agent cools down this long, then is AVAILABLE again by itself.
  absl::Duration cooldown = absl::Seconds(60);
  // An agent not heard from (SetAgentAvailability, Heartbeat) for this long is OFFLINE, so a
  // crashed browser is not rung for ever.
  absl::Duration presence_ttl = absl::Seconds(90);
  // This many offers in a row left unanswered move the agent to DND (MAX_NO_ANSWER).
  int max_unanswered_offers = 3;
};

// Why an agent is in its availability; AgentAvailabilityChanged carries it.
inline constexpr char kAgentChose[] = "AGENT_CHOSE";
inline constexpr char kOnCall[] = "ON_CALL";
inline constexpr char kCoolingDown[] = "COOLDOWN_AFTER_CALL";
inline constexpr char kPresenceExpired[] = "PRESENCE_EXPIRED";
inline constexpr char kMaxNoAnswer[] = "MAX_NO_ANSWER";

// What routing keeps of one agent.
struct Agent {
  std::string agent_id;
  // AVAILABLE, DND or OFFLINE: the agent's choice (or routing's, with chosen_reason).
  v1::Availability chosen = v1::AVAILABILITY_OFFLINE;
  // Empty when the agent chose; kMaxNoAnswer when routing moved the agent to DND.
  std::string chosen_reason;
  // The call the agent is on (BUSY while set).
  std::string busy_call_id;
  // Set after a call that was talked on: COOLDOWN until then (when the agent chose AVAILABLE).
  std::optional<absl::Time> cooldown_end;
  std::optional<absl::Time> last_call_end;
  // The last sign of life from the agent's client.
  std::optional<absl::Time> last_seen;
  // The call whose alert the agent holds now (at most one, across all teams).
  std::string offered_call_id;
  // Offers in a row the agent let ring out.
  int unanswered_offers = 0;
  // The availability last announced, and since when.
  v1::Availability published = v1::AVAILABILITY_OFFLINE;
  std::string published_reason;
  std::optional<absl::Time> published_time;
};

// The availability an agent has at `now`, and why.
struct View {
  v1::Availability availability = v1::AVAILABILITY_OFFLINE;
  std::string reason;
  bool operator==(const View&) const = default;
};

View Effective(const Agent& agent, absl::Time now, const Policy& policy);

// Since when the agent has been in `view` (Effective at `now`): when it was announced, or, when
// it changed by itself since (a cooldown ending, presence lapsing) and was not announced yet,
// the instant it did.
absl::Time Since(const Agent& agent, const View& view, absl::Time now, const Policy& policy);

// May the agent be offered a call now: AVAILABLE and holding no other offer.
bool Offerable(const Agent& agent, absl::Time now, const Policy& policy);

// The next instant the agent's availability may change by itself (a cooldown ending, presence
// lapsing), or nullopt when nothing is pending.
std::optional<absl::Time> Due(const Agent& agent, absl::Time now, const Policy& policy);

// The agent chose `availability` (AVAILABLE, DND or OFFLINE; anything else is INVALID_ARGUMENT
// AVAILABILITY_NOT_SETTABLE). AVAILABLE ends a cooldown early and clears a MAX_NO_ANSWER DND.
// Counts as a sign of life. Returns whether the agent must give up the offer it holds (it chose
// DND or OFFLINE while ringing).
absl::StatusOr<bool> Choose(Agent& agent, v1::Availability availability, absl::Time now);

// A sign of life from the agent's client.
void Heartbeat(Agent& agent, absl::Time now);

// The agent's alert for `call_id` rings now.
void Offered(Agent& agent, const std::string& call_id);

// How an offer ended for one of the agents it rang.
enum class OfferEnd {
  kRangOut,    // it rang until its deadline: counts towards max-no-answer
  kWithdrawn,  // another agent won, the caller hung up, the agent went away: does not count
};

// The offer of `call_id` ended for `agent`. A ring-out that reaches the policy's limit moves the
// agent to DND with kMaxNoAnswer.
void OfferEnded(Agent& agent, const std::string& call_id, OfferEnd end, const Policy& policy);

// The agent took `call_id` (won the claim, or placed the call): BUSY.
void CallStarted(Agent& agent, const std::string& call_id);

// `call_id` ended at `at`. A call that was talked on starts the cooldown; one that never
// connected returns the agent to what it chose at once.
void CallEnded(Agent& agent, const std::string& call_id, absl::Time at, bool talked,
               const Policy& policy);

// Records `view` as announced at `now`. Returns the availability announced before.
v1::Availability Publish(Agent& agent, const View& view, absl::Time now);

}  // namespace switchboard::routing::rules

// Ringing inbound calls: from calls' OFFERED to ringing agents, round after round, until one
// agent claims the call (first answer wins), the caller hangs up, or the fallback ends it. Also
// keeps agents Busy and cooling down from the calls they are on (either direction).
//
// Every change is one PostgreSQL transaction that locks the ring (the call's row) first and
// then its agents in agent-id order, changes them through rules/, and writes the CallOffer and
// AgentAvailabilityChanged events to the outbox in the same transaction (ADR 0015). So a claim
// is a row-locked update: of 50 concurrent claims one wins and the others read the winner; a
// step deadline is a column (rings.due_time) that Sweep() acts on once, whenever it runs.
//
//   Ringer ringer(pool, agents, hours, clock);
//   consumer: ringer.OnCallStateChanged(changed, message);
//   every 250 ms: ringer.Sweep();
//   ClaimCall: ringer.Claim(caller, req);
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "services/routing/agents.h"
#include "services/routing/rules/hours.h"
#include "services/routing/rules/ringing.h"
#include "services/routing/store/store.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/routing/v1/routing_service.pb.h"

namespace switchboard::routing {

// A business number's call hours (Meta's call_hours, kept by the webhooks registry).
class Hours {
 public:
  virtual ~Hours() = default;
  // nullopt when the number has none (open around the clock).
  virtual absl::StatusOr<std::optional<webhooks::v1::CallHours>> Of(absl::string_view tenant,
                                                                    absl::string_view number) = 0;
};

// What the ringer reports as it works (metrics; null in tests that do not look).
class RingerProbe {
 public:
  virtual ~RingerProbe() = default;
  virtual void Offered(int agents) = 0;
  virtual void Claimed(bool won, absl::Duration since_offered) = 0;
  virtual void Fallback(v1::FallbackAction action) = 0;
};

class Ringer {
 public:
  Ringer(pg::Pool& pool, Agents& agents, Hours& hours, const core::Clock& clock,
         RingerProbe* probe = nullptr);

  // calls.state.v1: an inbound OFFERED starts ringing; a call's end withdraws its alerts and
  // frees (or cools down) its agent; a call with an agent makes that agent Busy.
  absl::Status OnCallStateChanged(const calls::v1::CallStateChanged& changed,
                                  const kafka::Message& message);

  // ClaimCall: the first offered agent to claim a ringing call wins it.
  absl::StatusOr<v1::ClaimCallResponse> Claim(const auth::Principal& caller,
                                              const v1::ClaimCallRequest& req);

  // SetContactAssignment: the agent a sticky team rings first for the contact.
  absl::Status Assign(const auth::Principal& caller, const v1::SetContactAssignmentRequest& req);

  // Runs the steps and fallbacks whose deadline passed. Returns how many rings moved on.
  absl::StatusOr<int> Sweep();

  // An agent who held the offer of `call_id` became unavailable: its alert is withdrawn, and a
  // step left with nobody ringing ends now.
  absl::Status Release(const std::string& tenant, const std::string& call_id,
                       const std::string& agent_id);

  static constexpr int kSweepBatch = 50;

  class Locked;  // the agents one change holds locked

 private:
  absl::Status Start(pg::Conn& tx, const calls::v1::Call& call, bool open, absl::Time now);
  absl::Status StartRound(pg::Conn& tx, store::Ring& ring, const v1::Team& team, absl::Time now);
  absl::Status Advance(pg::Conn& tx, store::Ring& ring, absl::Time now);
  // Rings `step`'s agents (locked in `agents`): OFFERED, until the step's deadline.
  absl::Status Offer(pg::Conn& tx, store::Ring& ring, const rules::Step& step, Locked& agents,
                     absl::Time now);
  absl::Status RoundOver(pg::Conn& tx, store::Ring& ring, const v1::Team& team,
                         v1::WithdrawReason why, absl::Time now);
  // Ends the ringing with no winner. `team`: the team whose fallback ran (null when the call
  // ended first).
  absl::Status Finish(pg::Conn& tx, store::Ring& ring, const v1::Team* team,
                      v1::FallbackAction action, v1::WithdrawReason why, absl::Time now);
  // The fallback's message to the contact (auto-reply, voicemail prompt) on whatsapp.outbound.v1.
  absl::Status SendFallbackMessage(pg::Conn& tx, const store::Ring& ring, const v1::Team& team,
                                   v1::WithdrawReason why, v1::FallbackAction action,
                                   absl::Time now);
  absl::Status CallEnded(pg::Conn& tx, const calls::v1::Call& call, absl::Time now);
  absl::Status CallStarted(pg::Conn& tx, const std::string& tenant, const std::string& agent_id,
                           const std::string& call_id);
  // The team the ring's current round rings.
  absl::StatusOr<v1::Team> TeamOf(pg::Conn& tx, const store::Ring& ring);
  // Writes `offer` (kind and agents set) with the ring's facts and next sequence.
  absl::Status Publish(pg::Conn& tx, store::Ring& ring, v1::CallOffer offer, absl::Time now);

  pg::Pool& pool_;
  Agents& agents_;
  Hours& hours_;
  const core::Clock& clock_;
  RingerProbe* probe_;
};

}  // namespace switchboard::routing

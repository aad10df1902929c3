#include "services/routing/ringer.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "libs/api/contact.h"
#include "libs/api/events.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "libs/pg/outbox.h"
#include "services/routing/rules/ringing.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"

namespace switchboard::routing {
namespace {

using calls::v1::Call;
using store::AgentRow;
using store::Ring;

constexpr std::initializer_list<absl::string_view> kActForOthers = {"gateway", "supervisor",
                                                                    "admin"};

bool IsTerminal(calls::v1::CallState s) {
  return s == calls::v1::CALL_STATE_ENDED || s == calls::v1::CALL_STATE_MISSED ||
         s == calls::v1::CALL_STATE_REJECTED || s == calls::v1::CALL_STATE_FAILED;
}

bool Contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::vector<std::string> Without(std::vector<std::string> ids, const std::string& id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  return ids;
}

std::vector<std::string> MembersOf(const v1::Team& team) {
  std::vector<std::string> out;
  for (const v1::TeamMember& m : team.members()) out.push_back(m.agent_id());
  return out;
}

}  // namespace

// The agents locked for one change, by id.
class Ringer::Locked {
 public:
  static absl::StatusOr<Locked> Take(pg::Conn& tx, const std::string& tenant,
                                     std::vector<std::string> ids) {
    ASSIGN_OR_RETURN(std::vector<AgentRow> rows, store::LockAgents(tx, tenant, std::move(ids)));
    Locked out;
    for (AgentRow& row : rows) out.rows_.emplace(row.agent.agent_id, std::move(row));
    return out;
  }
  AgentRow* Find(const std::string& id) {
    auto it = rows_.find(id);
    return it == rows_.end() ? nullptr : &it->second;
  }
  // The rows of `ids` that exist, each once, in the order of `ids`.
  std::vector<AgentRow*> Of(const std::vector<std::string>& ids) {
    std::vector<AgentRow*> out;
    for (const std::string& id : ids) {
      AgentRow* row = Find(id);
      if (row != nullptr && std::find(out.begin(), out.end(), row) == out.end()) {
        out.push_back(row);
      }
    }
    return out;
  }

 private:
  std::map<std::string, AgentRow> rows_;
};

namespace {

std::vector<rules::Candidate> Candidates(const v1::Team& team, Ringer::Locked& agents,
                                         absl::Time now, const rules::Policy& policy) {
  std::vector<rules::Candidate> out;
  for (const v1::TeamMember& m : team.members()) {
    rules::Candidate c{.agent_id = m.agent_id(), .roles = {m.roles().begin(), m.roles().end()}};
    if (const AgentRow* row = agents.Find(m.agent_id())) {
      c.offerable = rules::Offerable(row->agent, now, policy);
      c.last_call_end = row->agent.last_call_end;
    }
    out.push_back(std::move(c));
  }
  return out;
}

// The message a fallback sends the contact, or nullopt when it sends none.
std::optional<notifications::v1::OutboundMessageRequested> FallbackMessage(
    const v1::Team& team, v1::WithdrawReason why, v1::FallbackAction action) {
  const v1::Fallback& f =
      why == v1::WITHDRAW_REASON_AFTER_HOURS ? team.after_hours_fallback() : team.fallback();
  notifications::v1::OutboundMessageRequested m;
  switch (action) {
    case v1::FALLBACK_ACTION_AUTO_REPLY:
      m.set_reason(notifications::v1::OUTBOUND_REASON_MISSED_CALL_AUTO_REPLY);
      m.set_text(f.auto_reply_text());
      break;
    case v1::FALLBACK_ACTION_VOICEMAIL:
      m.set_reason(notifications::v1::OUTBOUND_REASON_VOICEMAIL_PROMPT);
      m.set_text(f.voicemail_prompt_text());
      break;
    default:
      return std::nullopt;
  }
  if (!f.template_name().empty()) {
    m.mutable_fallback_template()->set_name(f.template_name());
    m.mutable_fallback_template()->set_language_code(f.template_language_code());
  }
  if (m.text().empty() && !m.has_fallback_template()) return std::nullopt;
  return m;
}

// A WITHDRAWN of `agents`' alerts.
v1::CallOffer Withdrawal(v1::WithdrawReason why, const std::vector<std::string>& agents) {
  v1::CallOffer offer;
  offer.set_kind(v1::CALL_OFFER_KIND_WITHDRAWN);
  offer.set_withdraw_reason(why);
  for (const std::string& id : agents) offer.add_offered_agent_ids(id);
  return offer;
}

absl::Status Refused(absl::string_view reason, absl::string_view message) {
  return core::Error(absl::StatusCode::kFailedPrecondition, reason, message);
}

}  // namespace

Ringer::Ringer(pg::Pool& pool, Agents& agents, Hours& hours, const core::Clock& clock,
               RingerProbe* probe)
    : pool_(pool), agents_(agents), hours_(hours), clock_(clock), probe_(probe) {}

// ---- calls.state.v1
// ------------------------------------------------------------------------------

absl::Status Ringer::OnCallStateChanged(const calls::v1::CallStateChanged& changed,
                                        const kafka::Message& /*message*/) {
  const Call& call = changed.call();
  const std::string tenant =
      call.tenant_id().empty() ? changed.header().tenant_id() : call.tenant_id();
  if (tenant.empty() || call.call_id().empty()) return absl::OkStatus();  // nothing to key on
  const bool inbound = call.direction() == calls::v1::CALL_DIRECTION_INBOUND;
  const bool offered = inbound && changed.state() == calls::v1::CALL_STATE_OFFERED;
  const bool ends = IsTerminal(changed.state());
  // Whether the number takes calls now, asked before the transaction holds any lock.
  bool open = true;
  if (offered) {
    ASSIGN_OR_RETURN(std::optional<webhooks::v1::CallHours> hours,
                     hours_.Of(tenant, call.business_phone_number_id()));
    if (hours.has_value()) {
      absl::StatusOr<rules::Openness> now_open = rules::OpenAt(*hours, clock_.Now());
      if (now_open.ok()) {
        open = now_open->open;
      } else {  // stored hours Meta accepted but we cannot read: ring rather than drop the call
        log::Warning("call hours unreadable; ringing as if open",
                     {{"tenant_id", tenant},
                      {"business_phone_number_id", call.business_phone_number_id()},
                      {"error", now_open.status().ToString()}});
      }
    }
  }
  return pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(bool fresh,
                     store::AdvanceCall(tx, tenant, call.call_id(), call.sequence(), ends, now));
    if (!fresh) return absl::OkStatus();  // redelivered, older than what was applied, or ended
    if (offered) RETURN_IF_ERROR(Start(tx, call, open, now));
    if (ends) return CallEnded(tx, call, now);
    if (!call.answered_by_agent_id().empty()) {
      return CallStarted(tx, tenant, call.answered_by_agent_id(), call.call_id());
    }
    return absl::OkStatus();
  });
}

absl::Status Ringer::Start(pg::Conn& tx, const Call& call, bool open, absl::Time now) {
  ASSIGN_OR_RETURN(std::optional<Ring> existing,
                   store::LockRing(tx, call.tenant_id(), call.call_id()));
  if (existing.has_value()) return absl::OkStatus();  // rung already
  Ring ring{.tenant = call.tenant_id(),
            .call_id = call.call_id(),
            .round = 1,
            .contact = call.contact(),
            .business_phone_number_id = call.business_phone_number_id(),
            .business_display_number = call.business_display_number(),
            .start = now};
  ASSIGN_OR_RETURN(std::optional<v1::Team> team,
                   store::TeamOfNumber(tx, ring.tenant, ring.business_phone_number_id));
  v1::Team rung;
  if (team.has_value()) {
    ring.team_id = team->team_id();
    rung = *std::move(team);
  } else {
    ASSIGN_OR_RETURN(rung, TeamOf(tx, ring));  // the tenant's agents
  }
  if (!open) {
    return Finish(tx, ring, &rung, rules::AfterHours(rung).action, v1::WITHDRAW_REASON_AFTER_HOURS,
                  now);
  }
  return StartRound(tx, ring, rung, now);
}

absl::Status Ringer::StartRound(pg::Conn& tx, Ring& ring, const v1::Team& team, absl::Time now) {
  ring.mode = team.routing_mode();
  ring.round_start = now;
  ring.round_deadline = now + rules::RingTimeout(team);
  ring.tried.clear();
  ASSIGN_OR_RETURN(Locked agents, Locked::Take(tx, ring.tenant, MembersOf(team)));
  std::string assigned;
  if (team.routing_mode() == v1::ROUTING_MODE_STICKY && !ring.contact.wa_id().empty()) {
    ASSIGN_OR_RETURN(assigned, store::Assignment(tx, ring.tenant, ring.contact.wa_id()));
  }
  const rules::Round round{.started = now, .deadline = ring.round_deadline};
  rules::Step step = rules::FirstStep(
      team, Candidates(team, agents, now, agents_.PolicyOf(tx, ring.tenant)), assigned, round, now);
  if (step.agents.empty())
    return RoundOver(tx, ring, team, v1::WITHDRAW_REASON_NO_AGENTS_AVAILABLE, now);
  return Offer(tx, ring, step, agents, now);
}

absl::Status Ringer::RoundOver(pg::Conn& tx, Ring& ring, const v1::Team& team,
                               v1::WithdrawReason why, absl::Time now) {
  const rules::Next next = rules::AfterRound(team, ring.round);
  if (next.action != v1::FALLBACK_ACTION_ESCALATION) {
    return Finish(tx, ring, &team, next.action, why, now);
  }
  if (probe_ != nullptr) probe_->Fallback(next.action);
  v1::CallOffer withdrawn = Withdrawal(why, ring.ringing);
  withdrawn.set_fallback_action(v1::FALLBACK_ACTION_ESCALATION);
  RETURN_IF_ERROR(Publish(tx, ring, std::move(withdrawn), now));
  ring.ringing.clear();
  ++ring.round;
  ring.team_id = next.team_id;
  ring.named = next.agent_ids;
  ASSIGN_OR_RETURN(v1::Team escalation, TeamOf(tx, ring));
  return StartRound(tx, ring, escalation, now);
}

absl::Status Ringer::Finish(pg::Conn& tx, Ring& ring, const v1::Team* team,
                            v1::FallbackAction action, v1::WithdrawReason why, absl::Time now) {
  if (probe_ != nullptr && team != nullptr) probe_->Fallback(action);
  v1::CallOffer offer = Withdrawal(why, ring.ringing);
  if (team != nullptr && team->schedule_callback_on_miss()) {
    offer.set_schedule_callback(true);
    if (!ring.contact.wa_id().empty()) {
      ASSIGN_OR_RETURN(*offer.mutable_callback_agent_id(),
                       store::Assignment(tx, ring.tenant, ring.contact.wa_id()));
    }
  }
  offer.set_fallback_action(action);
  offer.set_ringing_ended(true);
  if (team != nullptr) RETURN_IF_ERROR(SendFallbackMessage(tx, ring, *team, why, action, now));
  ring.state = Ring::State::kFinished;
  ring.fallback_action = action;
  ring.ringing.clear();
  ring.due.reset();
  return Publish(tx, ring, std::move(offer), now);
}

absl::Status Ringer::SendFallbackMessage(pg::Conn& tx, const Ring& ring, const v1::Team& team,
                                         v1::WithdrawReason why, v1::FallbackAction action,
                                         absl::Time now) {
  std::optional<notifications::v1::OutboundMessageRequested> m = FallbackMessage(team, why, action);
  if (!m.has_value()) return absl::OkStatus();
  const std::string contact = api::ContactKey(ring.contact);
  *m->mutable_header() = api::Header(ring.tenant, contact, 1, now, ring.call_id);
  m->set_business_phone_number_id(ring.business_phone_number_id);
  *m->mutable_contact() = ring.contact;
  m->set_call_id(ring.call_id);
  // One per call, whatever runs this again: the id is the call's, and the sender de-duplicates
  // on it.
  return pg::Outbox::Enqueue(tx, kafka::kWhatsAppOutbound, *m, contact,
                             absl::StrCat("fallback.", ring.tenant, ".", ring.call_id), now,
                             "routing");
}

absl::Status Ringer::CallEnded(pg::Conn& tx, const Call& call, absl::Time now) {
  const std::string& tenant = call.tenant_id();
  ASSIGN_OR_RETURN(std::optional<Ring> ring, store::LockRing(tx, tenant, call.call_id()));
  std::vector<std::string> ids;
  if (ring.has_value()) {
    ids = ring->ringing;
    if (!ring->winner.empty()) ids.push_back(ring->winner);
  }
  if (!call.answered_by_agent_id().empty()) ids.push_back(call.answered_by_agent_id());
  ASSIGN_OR_RETURN(Locked agents, Locked::Take(tx, tenant, ids));
  const absl::Time ended = call.has_ended_time() ? core::FromProto(call.ended_time()) : now;
  const bool talked = call.has_answered_time();
  const std::vector<AgentRow*> rows = agents.Of(ids);
  const rules::Policy policy = agents_.PolicyOf(tx, tenant);
  for (AgentRow* row : rows) {
    // The caller hung up while ringing: the alert is withdrawn, nobody cools down.
    rules::OfferEnded(row->agent, call.call_id(), rules::OfferEnd::kWithdrawn, policy);
    rules::CallEnded(row->agent, call.call_id(), ended, talked, policy);
  }
  RETURN_IF_ERROR(agents_.SaveAll(tx, tenant, rows));
  if (!ring.has_value() || ring->state != Ring::State::kRinging) return absl::OkStatus();
  return Finish(tx, *ring, nullptr, v1::FALLBACK_ACTION_NONE, v1::WITHDRAW_REASON_CALL_ENDED, now);
}

absl::Status Ringer::CallStarted(pg::Conn& tx, const std::string& tenant,
                                 const std::string& agent_id, const std::string& call_id) {
  ASSIGN_OR_RETURN(AgentRow row, store::LockOrAddAgent(tx, tenant, agent_id));
  if (row.agent.busy_call_id == call_id) return absl::OkStatus();
  rules::CallStarted(row.agent, call_id);
  return agents_.Save(tx, tenant, row);
}

// ---- claims -------------------------------------------------------------------------------------

absl::StatusOr<v1::ClaimCallResponse> Ringer::Claim(const auth::Principal& caller,
                                                    const v1::ClaimCallRequest& req) {
  const std::string& tenant = caller.tenant_id;
  RETURN_IF_ERROR(api::RequireId(req.call_id(), "call_id"));
  ASSIGN_OR_RETURN(std::string agent_id,
                   api::ActingAgent(caller, req.agent_id(), "agent_id", kActForOthers));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  v1::ClaimCallResponse resp;
  RETURN_IF_ERROR(pg::Once(pool_, tenant, req, &resp, [&](pg::Conn& tx) -> absl::Status {
    const absl::Time now = clock_.Now();
    // The race itself is one conditional update of the ring: of all concurrent claims exactly
    // one finds it ringing for its agent; the others wait for that one's commit, find nothing
    // to update, and write nothing.
    ASSIGN_OR_RETURN(std::optional<Ring> ring,
                     store::TakeRing(tx, tenant, req.call_id(), agent_id, now));
    if (!ring.has_value()) {  // read as committed, without a lock: a lost claim writes nothing
      ASSIGN_OR_RETURN(std::optional<Ring> seen, store::GetRing(tx, tenant, req.call_id()));
      if (!seen.has_value()) return api::NotFound("call");
      if (seen->state == Ring::State::kClaimed) {
        resp.set_won(seen->winner == agent_id);
        resp.set_winner_agent_id(seen->winner);
        if (probe_ != nullptr && !resp.won()) probe_->Claimed(false, now - seen->round_start);
        return absl::OkStatus();
      }
      if (seen->state == Ring::State::kRinging && !Contains(seen->ringing, agent_id)) {
        return Refused("AGENT_NOT_OFFERED", absl::StrCat("the call is not ringing for ", agent_id));
      }
      return Refused("OFFER_CLOSED", "the call is no longer ringing");
    }
    ASSIGN_OR_RETURN(Locked agents, Locked::Take(tx, tenant, ring->ringing));
    const std::vector<AgentRow*> rows = agents.Of(ring->ringing);
    const rules::Policy policy = agents_.PolicyOf(tx, tenant);
    for (AgentRow* row : rows) {
      if (row->agent.agent_id == agent_id) {
        rules::CallStarted(row->agent, ring->call_id);
      } else {
        rules::OfferEnded(row->agent, ring->call_id, rules::OfferEnd::kWithdrawn, policy);
      }
    }
    RETURN_IF_ERROR(agents_.SaveAll(tx, tenant, rows));
    v1::CallOffer claimed;
    claimed.set_kind(v1::CALL_OFFER_KIND_CLAIMED);
    claimed.set_claimed_by_agent_id(agent_id);
    claimed.set_ringing_ended(true);
    for (const std::string& id : Without(ring->ringing, agent_id)) {
      claimed.add_offered_agent_ids(id);
    }
    ring->state = Ring::State::kClaimed;
    ring->winner = agent_id;
    ring->ringing = {agent_id};
    ring->due.reset();
    resp.set_won(true);
    resp.set_winner_agent_id(agent_id);
    if (probe_ != nullptr) probe_->Claimed(true, now - ring->round_start);
    return Publish(tx, *ring, std::move(claimed), now);
  }));
  return resp;
}

absl::Status Ringer::Assign(const auth::Principal& caller,
                            const v1::SetContactAssignmentRequest& req) {
  RETURN_IF_ERROR(api::RequireId(req.contact().wa_id(), "contact.wa_id"));
  RETURN_IF_ERROR(api::OptionalId(req.agent_id(), "agent_id"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  v1::SetContactAssignmentResponse resp;
  return pg::Once(pool_, caller.tenant_id, req, &resp, [&](pg::Conn& tx) {
    return store::SetAssignment(tx, caller.tenant_id, req.contact().wa_id(), req.agent_id(),
                                clock_.Now());
  });
}

// ---- deadlines ----------------------------------------------------------------------------------

absl::StatusOr<int> Ringer::Sweep() {
  std::vector<Ring> due;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(due, store::DueRings(tx, clock_.Now(), kSweepBatch));
    return absl::OkStatus();
  }));
  int moved = 0;
  // One transaction per ring: each locks its ring, then its agents in id order, as every other
  // change does.
  for (const Ring& candidate : due) {
    RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
      const absl::Time now = clock_.Now();
      ASSIGN_OR_RETURN(std::optional<Ring> ring,
                       store::LockRing(tx, candidate.tenant, candidate.call_id));
      if (!ring.has_value() || ring->state != Ring::State::kRinging || !ring->due.has_value() ||
          *ring->due > now) {
        return absl::OkStatus();  // claimed, ended or moved on meanwhile
      }
      ++moved;
      return Advance(tx, *ring, now);
    }));
  }
  return moved;
}

absl::Status Ringer::Advance(pg::Conn& tx, Ring& ring, absl::Time now) {
  ASSIGN_OR_RETURN(v1::Team team, TeamOf(tx, ring));
  std::vector<std::string> ids = MembersOf(team);
  ids.insert(ids.end(), ring.ringing.begin(), ring.ringing.end());
  ASSIGN_OR_RETURN(Locked agents, Locked::Take(tx, ring.tenant, ids));
  const std::vector<AgentRow*> rang_out = agents.Of(ring.ringing);
  const rules::Policy policy = agents_.PolicyOf(tx, ring.tenant);
  for (AgentRow* row : rang_out) {
    rules::OfferEnded(row->agent, ring.call_id, rules::OfferEnd::kRangOut, policy);
  }
  RETURN_IF_ERROR(agents_.SaveAll(tx, ring.tenant, rang_out));
  const rules::Round round{.started = ring.round_start,
                           .deadline = ring.round_deadline,
                           .tried = ring.tried,
                           .steps = static_cast<int>(ring.tried.size())};
  rules::Step step = rules::NextStep(team, Candidates(team, agents, now, policy), round, now);
  if (step.agents.empty()) return RoundOver(tx, ring, team, v1::WITHDRAW_REASON_RING_TIMEOUT, now);
  if (!ring.ringing.empty()) {
    RETURN_IF_ERROR(
        Publish(tx, ring, Withdrawal(v1::WITHDRAW_REASON_NEXT_STEP, ring.ringing), now));
  }
  return Offer(tx, ring, step, agents, now);
}

absl::Status Ringer::Offer(pg::Conn& tx, Ring& ring, const rules::Step& step, Locked& agents,
                           absl::Time now) {
  v1::CallOffer offer;
  offer.set_kind(v1::CALL_OFFER_KIND_OFFERED);
  const std::vector<AgentRow*> rows = agents.Of(step.agents);
  for (AgentRow* row : rows) rules::Offered(row->agent, ring.call_id);
  RETURN_IF_ERROR(agents_.SaveAll(tx, ring.tenant, rows));
  for (const std::string& id : step.agents) {
    ring.tried.push_back(id);
    offer.add_offered_agent_ids(id);
  }
  ring.ringing = step.agents;
  ring.due = step.deadline;
  *offer.mutable_ring_deadline_time() = core::ToProto(step.deadline);
  if (probe_ != nullptr) probe_->Offered(static_cast<int>(step.agents.size()));
  return Publish(tx, ring, std::move(offer), now);
}

absl::Status Ringer::Release(const std::string& tenant, const std::string& call_id,
                             const std::string& agent_id) {
  return pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(std::optional<Ring> ring, store::LockRing(tx, tenant, call_id));
    if (!ring.has_value() || ring->state != Ring::State::kRinging ||
        !Contains(ring->ringing, agent_id)) {
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<AgentRow> row, store::LockAgent(tx, tenant, agent_id));
    if (!row.has_value() || row->agent.offered_call_id != call_id) return absl::OkStatus();
    const rules::Policy policy = agents_.PolicyOf(tx, tenant);
    if (rules::Effective(row->agent, now, policy).availability == v1::AVAILABILITY_AVAILABLE) {
      return absl::OkStatus();  // available again before this ran: it keeps ringing
    }
    rules::OfferEnded(row->agent, call_id, rules::OfferEnd::kWithdrawn, policy);
    RETURN_IF_ERROR(agents_.Save(tx, tenant, *row));
    ring->ringing = Without(ring->ringing, agent_id);
    if (ring->ringing.empty()) ring->due = now;  // nobody left on this step: move on now
    return Publish(tx, *ring, Withdrawal(v1::WITHDRAW_REASON_AGENT_UNAVAILABLE, {agent_id}), now);
  });
}

// ---- shared -------------------------------------------------------------------------------------

absl::StatusOr<v1::Team> Ringer::TeamOf(pg::Conn& tx, const Ring& ring) {
  std::optional<v1::Team> team;
  if (!ring.team_id.empty()) {
    ASSIGN_OR_RETURN(team, store::GetTeam(tx, ring.tenant, ring.team_id));
  }
  if (!team.has_value()) {
    // Named agents of an escalation, or a number in no team: everyone named (or every agent of
    // the tenant) rings at once, for the default timeout, and nothing follows.
    team.emplace();
    team->set_routing_mode(v1::ROUTING_MODE_BROADCAST);
    std::vector<std::string> everyone = ring.named;
    if (ring.team_id.empty() && ring.named.empty()) {
      ASSIGN_OR_RETURN(everyone, store::AgentIds(tx, ring.tenant));
    }
    for (const std::string& id : everyone) team->add_members()->set_agent_id(id);
    return *team;
  }
  for (const std::string& id : ring.named) {  // an escalation to a team and named agents
    if (!Contains(MembersOf(*team), id)) team->add_members()->set_agent_id(id);
  }
  return *team;
}

absl::Status Ringer::Publish(pg::Conn& tx, Ring& ring, v1::CallOffer offer, absl::Time now) {
  ++ring.sequence;
  *offer.mutable_header() = api::Header(ring.tenant, ring.call_id, ring.sequence, now);
  offer.set_call_id(ring.call_id);
  offer.set_round(ring.round);
  offer.set_team_id(ring.team_id);
  offer.set_routing_mode(ring.mode);
  *offer.mutable_contact() = ring.contact;
  offer.set_business_phone_number_id(ring.business_phone_number_id);
  offer.set_business_display_number(ring.business_display_number);
  RETURN_IF_ERROR(store::SaveRing(tx, ring, now));
  return pg::Outbox::Enqueue(
      tx, kafka::kRoutingOffers, offer, ring.call_id,
      absl::StrCat("offer.", ring.tenant, ".", ring.call_id, ".", ring.sequence), now, "routing");
}

}  // namespace switchboard::routing

// What routing's ringing (routing.offers.v1) says to the lifecycle. Pure.
//
//   std::optional<Event> e = rules::FromOffer(offer);
//   if (!e) return OkStatus();   // nothing for the call record (a step withdrawn)
//
// - OFFERED: the agents ringing now (kRoutingRang): an OFFERED call becomes RINGING.
// - WITHDRAWN that ends the ringing (ringing_ended) with nobody answering: kRoutingEnded, the
//   call is MISSED with routing's reason (RING_TIMEOUT, NO_AGENTS_AVAILABLE, AFTER_HOURS) and
//   the fallback it ran. CALL_ENDED is not one: the call ended first, by Meta's word.
// - CLAIMED: kRoutingClaimed, the winner's intent to answer (kept as claimed_by_agent_id; the
//   winner's AnswerCall records the answer itself).
// - Withdrawals within the ringing: nothing.
#pragma once

#include <optional>

#include "services/calls/rules/lifecycle.h"
#include "switchboard/routing/v1/routing_events.pb.h"

namespace switchboard::calls::rules {

std::optional<Event> FromOffer(const routing::v1::CallOffer& offer);

}  // namespace switchboard::calls::rules

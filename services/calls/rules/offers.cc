#include "services/calls/rules/offers.h"

#include "absl/strings/strip.h"
#include "libs/core/proto_time.h"

namespace switchboard::calls::rules {

std::optional<Event> FromOffer(const routing::v1::CallOffer& offer) {
  const absl::Time at = core::FromProto(offer.header().occurred_time());
  switch (offer.kind()) {
    case routing::v1::CALL_OFFER_KIND_OFFERED:
      return Event{
          .kind = EventKind::kRoutingRang,
          .at = at,
          .agent_ids = {offer.offered_agent_ids().begin(), offer.offered_agent_ids().end()}};
    case routing::v1::CALL_OFFER_KIND_CLAIMED:
      if (offer.claimed_by_agent_id().empty()) return std::nullopt;
      return Event{
          .kind = EventKind::kRoutingClaimed, .at = at, .agent_id = offer.claimed_by_agent_id()};
    case routing::v1::CALL_OFFER_KIND_WITHDRAWN:
      break;
    default:
      return std::nullopt;
  }
  if (!offer.ringing_ended()) return std::nullopt;
  std::string reason;
  switch (offer.withdraw_reason()) {
    case routing::v1::WITHDRAW_REASON_RING_TIMEOUT:
      reason = "RING_TIMEOUT";
      break;
    case routing::v1::WITHDRAW_REASON_NO_AGENTS_AVAILABLE:
      reason = "NO_AGENTS_AVAILABLE";
      break;
    case routing::v1::WITHDRAW_REASON_AFTER_HOURS:
      reason = "AFTER_HOURS";
      break;
    default:  // CALL_ENDED: the call's own end is already recorded
      return std::nullopt;
  }
  const routing::v1::FallbackAction action =
      offer.fallback_action() == routing::v1::FALLBACK_ACTION_UNSPECIFIED
          ? routing::v1::FALLBACK_ACTION_NONE
          : offer.fallback_action();
  return Event{.kind = EventKind::kRoutingEnded,
               .at = at,
               .reason = std::move(reason),
               .fallback = std::string(absl::StripPrefix(routing::v1::FallbackAction_Name(action),
                                                         "FALLBACK_ACTION_"))};
}

}  // namespace switchboard::calls::rules

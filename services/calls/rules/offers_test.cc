#include "services/calls/rules/offers.h"

#include <catch2/catch.hpp>

#include "libs/core/proto_time.h"

namespace switchboard::calls {
namespace {

namespace rv1 = routing::v1;

const absl::Time kAt = absl::FromUnixSeconds(1796000000);

rv1::CallOffer Offer(rv1::CallOfferKind kind) {
  rv1::CallOffer o;
  o.set_kind(kind);
  o.set_call_id("call-1");
  *o.mutable_header()->mutable_occurred_time() = core::ToProto(kAt);
  return o;
}

TEST_CASE("an offer rings the agents it names, at routing's time") {
  rv1::CallOffer o = Offer(rv1::CALL_OFFER_KIND_OFFERED);
  o.add_offered_agent_ids("alice");
  o.add_offered_agent_ids("bob");
  std::optional<Event> e = rules::FromOffer(o);
  REQUIRE(e.has_value());
  CHECK(e->kind == EventKind::kRoutingRang);
  CHECK(e->at == kAt);
  CHECK(e->agent_ids == std::vector<std::string>{"alice", "bob"});
}

TEST_CASE("only the withdrawal that ends the ringing unanswered ends the call") {
  for (auto [reason, text] :
       {std::pair{rv1::WITHDRAW_REASON_RING_TIMEOUT, "RING_TIMEOUT"},
        std::pair{rv1::WITHDRAW_REASON_NO_AGENTS_AVAILABLE, "NO_AGENTS_AVAILABLE"},
        std::pair{rv1::WITHDRAW_REASON_AFTER_HOURS, "AFTER_HOURS"}}) {
    rv1::CallOffer o = Offer(rv1::CALL_OFFER_KIND_WITHDRAWN);
    o.set_withdraw_reason(reason);
    o.set_fallback_action(rv1::FALLBACK_ACTION_AUTO_REPLY);
    o.set_ringing_ended(true);
    std::optional<Event> e = rules::FromOffer(o);
    REQUIRE(e.has_value());
    CHECK(e->kind == EventKind::kRoutingEnded);
    CHECK(e->reason == text);
    CHECK(e->fallback == "AUTO_REPLY");
    o.clear_fallback_action();
    CHECK(rules::FromOffer(o)->fallback == "NONE");
    o.set_ringing_ended(false);  // an escalation: another round follows
    CHECK_FALSE(rules::FromOffer(o).has_value());
  }
  rv1::CallOffer ended = Offer(rv1::CALL_OFFER_KIND_WITHDRAWN);
  ended.set_withdraw_reason(rv1::WITHDRAW_REASON_CALL_ENDED);
  ended.set_ringing_ended(true);
  CHECK_FALSE(rules::FromOffer(ended).has_value());
}

TEST_CASE("a claim is the winner's intent to answer") {
  rv1::CallOffer claimed = Offer(rv1::CALL_OFFER_KIND_CLAIMED);
  claimed.set_ringing_ended(true);
  claimed.set_claimed_by_agent_id("agent-2");
  std::optional<Event> e = rules::FromOffer(claimed);
  REQUIRE(e.has_value());
  CHECK(e->kind == EventKind::kRoutingClaimed);
  CHECK(e->agent_id == "agent-2");
  claimed.clear_claimed_by_agent_id();  // nobody to name: nothing
  CHECK_FALSE(rules::FromOffer(claimed).has_value());
}

}  // namespace
}  // namespace switchboard::calls

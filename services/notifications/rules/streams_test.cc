#include "services/notifications/rules/streams.h"

#include <catch2/catch.hpp>

#include "libs/core/proto_time.h"

namespace rules = switchboard::notifications::rules;
namespace v1 = switchboard::notifications::v1;
namespace cv1 = switchboard::calls::v1;
namespace rv1 = switchboard::routing::v1;
namespace core = switchboard::core;

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);

rv1::CallOffer Offer(rv1::CallOfferKind kind, std::vector<std::string> agents) {
  rv1::CallOffer offer;
  offer.mutable_header()->set_tenant_id("acme");
  offer.set_call_id("call-1");
  offer.set_kind(kind);
  for (auto& a : agents) offer.add_offered_agent_ids(a);
  *offer.mutable_ring_deadline_time() = core::ToProto(kNow + absl::Seconds(30));
  offer.mutable_contact()->set_wa_id("15551230001");
  offer.set_business_phone_number_id("pn-1");
  return offer;
}

cv1::CallStateChanged State(cv1::CallState state, std::string agent) {
  cv1::CallStateChanged e;
  e.mutable_header()->set_tenant_id("acme");
  e.mutable_call()->set_call_id("call-1");
  e.mutable_call()->set_state(state);
  e.mutable_call()->set_answered_by_agent_id(agent);
  e.set_state(state);
  return e;
}

}  // namespace

TEST_CASE("an offer rings exactly the offered agents; a claim withdraws every other one") {
  auto offered = rules::FromOffer(Offer(rv1::CALL_OFFER_KIND_OFFERED, {"ana", "ben"}));
  REQUIRE(offered.size() == 2);
  CHECK(offered[0].stream == rules::StreamRef{"acme", "ana"});
  CHECK(offered[1].stream == rules::StreamRef{"acme", "ben"});
  CHECK(offered[0].notification->incoming_call().call_id() == "call-1");
  CHECK(offered[0].notification->incoming_call().contact().wa_id() == "15551230001");
  CHECK(offered[0].snapshot.op == rules::SnapshotChange::Op::kPut);
  CHECK(offered[0].snapshot.field == "ring:call-1");

  rv1::CallOffer claim = Offer(rv1::CALL_OFFER_KIND_CLAIMED, {"ana", "ben"});
  claim.set_claimed_by_agent_id("ben");
  auto claimed = rules::FromOffer(claim);
  REQUIRE(claimed.size() == 2);
  CHECK(claimed[0].notification->alert_withdrawn().reason() ==
        v1::WITHDRAWN_REASON_ANSWERED_ELSEWHERE);
  CHECK(claimed[0].notification->alert_withdrawn().answered_by_agent_id() == "ben");
  CHECK(claimed[1].notification->alert_withdrawn().reason() == v1::WITHDRAWN_REASON_ANSWERED_HERE);
  CHECK(claimed[1].snapshot.op == rules::SnapshotChange::Op::kRemove);

  // A winner missing from the list still hears it won.
  rv1::CallOffer other = Offer(rv1::CALL_OFFER_KIND_CLAIMED, {"ana"});
  other.set_claimed_by_agent_id("cy");
  CHECK(rules::FromOffer(other).size() == 2);

  rv1::CallOffer ended = Offer(rv1::CALL_OFFER_KIND_WITHDRAWN, {"ana"});
  ended.set_withdraw_reason(rv1::WITHDRAW_REASON_CALL_ENDED);
  CHECK(rules::FromOffer(ended)[0].notification->alert_withdrawn().reason() ==
        v1::WITHDRAWN_REASON_CALL_ENDED);
  ended.set_withdraw_reason(rv1::WITHDRAW_REASON_NEXT_STEP);
  CHECK(rules::FromOffer(ended)[0].notification->alert_withdrawn().reason() ==
        v1::WITHDRAWN_REASON_RING_TIMEOUT);
  // Nobody was rung: nobody hears anything.
  CHECK(rules::FromOffer(Offer(rv1::CALL_OFFER_KIND_WITHDRAWN, {})).empty());
}

TEST_CASE(
    "call states go to the tenant-wide stream and the call's agent, and leave the snapshot "
    "when over") {
  auto ringing = rules::FromCallState(State(cv1::CALL_STATE_RINGING, ""));
  REQUIRE(ringing.size() == 1);
  CHECK(ringing[0].stream.tenant_wide());
  CHECK(ringing[0].snapshot.op == rules::SnapshotChange::Op::kPut);

  auto answered = rules::FromCallState(State(cv1::CALL_STATE_ANSWERED, "ana"));
  REQUIRE(answered.size() == 2);
  CHECK(answered[1].stream == rules::StreamRef{"acme", "ana"});
  CHECK(answered[1].notification->call_state().call().state() == cv1::CALL_STATE_ANSWERED);

  for (auto state : {cv1::CALL_STATE_ENDED, cv1::CALL_STATE_MISSED, cv1::CALL_STATE_REJECTED,
                     cv1::CALL_STATE_FAILED}) {
    auto over = rules::FromCallState(State(state, "ana"));
    CHECK(over[0].snapshot.op == rules::SnapshotChange::Op::kRemove);
    CHECK(over[0].snapshot.field == "call:call-1");
  }
}

TEST_CASE("usage alerts only when a threshold is crossed; suspensions say until when") {
  switchboard::billing::v1::UsageUpdated usage;
  usage.mutable_header()->set_tenant_id("acme");
  usage.set_minutes_used(810);
  CHECK(rules::FromUsage(usage).empty());
  usage.set_alert(switchboard::billing::v1::USAGE_LEVEL_WARNING);
  auto alert = rules::FromUsage(usage);
  REQUIRE(alert.size() == 1);
  CHECK(alert[0].stream.tenant_wide());
  CHECK(alert[0].notification->usage_alert().minutes_used() == 810);

  switchboard::eligibility::v1::CallingSuspensionChanged s;
  s.mutable_header()->set_tenant_id("acme");
  s.set_suspended(true);
  s.set_missed_call_count(5);
  *s.mutable_suspended_until_time() = core::ToProto(absl::FromUnixSeconds(1'780'000'900));
  auto suspended = rules::FromSuspension(s);
  CHECK(suspended[0].notification->suspension_alert().message() ==
        "Calling from this number is suspended until 20:41 UTC after 5 missed calls.");
}

TEST_CASE("resume ids round-trip, and anything else is not one") {
  rules::Position p{"0a1b2c3d", "1780000000123-4"};
  CHECK(rules::FormatId(p) == "0a1b2c3d.1780000000123-4");
  auto back = rules::ParseId(rules::FormatId(p));
  REQUIRE(back.has_value());
  CHECK(back->epoch == p.epoch);
  CHECK(back->entry_id == p.entry_id);
  for (const char* bad :
       {"", ".", "abc", "zz.1-0", "0a.1", "0a.1-x", "0a.-1-0", "0a. 1-0", "0a.1-0-0", ".1-0"}) {
    CAPTURE(bad);
    CHECK_FALSE(rules::ParseId(bad).has_value());
  }
  CHECK(rules::EntryIdLess("9-5", "10-0"));
  CHECK(rules::EntryIdLess("10-0", "10-1"));
  CHECK_FALSE(rules::EntryIdLess("10-1", "10-1"));
}

TEST_CASE("a reset shows what still rings and the calls in progress, newest first") {
  v1::IncomingCallAlert ringing, stale;
  ringing.set_call_id("c1");
  *ringing.mutable_ring_deadline_time() = core::ToProto(kNow + absl::Seconds(5));
  stale.set_call_id("c0");
  *stale.mutable_ring_deadline_time() = core::ToProto(kNow - absl::Seconds(1));
  cv1::Call older, newer, over;
  older.set_call_id("a");
  older.set_state(cv1::CALL_STATE_ANSWERED);
  *older.mutable_offered_time() = core::ToProto(kNow - absl::Minutes(5));
  newer.set_call_id("b");
  newer.set_state(cv1::CALL_STATE_RINGING);
  *newer.mutable_offered_time() = core::ToProto(kNow - absl::Minutes(1));
  over.set_call_id("x");
  over.set_state(cv1::CALL_STATE_ENDED);
  v1::StreamReset reset = rules::BuildReset(v1::RESET_REASON_TOO_FAR_BEHIND,
                                            {{"ring:c1", ringing.SerializeAsString()},
                                             {"ring:c0", stale.SerializeAsString()},
                                             {"call:a", older.SerializeAsString()},
                                             {"call:b", newer.SerializeAsString()},
                                             {"call:x", over.SerializeAsString()},
                                             {"call:junk", "\xff\xff"}},
                                            kNow);
  CHECK(reset.reason() == v1::RESET_REASON_TOO_FAR_BEHIND);
  REQUIRE(reset.ringing_size() == 1);
  CHECK(reset.ringing(0).call_id() == "c1");
  REQUIRE(reset.calls_size() == 2);
  CHECK(reset.calls(0).call_id() == "b");
  CHECK(reset.calls(1).call_id() == "a");
  CHECK_FALSE(reset.truncated());
}

TEST_CASE("a reset holds at most 200 calls in progress, and says when there were more") {
  auto snapshot = [](int calls) {
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < calls; ++i) {
      cv1::Call call;
      call.set_call_id(std::to_string(i));
      call.set_state(cv1::CALL_STATE_ANSWERED);
      *call.mutable_offered_time() = core::ToProto(kNow - absl::Seconds(i));
      out.emplace_back("call:" + call.call_id(), call.SerializeAsString());
    }
    return out;
  };
  v1::StreamReset full = rules::BuildReset(v1::RESET_REASON_NEW_SUBSCRIPTION,
                                           snapshot(rules::kMaxSnapshotCalls), kNow);
  CHECK(full.calls_size() == rules::kMaxSnapshotCalls);
  CHECK_FALSE(full.truncated());
  v1::StreamReset over = rules::BuildReset(v1::RESET_REASON_NEW_SUBSCRIPTION,
                                           snapshot(rules::kMaxSnapshotCalls + 1), kNow);
  CHECK(over.calls_size() == rules::kMaxSnapshotCalls);
  CHECK(over.truncated());
  CHECK(over.calls(0).call_id() == "0");  // the newest kept
  CHECK(over.calls(rules::kMaxSnapshotCalls - 1).call_id() ==
        std::to_string(rules::kMaxSnapshotCalls - 1));
}

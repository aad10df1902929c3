#include "services/notifications/rules/current.h"

#include <catch2/catch.hpp>

#include "libs/core/proto_time.h"

namespace rules = switchboard::notifications::rules;
namespace v1 = switchboard::notifications::v1;
namespace bv1 = switchboard::billing::v1;
namespace cv1 = switchboard::calls::v1;
namespace ev1 = switchboard::eligibility::v1;
namespace rv1 = switchboard::routing::v1;
namespace core = switchboard::core;

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);
const absl::Duration kRetention = absl::Hours(1);
const absl::Time kFresh = kNow - absl::Minutes(5);
// A replay after a crash: the event's own time, hours ago.
const absl::Time kReplayed = kNow - absl::Hours(3);

rv1::CallOffer Offer(rv1::CallOfferKind kind, absl::Time ring_deadline) {
  rv1::CallOffer offer;
  offer.mutable_header()->set_tenant_id("acme");
  offer.set_call_id("call-1");
  offer.set_kind(kind);
  offer.add_offered_agent_ids("ana");
  offer.add_offered_agent_ids("ben");
  offer.set_claimed_by_agent_id(kind == rv1::CALL_OFFER_KIND_CLAIMED ? "ben" : "");
  *offer.mutable_ring_deadline_time() = core::ToProto(ring_deadline);
  return offer;
}

cv1::CallStateChanged State(cv1::CallState state) {
  cv1::CallStateChanged e;
  e.mutable_header()->set_tenant_id("acme");
  e.mutable_call()->set_call_id("call-1");
  e.mutable_call()->set_state(state);
  e.mutable_call()->set_answered_by_agent_id("ana");
  e.set_state(state);
  return e;
}

size_t Kept(std::vector<rules::Entry> entries, absl::Time at) {
  return rules::CurrentEntries(std::move(entries), at, kNow, kRetention).size();
}

bv1::UsageUpdated Usage(absl::Time month_end) {
  bv1::UsageUpdated u;
  u.mutable_header()->set_tenant_id("acme");
  u.set_month("2026-05");
  u.set_alert(bv1::USAGE_LEVEL_WARNING);
  *u.mutable_end_time() = core::ToProto(month_end);
  return u;
}

ev1::CallingSuspensionChanged Suspension(bool suspended, absl::Time until) {
  ev1::CallingSuspensionChanged e;
  e.mutable_header()->set_tenant_id("acme");
  e.set_suspended(suspended);
  if (suspended) *e.mutable_suspended_until_time() = core::ToProto(until);
  return e;
}

}  // namespace

TEST_CASE("a replayed offer rings nobody; its withdrawal still clears the alert") {
  const absl::Time ringing = kNow + absl::Seconds(30);
  CHECK(Kept(rules::FromOffer(Offer(rv1::CALL_OFFER_KIND_OFFERED, ringing)), kFresh) == 2);
  CHECK(Kept(rules::FromOffer(Offer(rv1::CALL_OFFER_KIND_OFFERED, ringing)), kReplayed) == 0);
  // Recent, but the ring is over (the reset snapshot drops it too): no alert.
  CHECK(Kept(rules::FromOffer(Offer(rv1::CALL_OFFER_KIND_OFFERED, kNow)), kFresh) == 0);
  CHECK(Kept(rules::FromOffer(Offer(rv1::CALL_OFFER_KIND_OFFERED, kNow - absl::Seconds(1))),
             kNow - absl::Seconds(40)) == 0);

  for (auto kind : {rv1::CALL_OFFER_KIND_CLAIMED, rv1::CALL_OFFER_KIND_WITHDRAWN}) {
    auto kept = rules::CurrentEntries(rules::FromOffer(Offer(kind, kNow - absl::Hours(3))),
                                      kReplayed, kNow, kRetention);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].snapshot.op == rules::SnapshotChange::Op::kRemove);
    CHECK(kept[0].notification->has_alert_withdrawn());
  }
}

TEST_CASE("a replayed call state adds no call to the wall board; a replayed end still removes") {
  CHECK(Kept(rules::FromCallState(State(cv1::CALL_STATE_ANSWERED)), kFresh) == 2);
  CHECK(Kept(rules::FromCallState(State(cv1::CALL_STATE_ANSWERED)), kReplayed) == 0);
  CHECK(Kept(rules::FromCallState(State(cv1::CALL_STATE_RINGING)), kReplayed) == 0);
  // Exactly the retention old is still news; a second more is not.
  CHECK(Kept(rules::FromCallState(State(cv1::CALL_STATE_RINGING)), kNow - kRetention) == 2);
  CHECK(Kept(rules::FromCallState(State(cv1::CALL_STATE_RINGING)),
             kNow - kRetention - absl::Seconds(1)) == 0);
  for (auto state : {cv1::CALL_STATE_ENDED, cv1::CALL_STATE_MISSED}) {
    auto kept =
        rules::CurrentEntries(rules::FromCallState(State(state)), kReplayed, kNow, kRetention);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].snapshot.op == rules::SnapshotChange::Op::kRemove);
    CHECK(kept[0].snapshot.field == "call:call-1");
  }
}

TEST_CASE("replayed usage, suspension and callback alerts are not shown again") {
  bv1::UsageUpdated usage = Usage(kNow + absl::Hours(48));
  CHECK(Kept(rules::FromUsage(usage), kFresh) == 1);
  CHECK(Kept(rules::FromUsage(usage), kReplayed) == 0);
  CHECK(Kept(rules::FromSuspension(Suspension(true, kNow + absl::Hours(1))), kFresh) == 1);
  CHECK(Kept(rules::FromSuspension(Suspension(true, kNow + absl::Hours(1))), kReplayed) == 0);
  CHECK(Kept(rules::FromSuspension(Suspension(false, kNow)), kReplayed) == 0);
  cv1::CallbackDue due;
  due.mutable_header()->set_tenant_id("acme");
  due.mutable_callback()->set_assigned_agent_id("ana");
  CHECK(Kept(rules::FromCallbackDue(due), kFresh) == 2);
  CHECK(Kept(rules::FromCallbackDue(due), kReplayed) == 0);
}

TEST_CASE("an event's time is its ce_time, else its header's, else now") {
  switchboard::events::v1::EventHeader header;
  CHECK(rules::EventTime(header, kReplayed, kNow) == kReplayed);
  CHECK(rules::EventTime(header, absl::InfinitePast(), kNow) == kNow);
  *header.mutable_occurred_time() = core::ToProto(kFresh);
  CHECK(rules::EventTime(header, absl::InfinitePast(), kNow) == kFresh);
  CHECK(rules::EventTime(header, kReplayed, kNow) == kReplayed);
}

TEST_CASE("an admin's notice goes out only while it is news") {
  // Usage: while the month lasts and the alert is recent.
  CHECK(rules::NoticeIsCurrent(Usage(kNow + absl::Hours(72)), kFresh, kNow, kRetention));
  CHECK_FALSE(rules::NoticeIsCurrent(Usage(kNow + absl::Hours(72)), kReplayed, kNow, kRetention));
  CHECK_FALSE(rules::NoticeIsCurrent(Usage(kNow), kFresh, kNow, kRetention));
  // Without end_time, the month read as UTC: kNow is in May 2026, so May's alert is news and
  // April's is not.
  bv1::UsageUpdated old_style = Usage(kNow);
  old_style.clear_end_time();
  CHECK(rules::NoticeIsCurrent(old_style, kFresh, kNow, kRetention));
  old_style.set_month("2026-04");
  CHECK_FALSE(rules::NoticeIsCurrent(old_style, kFresh, kNow, kRetention));

  // A suspension while it lasts, whenever it started; an ended one tells nobody.
  CHECK(rules::NoticeIsCurrent(Suspension(true, kNow + absl::Minutes(1)), kReplayed, kNow,
                               kRetention));
  CHECK_FALSE(rules::NoticeIsCurrent(Suspension(true, kNow), kFresh, kNow, kRetention));
  CHECK_FALSE(
      rules::NoticeIsCurrent(Suspension(true, kNow - absl::Hours(2)), kReplayed, kNow, kRetention));
  // A resumption only when recent.
  CHECK(rules::NoticeIsCurrent(Suspension(false, kNow), kFresh, kNow, kRetention));
  CHECK_FALSE(rules::NoticeIsCurrent(Suspension(false, kNow), kReplayed, kNow, kRetention));
}

// The calls.whatsapp consumer's batches (Ingest::OnWhatsAppEvents) leave exactly what the same
// webhooks leave applied one at a time (Ingest::OnWhatsAppEvent): the same records, timers,
// events in the same order, user offers and inbox marks, on real PostgreSQL. Two tenants get the
// same webhooks, one as a batch, the other one by one, and their tables are compared.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/core/clock.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/dispatch.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pg.h"
#include "services/calls/ingest.h"
#include "services/calls/journal.h"
#include "services/calls/module.h"
#include "services/calls/store/store.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"
#include "tests/support/servers.h"

namespace sb = switchboard;
namespace v1 = switchboard::calls::v1;
namespace wa = switchboard::webhooks::v1;
namespace testing = switchboard::testing;

namespace {

const std::string kNumber = "106540352242922";
const absl::Time kT0 = absl::FromUnixSeconds(1'767'225'600);  // the fake clock's start
const std::string kSdpOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 RTP 111\r\n";

// One webhook as the consumer hands it over: the event and the record it came in.
struct Webhook {
  wa::WhatsAppEvent event;
  sb::kafka::Message message;
};

struct Calls {
  Calls()
      : url(testing::PostgresServer::Shared().CreateDatabase()),
        pool({.url = url, .schema = "calls", .pool_size = 2}),
        store(pool, pool, pool, clock),
        journal(store, clock, sb::calls::Timing()),
        ingest(journal, clock) {
    REQUIRE(sb::pg::Migrate(pool, sb::calls::Migrations()).ok());
  }

  // Meta's webhooks for `tenant`, with ce_ids that are the same for every tenant (each tenant's
  // source differs, so the inbox keeps them apart and the causation ids compare equal).
  Webhook Connect(const std::string& tenant, const std::string& meta, int id, int second,
                  wa::CallDirection direction = wa::CALL_DIRECTION_USER_INITIATED) {
    wa::WhatsAppEvent e = Base(tenant, second);
    auto* c = e.mutable_call_connected();
    c->set_meta_call_id(meta);
    c->set_direction(direction);
    c->mutable_contact()->set_wa_id("5511966880100");
    if (direction == wa::CALL_DIRECTION_USER_INITIATED) {
      c->set_sdp_type(wa::SDP_TYPE_OFFER);
      c->set_sdp(kSdpOffer);
      c->mutable_contact()->set_display_name(second > 1 ? "Ana Souza" : "");
    }
    return Wrap(tenant, std::move(e), id);
  }
  Webhook Terminate(const std::string& tenant, const std::string& meta, int id, int second,
                    int talk_seconds,
                    wa::CallDirection direction = wa::CALL_DIRECTION_USER_INITIATED) {
    wa::WhatsAppEvent e = Base(tenant, second);
    auto* t = e.mutable_call_terminated();
    t->set_meta_call_id(meta);
    t->set_direction(direction);
    t->set_status(talk_seconds > 0 ? wa::TERMINATE_STATUS_COMPLETED : wa::TERMINATE_STATUS_FAILED);
    if (talk_seconds > 0) {
      *t->mutable_start_time() = sb::core::ToProto(kT0 + absl::Seconds(second - talk_seconds));
      *t->mutable_end_time() = sb::core::ToProto(kT0 + absl::Seconds(second));
      t->mutable_duration()->set_seconds(talk_seconds);
    }
    t->mutable_contact()->set_wa_id("5511966880100");
    t->mutable_contact()->set_display_name("Ana Souza");
    return Wrap(tenant, std::move(e), id);
  }
  Webhook Status(const std::string& tenant, const std::string& meta, int id, int second,
                 wa::CallStatus status, const std::string& callback_data = "") {
    wa::WhatsAppEvent e = Base(tenant, second);
    auto* s = e.mutable_call_status_updated();
    s->set_meta_call_id(meta);
    s->set_status(status);
    s->set_biz_opaque_callback_data(callback_data);
    s->mutable_contact()->set_wa_id("5511966880100");
    return Wrap(tenant, std::move(e), id);
  }

  // An outbound call StartCall placed, Meta's id stored (OFFERED, as after AttachMetaId).
  void PlaceOutbound(const std::string& tenant, const std::string& call_id,
                     const std::string& meta) {
    v1::Call c;
    c.set_call_id(call_id);
    c.set_tenant_id(tenant);
    c.set_meta_call_id(meta);
    c.set_direction(v1::CALL_DIRECTION_OUTBOUND);
    c.set_state(v1::CALL_STATE_OFFERED);
    c.set_business_phone_number_id(kNumber);
    c.set_answered_by_agent_id("agent-7");
    c.mutable_contact()->set_wa_id("5511966880100");
    *c.mutable_offered_time() = sb::core::ToProto(kT0);
    REQUIRE(pool.InTransaction([&](sb::pg::Conn& tx) {
                  return journal.Save(tx, c,
                                      {.from = v1::CALL_STATE_UNSPECIFIED,
                                       .to = v1::CALL_STATE_OFFERED,
                                       .publish = true,
                                       .changed = true},
                                      {.at = kT0, .correlation_id = "start"});
                })
                .ok());
  }

  absl::Status Batch(const std::vector<const Webhook*>& webhooks) {
    std::vector<sb::kafka::Typed<wa::WhatsAppEvent>> batch;
    for (const Webhook* w : webhooks) batch.push_back({w->event, &w->message});
    return ingest.OnWhatsAppEvents(batch);
  }
  void OneByOne(const std::vector<const Webhook*>& webhooks) {
    for (const Webhook* w : webhooks) {
      absl::Status s = ingest.OnWhatsAppEvent(w->event, w->message);
      REQUIRE(s.ok());
    }
  }

  // What the tenant's tables hold, by Meta's call id, without the ids that differ by tenant
  // (call ids are new ids; each tenant's name).
  struct Seen {
    std::map<std::string, std::string> rows;                 // the columns and the record
    std::map<std::string, std::string> timers;               // kind and due time
    std::map<std::string, std::vector<std::string>> events;  // the call's events, in order
    int64_t marks = 0;                                       // inbox rows
  };
  Seen Tables(const std::string& tenant) {
    Seen seen;
    std::map<std::string, std::string> meta_of;  // call id -> Meta's id
    auto rows = pool.Exec(
        "SELECT call_id, coalesce(meta_call_id, ''), direction, state, offered_time, "
        "answered_time, ended_time, duration_seconds, sequence, coalesce(user_sdp_offer, '-'), "
        "contact_key, contact_name, agent_id, search_text, record FROM calls "
        "WHERE tenant_id = $1",
        {tenant});
    REQUIRE(rows.ok());
    for (int i = 0; i < rows->rows(); ++i) {
      const std::string meta(rows->Get(i, 1));
      meta_of[std::string(rows->Get(i, 0))] = meta;
      v1::Call record;
      REQUIRE(record.ParseFromString(rows->GetBytes(i, 14)));
      record.clear_call_id();
      record.clear_tenant_id();
      std::string columns;
      for (int c = 2; c < 14; ++c) absl::StrAppend(&columns, rows->Get(i, c), "|");
      seen.rows[meta] = absl::StrCat(columns, record.ShortDebugString());
    }
    auto timers =
        pool.Exec("SELECT call_id, kind, due_time FROM call_timers WHERE tenant_id = $1", {tenant});
    REQUIRE(timers.ok());
    for (int i = 0; i < timers->rows(); ++i) {
      seen.timers[meta_of[std::string(timers->Get(i, 0))]] =
          absl::StrCat(timers->Get(i, 1), "@", timers->Get(i, 2));
    }
    auto events = pool.Exec("SELECT event_key, ce_type, ce_id, payload FROM outbox ORDER BY id");
    REQUIRE(events.ok());
    for (int i = 0; i < events->rows(); ++i) {
      if (events->Get(i, 1) != v1::CallStateChanged::descriptor()->full_name()) continue;
      v1::CallStateChanged e;
      REQUIRE(e.ParseFromString(events->GetBytes(i, 3)));
      if (e.header().tenant_id() != tenant) continue;
      const std::string ce_id(events->Get(i, 2));
      const std::string meta = e.call().meta_call_id();
      e.mutable_header()->clear_tenant_id();
      e.mutable_header()->clear_entity_id();
      e.mutable_call()->clear_call_id();
      e.mutable_call()->clear_tenant_id();
      seen.events[meta].push_back(
          absl::StrCat(ce_id.substr(ce_id.find('/')), " ", e.ShortDebugString()));
    }
    auto marks =
        pool.Exec("SELECT count(*) FROM processed_events WHERE source = $1", {Source(tenant)});
    REQUIRE(marks.ok());
    seen.marks = marks->GetInt(0, 0);
    return seen;
  }

  static std::string Source(const std::string& tenant) {
    return absl::StrCat("//whatsapp/", tenant);
  }

  std::string url;
  sb::core::FakeClock clock;
  sb::pg::Pool pool;
  sb::calls::Store store;
  sb::calls::Journal journal;
  sb::calls::Ingest ingest;

 private:
  wa::WhatsAppEvent Base(const std::string& tenant, int second) {
    wa::WhatsAppEvent e;
    e.mutable_header()->set_tenant_id(tenant);
    e.mutable_header()->set_correlation_id(absl::StrCat("corr-", second));
    e.set_phone_number_id(kNumber);
    e.set_display_phone_number("16315553601");
    *e.mutable_meta_event_time() = sb::core::ToProto(kT0 + absl::Seconds(second));
    return e;
  }
  Webhook Wrap(const std::string& tenant, wa::WhatsAppEvent e, int id) {
    Webhook w{std::move(e), {}};
    w.message.topic = "whatsapp.events.v1";
    w.message.event.id = absl::StrCat("ev-", id);
    w.message.event.source = Source(tenant);
    w.message.event.type = wa::WhatsAppEvent::descriptor()->full_name();
    w.message.event.time = kT0;
    w.message.event.payload = w.event.SerializeAsString();
    return w;
  }
};

// A map as text, for Catch to show what differs.
template <typename Map>
std::string Show(const Map& map) {
  std::string out;
  for (const auto& [key, value] : map) {
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
      absl::StrAppend(&out, key, " = ", value, "\n");
    } else {
      for (const std::string& v : value) absl::StrAppend(&out, key, " : ", v, "\n");
    }
  }
  return out;
}

void RequireSame(const Calls::Seen& a, const Calls::Seen& b) {
  CHECK(Show(a.rows) == Show(b.rows));
  CHECK(Show(a.timers) == Show(b.timers));
  CHECK(Show(a.events) == Show(b.events));
  CHECK(a.marks == b.marks);
}

// The same webhooks, for `tenant`: calls in every order the consumer can meet them in a batch.
std::vector<Webhook> Scenario(Calls& calls, const std::string& tenant) {
  calls.PlaceOutbound(tenant, tenant + "-out-1", "wacid.out.1");
  calls.PlaceOutbound(tenant, tenant + "-out-2", "wacid.out.2");
  std::vector<Webhook> w;
  // Inbound, connect then unanswered terminate.
  w.push_back(calls.Connect(tenant, "wacid.in.1", 1, 1));
  w.push_back(calls.Terminate(tenant, "wacid.in.1", 2, 31, 0));
  // Inbound, its terminate before its connect (the offer time a stand-in, then Meta's).
  w.push_back(calls.Terminate(tenant, "wacid.in.2", 3, 40, 0));
  w.push_back(calls.Connect(tenant, "wacid.in.2", 4, 2));
  // Inbound, connected only (rings on: its ring timer and the user's offer stay), its connect
  // delivered twice in the batch (the same ce_id), then Meta's copy with another id.
  w.push_back(calls.Connect(tenant, "wacid.in.3", 5, 3));
  w.push_back(calls.Connect(tenant, "wacid.in.3", 5, 3));
  w.push_back(calls.Connect(tenant, "wacid.in.3", 6, 4));
  // Outbound, known by Meta's id: ringing, accepted, talked, ended.
  w.push_back(
      calls.Status(tenant, "wacid.out.1", 7, 5, wa::CALL_STATUS_RINGING, tenant + "-out-1"));
  w.push_back(
      calls.Status(tenant, "wacid.out.1", 8, 6, wa::CALL_STATUS_ACCEPTED, tenant + "-out-1"));
  w.push_back(
      calls.Terminate(tenant, "wacid.out.1", 9, 66, 60, wa::CALL_DIRECTION_BUSINESS_INITIATED));
  // Outbound, ringing only (its unconfirmed timer keeps its first due time).
  w.push_back(calls.Status(tenant, "wacid.out.2", 10, 7, wa::CALL_STATUS_RINGING));
  // A message: about no call, nothing to do.
  wa::WhatsAppEvent message;
  message.mutable_header()->set_tenant_id(tenant);
  message.mutable_inbound_message()->set_text("hello");
  w.push_back({message, w.back().message});
  w.back().message.event.id = "ev-11";
  w.back().message.event.payload = message.SerializeAsString();
  return w;
}

std::vector<const Webhook*> Pointers(const std::vector<Webhook>& webhooks) {
  std::vector<const Webhook*> out;
  for (const Webhook& w : webhooks) out.push_back(&w);
  return out;
}

}  // namespace

TEST_CASE("a batch of webhooks leaves exactly what they leave applied one at a time") {
  Calls calls;
  std::vector<Webhook> batched = Scenario(calls, "acme");
  std::vector<Webhook> single = Scenario(calls, "globex");

  REQUIRE(calls.Batch(Pointers(batched)).ok());
  calls.OneByOne(Pointers(single));

  Calls::Seen a = calls.Tables("acme"), b = calls.Tables("globex");
  RequireSame(a, b);
  // And what that is (so two equally wrong paths cannot pass):
  REQUIRE(a.rows.size() == 5);
  CHECK(a.rows["wacid.in.1"].find("state: CALL_STATE_MISSED") != std::string::npos);
  CHECK(a.rows["wacid.in.2"].find("state: CALL_STATE_MISSED") != std::string::npos);
  CHECK(a.rows["wacid.out.1"].find("state: CALL_STATE_ENDED") != std::string::npos);
  CHECK(a.rows["wacid.out.2"].find("state: CALL_STATE_RINGING") != std::string::npos);
  CHECK(a.rows["wacid.in.3"].find(kSdpOffer) != std::string::npos);  // the offer kept
  CHECK(a.rows["wacid.in.1"].find(kSdpOffer) == std::string::npos);  // ended: cleared
  CHECK(a.timers.size() == 2);  // in.3 rings, out.2 waits for the contact
  CHECK(a.timers.count("wacid.in.3") == 1);
  CHECK(a.timers.count("wacid.out.2") == 1);
  CHECK(a.events["wacid.in.1"].size() == 2);   // OFFERED, MISSED
  CHECK(a.events["wacid.in.3"].size() == 1);   // OFFERED once, however often connected
  CHECK(a.events["wacid.out.1"].size() == 4);  // OFFERED, RINGING, ANSWERED, ENDED
  CHECK(a.marks == 10);                        // each call webhook's ce_id once

  SECTION("the whole batch delivered again changes nothing") {
    REQUIRE(calls.Batch(Pointers(batched)).ok());
    Calls::Seen again = calls.Tables("acme");
    RequireSame(a, again);
  }
  SECTION("later webhooks in a second batch find the calls the first created") {
    std::vector<Webhook> more = {
        calls.Terminate("acme", "wacid.in.3", 20, 30, 0),
        calls.Terminate("acme", "wacid.out.2", 21, 50, 0, wa::CALL_DIRECTION_BUSINESS_INITIATED)};
    std::vector<Webhook> same = {
        calls.Terminate("globex", "wacid.in.3", 20, 30, 0),
        calls.Terminate("globex", "wacid.out.2", 21, 50, 0, wa::CALL_DIRECTION_BUSINESS_INITIATED)};
    REQUIRE(calls.Batch(Pointers(more)).ok());
    calls.OneByOne(Pointers(same));
    Calls::Seen after = calls.Tables("acme");
    RequireSame(after, calls.Tables("globex"));
    CHECK(after.timers.empty());
    CHECK(after.rows.size() == 5);  // no call created twice
  }
}

TEST_CASE("a batch with an outbound call Meta's id does not find yet is handed back whole") {
  Calls calls;
  calls.PlaceOutbound("acme", "acme-out-1", "wacid.out.1");
  // The user's connect can beat the Graph response that tells us Meta's id: only our id finds
  // the call (biz_opaque_callback_data), or nothing does and the webhook is parked.
  std::vector<Webhook> batch = {
      calls.Connect("acme", "wacid.in.9", 1, 1),
      calls.Status("acme", "wacid.out.unknown", 2, 2, wa::CALL_STATUS_RINGING, "some-call"),
  };
  absl::Status s = calls.Batch(Pointers(batch));
  CHECK(s.code() == absl::StatusCode::kAborted);
  CHECK(sb::core::ReasonOf(s) == sb::kafka::kBatchRefused);
  Calls::Seen seen = calls.Tables("acme");
  CHECK(seen.rows.size() == 1);  // the inbound call not created: the transaction rolled back
  CHECK(seen.marks == 0);
  // One at a time, as the consumer then hands them over: the call rings, the status is parked.
  calls.OneByOne(Pointers(batch));
  seen = calls.Tables("acme");
  CHECK(seen.rows.size() == 2);
  CHECK(seen.marks == 2);
  auto parked = calls.pool.Exec("SELECT count(*) FROM parked_events WHERE tenant_id = 'acme'");
  REQUIRE(parked.ok());
  CHECK(parked->GetInt(0, 0) == 1);
}

TEST_CASE("a batch's timers end as one write per change would leave them") {
  Calls calls;
  using sb::calls::Timer;
  using sb::calls::TimerKind;
  const Timer ring_early{TimerKind::kRing, kT0 + absl::Seconds(30)};
  const Timer ring_late{TimerKind::kRing, kT0 + absl::Seconds(60)};
  const Timer unconfirmed{TimerKind::kUnconfirmed, kT0 + absl::Seconds(120)};
  // Each sequence of timers for one call, on a stored ring timer due early, or on none.
  const std::vector<std::vector<std::optional<Timer>>> sequences = {
      {ring_late},                // the same kind: the stored due time stays
      {unconfirmed},              // another kind replaces it
      {std::nullopt},             // none deletes it
      {ring_late, ring_late},     // twice the same kind: still the stored one
      {unconfirmed, ring_late},   // replaced, then replaced back: due late
      {std::nullopt, ring_late},  // deleted, then set: due late
      {ring_late, std::nullopt},  // set, then deleted: none
      {unconfirmed, unconfirmed, std::nullopt, unconfirmed},
  };
  auto call = [](const std::string& tenant, size_t n, bool stored) {
    v1::Call c;
    c.set_tenant_id(tenant);
    c.set_call_id(absl::StrCat("call-", n, stored ? "-stored" : "-none"));
    return c;
  };
  for (bool stored : {true, false}) {
    for (const std::string tenant : {"batched", "single"}) {
      sb::calls::CallWrites seed;
      for (size_t n = 0; n < sequences.size(); ++n) {
        if (stored) seed.SetTimer(call(tenant, n, stored), ring_early);
      }
      REQUIRE(
          calls.pool
              .InTransaction([&](sb::pg::Conn& tx) { return sb::calls::Store::Write(tx, seed); })
              .ok());
    }
    // "batched": every change of every call in one CallWrites; "single": one write each.
    sb::calls::CallWrites all;
    for (size_t n = 0; n < sequences.size(); ++n) {
      for (const std::optional<Timer>& t : sequences[n]) {
        all.SetTimer(call("batched", n, stored), t);
        sb::calls::CallWrites one;
        one.SetTimer(call("single", n, stored), t);
        REQUIRE(
            calls.pool
                .InTransaction([&](sb::pg::Conn& tx) { return sb::calls::Store::Write(tx, one); })
                .ok());
      }
    }
    REQUIRE(
        calls.pool.InTransaction([&](sb::pg::Conn& tx) { return sb::calls::Store::Write(tx, all); })
            .ok());
  }
  auto timers = [&](const std::string& tenant) {
    auto r = calls.pool.Exec(
        "SELECT call_id, kind, extract(epoch FROM due_time)::bigint FROM call_timers "
        "WHERE tenant_id = $1",
        {tenant});
    REQUIRE(r.ok());
    std::map<std::string, std::string> out;  // call -> kind@seconds after kT0
    for (int i = 0; i < r->rows(); ++i) {
      out[std::string(r->Get(i, 0))] =
          absl::StrCat(r->Get(i, 1), "@", r->GetInt(i, 2) - absl::ToUnixSeconds(kT0));
    }
    return out;
  };
  const std::map<std::string, std::string> batched = timers("batched");
  CHECK(Show(batched) == Show(timers("single")));
  // And what that is (ring 1, unconfirmed 2; a missing call has no timer).
  const std::map<std::string, std::string> expected = {
      {"call-0-stored", "1@30"}, {"call-1-stored", "2@120"}, {"call-3-stored", "1@30"},
      {"call-4-stored", "1@60"}, {"call-5-stored", "1@60"},  {"call-7-stored", "2@120"},
      {"call-0-none", "1@60"},   {"call-1-none", "2@120"},   {"call-3-none", "1@60"},
      {"call-4-none", "1@60"},   {"call-5-none", "1@60"},    {"call-7-none", "2@120"}};
  CHECK(Show(batched) == Show(expected));
}

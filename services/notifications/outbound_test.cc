// The outbound message queue end to end: requests published on whatsapp.outbound.v1 as routing
// publishes them, the contacts' service windows kept from the webhooks the simulator signs, and
// what reaches Meta (the simulator, which refuses free text outside the window as Meta does).
#include <catch2/catch.hpp>

#include "libs/core/id.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "services/notifications/module.h"
#include "services/webhooks/module.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"

namespace sb = switchboard;
namespace v1 = switchboard::notifications::v1;
namespace testing = switchboard::testing;

namespace {

constexpr char kNumber[] = "106540352242922";

struct Fixture {
  Fixture()
      : suite(
            {.services = {sb::webhooks::Register, sb::notifications::Register}, .meta_sim = true}),
        db({.url = suite.postgres_url(), .schema = "notifications", .pool_size = 1}) {
    producer = std::move(sb::kafka::Producer::Create({.brokers = suite.kafka_bootstrap()}).value());
  }

  // A request as routing writes it, published with `id` (the ce_id the sender keys on).
  void Request(const std::string& id, const std::string& wa_id, const std::string& text,
               const std::string& template_name = "") {
    v1::OutboundMessageRequested m;
    m.mutable_header()->set_tenant_id("acme");
    m.mutable_header()->set_entity_id(wa_id);
    m.set_business_phone_number_id(kNumber);
    m.mutable_contact()->set_wa_id(wa_id);
    m.set_text(text);
    if (!template_name.empty()) {
      m.mutable_fallback_template()->set_name(template_name);
      m.mutable_fallback_template()->set_language_code("en_US");
    }
    m.set_reason(v1::OUTBOUND_REASON_MISSED_CALL_AUTO_REPLY);
    m.set_call_id("call-" + id);
    sb::kafka::Event e = sb::kafka::MakeEvent(m, wa_id, "routing");
    e.id = id;
    REQUIRE(producer->PublishAndWait(sb::kafka::kWhatsAppOutbound, e, absl::Seconds(10)).ok());
  }

  // The contact writes to the business, which opens their service window; returns once the
  // sender knows.
  void Writes(const std::string& wa_id) {
    REQUIRE(suite.sim()->SendUserMessage(kNumber, wa_id, "Hello?").ok());
    REQUIRE(testing::Eventually([&] {
      auto r = db.Exec("SELECT 1 FROM service_windows WHERE contact_key = $1", {wa_id});
      return r.ok() && r->rows() == 1;
    }));
  }

  // The request's row once settled: state, channel, reason.
  std::tuple<int, std::string, std::string> Settled(const std::string& id) {
    std::tuple<int, std::string, std::string> out;
    bool settled = testing::Eventually(
        [&] {
          auto r = db.Exec(
              "SELECT state, channel, reason FROM outbound_messages WHERE event_id = $1 "
              "AND state <> 1",
              {id});
          if (!r.ok() || r->rows() == 0) return false;
          out = {static_cast<int>(r->GetInt(0, 0)), std::string(r->Get(0, 1)),
                 std::string(r->Get(0, 2))};
          return true;
        },
        absl::Seconds(20));
    INFO(id);
    REQUIRE(settled);
    return out;
  }

  int64_t MessagesAtMeta() { return suite.sim()->Stats().graph_requests["messages"]; }

  testing::Suite suite;
  sb::pg::Pool db;
  std::unique_ptr<sb::kafka::Producer> producer;
};

}  // namespace

TEST_CASE("free text inside the service window, the template outside it, nothing without one") {
  Fixture f;
  // Ana wrote a moment ago: her window is open.
  f.Writes("5511900000001");
  f.Request("reply-ana", "5511900000001", "Sorry we missed your call.", "missed_call");
  CHECK(f.Settled("reply-ana") == std::tuple<int, std::string, std::string>{2, "text", ""});

  // Bruno never wrote: his reply goes as the template.
  f.Request("reply-bruno", "5511900000002", "Sorry we missed your call.", "missed_call");
  CHECK(f.Settled("reply-bruno") == std::tuple<int, std::string, std::string>{2, "template", ""});

  // Carla never wrote and there is no template: nothing is sent, and it says why.
  const int64_t before = f.MessagesAtMeta();
  f.Request("reply-carla", "5511900000003", "Sorry we missed your call.");
  CHECK(f.Settled("reply-carla") ==
        std::tuple<int, std::string, std::string>{3, "", "OUTSIDE_SERVICE_WINDOW"});
  CHECK(f.MessagesAtMeta() == before);
  CHECK(f.suite.sim()->Stats().graph_errors[131047] == 0);
}

TEST_CASE("a request delivered again is not sent again") {
  Fixture f;
  f.Writes("5511900000001");
  f.Request("reply-1", "5511900000001", "Sorry we missed your call.");
  f.Settled("reply-1");
  const int64_t sent = f.MessagesAtMeta();
  // The same event again (a redelivery, a replayed outbox), then another one on the same key:
  // once the second is settled the first was consumed before it.
  f.Request("reply-1", "5511900000001", "Sorry we missed your call.");
  f.Request("reply-2", "5511900000001", "We will call you back shortly.");
  f.Settled("reply-2");
  CHECK(f.MessagesAtMeta() == sent + 1);
  f.suite.Restart();  // a restarted process does not send it either
  f.Request("reply-1", "5511900000001", "Sorry we missed your call.");
  f.Request("reply-3", "5511900000001", "Still there?");
  f.Settled("reply-3");
  CHECK(f.MessagesAtMeta() == sent + 2);
}

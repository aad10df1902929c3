// The outbound message queue end to end: requests published on whatsapp.outbound.v1 as routing
// publishes them, the contacts' service windows kept from the webhooks the simulator signs, and
// what reaches Meta (the simulator, which refuses free text outside the window as Meta does).
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "services/notifications/module.h"
#include "services/webhooks/module.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"
#include "switchboard/notifications/v1/notifications_service.grpc.pb.h"
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

// ---- the admins' notices --------------------------------------------------------------------

namespace {

const testing::Who kAdmin{.subject = "admin-1", .roles = {"admin"}};
constexpr char kAna[] = "5511900000011";    // an admin who wrote to the business today
constexpr char kBruno[] = "5511900000012";  // one who never did

struct Notices : Fixture {
  Notices() : stub(suite.Stub<v1::NotificationsService>()) {}

  absl::StatusOr<v1::NoticeSettings> Update(const v1::NoticeSettings& settings,
                                            const testing::Who& who = kAdmin) {
    v1::UpdateNoticeSettingsRequest req;
    *req.mutable_settings() = settings;
    v1::UpdateNoticeSettingsResponse resp;
    absl::Status s = testing::Suite::Call(
        stub.get(), &v1::NotificationsService::Stub::UpdateNoticeSettings, req, &resp, who);
    if (!s.ok()) return s;
    return resp.settings();
  }
  absl::StatusOr<v1::NoticeSettings> Get(const testing::Who& who = kAdmin) {
    v1::GetNoticeSettingsResponse resp;
    absl::Status s =
        testing::Suite::Call(stub.get(), &v1::NotificationsService::Stub::GetNoticeSettings,
                             v1::GetNoticeSettingsRequest(), &resp, who);
    if (!s.ok()) return s;
    return resp.settings();
  }

  void Publish(const char* topic, const google::protobuf::Message& m, const std::string& id,
               const char* service) {
    sb::kafka::Event e = sb::kafka::MakeEvent(m, "acme", service);
    e.id = id;
    REQUIRE(producer->PublishAndWait(topic, e, absl::Seconds(10)).ok());
  }
  // A usage alert for the month `month_end` ends (this month by default).
  void Usage(const std::string& id, sb::billing::v1::UsageLevel alert,
             absl::Time month_end = MonthEnd(absl::Now())) {
    sb::billing::v1::UsageUpdated u;
    u.mutable_header()->set_tenant_id("acme");
    u.set_month(Month(month_end - absl::Seconds(1)));
    u.set_minutes_used(800);
    u.set_minutes_limit(1000);
    u.set_percent_used(80);
    u.set_alert(alert);
    *u.mutable_end_time() = sb::core::ToProto(month_end);
    Publish(sb::kafka::kBillingUsage, u, id, "billing");
  }
  void Suspended(const std::string& id, absl::Time until) {
    sb::eligibility::v1::CallingSuspensionChanged e;
    e.mutable_header()->set_tenant_id("acme");
    e.set_business_phone_number_id(kNumber);
    e.set_suspended(true);
    e.set_reason_code("SUSPENDED_MISSED_CALLS");
    *e.mutable_suspended_until_time() = sb::core::ToProto(until);
    e.set_missed_call_count(5);
    Publish(sb::kafka::kEligibilityState, e, id, "eligibility");
  }
  static std::string Month(absl::Time t) {
    return absl::FormatTime("%Y-%m", t, absl::UTCTimeZone());
  }
  static absl::Time MonthEnd(absl::Time t) {
    return absl::FromCivil(absl::ToCivilMonth(t, absl::UTCTimeZone()) + 1, absl::UTCTimeZone());
  }

  // The messages Meta accepted for `wa_id`, once there are `count` of them.
  std::vector<sb::metasim::SentMessage> MessagesTo(const std::string& wa_id, size_t count) {
    std::vector<sb::metasim::SentMessage> out;
    bool reached = testing::Eventually(
        [&] {
          out.clear();
          for (auto& m : suite.sim()->Messages()) {
            if (m.to == wa_id) out.push_back(std::move(m));
          }
          return out.size() >= count;
        },
        absl::Seconds(20));
    INFO(wa_id);
    REQUIRE(reached);
    return out;
  }

  std::unique_ptr<v1::NotificationsService::Stub> stub;
};

v1::NoticeSettings AdminSettings() {
  v1::NoticeSettings s;
  s.set_business_phone_number_id(kNumber);
  s.add_recipient_wa_ids(kAna);
  s.add_recipient_wa_ids(kBruno);
  s.set_usage_alerts(true);
  s.set_suspension_alerts(true);
  s.mutable_fallback_template()->set_name("admin_notice");
  s.mutable_fallback_template()->set_language_code("en_US");
  return s;
}

}  // namespace

TEST_CASE("notice settings: admins only, the tenant's own number, bad input changes nothing") {
  Notices f;
  // Never set: the defaults, no notices.
  absl::StatusOr<v1::NoticeSettings> none = f.Get();
  INFO(none.status().ToString());
  REQUIRE(none.ok());
  CHECK(none->business_phone_number_id().empty());
  CHECK_FALSE(none->has_update_time());

  absl::StatusOr<v1::NoticeSettings> saved = f.Update(AdminSettings());
  REQUIRE(saved.ok());
  CHECK(saved->recipient_wa_ids_size() == 2);
  CHECK(saved->updated_by() == "admin-1");
  CHECK(saved->has_update_time());
  absl::StatusOr<v1::NoticeSettings> read = f.Get();
  REQUIRE(read.ok());
  CHECK(read->SerializeAsString() == saved->SerializeAsString());

  // Another tenant's admin naming acme's number: as if it did not exist.
  const testing::Who globex{.subject = "admin-9", .roles = {"admin"}, .tenant = "globex"};
  absl::StatusOr<v1::NoticeSettings> stolen = f.Update(AdminSettings(), globex);
  CHECK(stolen.status().code() == absl::StatusCode::kNotFound);
  CHECK(sb::core::ReasonOf(stolen.status()) == "PHONE_NUMBER_NOT_FOUND");
  absl::StatusOr<v1::NoticeSettings> theirs = f.Get(globex);
  REQUIRE(theirs.ok());
  CHECK(theirs->business_phone_number_id().empty());

  // A supervisor may neither read nor change them.
  const testing::Who supervisor{.subject = "sup-1", .roles = {"supervisor"}};
  CHECK(sb::core::ReasonOf(f.Get(supervisor).status()) == "ADMIN_ROLE_REQUIRED");
  CHECK(sb::core::ReasonOf(f.Update(AdminSettings(), supervisor).status()) ==
        "ADMIN_ROLE_REQUIRED");

  // Refused settings leave the stored ones as they were.
  v1::NoticeSettings bad = AdminSettings();
  bad.add_recipient_wa_ids("+55 11 9000");
  absl::StatusOr<v1::NoticeSettings> refused = f.Update(bad);
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(sb::core::ReasonOf(refused.status()) == "INVALID_PHONE_NUMBER");
  CHECK(f.Update(v1::NoticeSettings()).ok() == true);  // off again
  CHECK(f.Get()->recipient_wa_ids_size() == 0);
}

TEST_CASE("usage alerts and suspensions reach the admins over WhatsApp, each once") {
  Notices f;
  REQUIRE(f.Update(AdminSettings()).ok());
  f.Writes(kAna);

  // An update without an alert (every rated call) tells nobody; the 80 % warning tells both:
  // Ana in her open window as text, Bruno through the template carrying the same text.
  f.Usage("usage-1", sb::billing::v1::USAGE_LEVEL_UNSPECIFIED);
  f.Usage("usage-2", sb::billing::v1::USAGE_LEVEL_WARNING);
  std::vector<sb::metasim::SentMessage> ana = f.MessagesTo(kAna, 1);
  std::vector<sb::metasim::SentMessage> bruno = f.MessagesTo(kBruno, 1);
  CHECK(ana[0].type == "text");
  CHECK(ana[0].phone_number_id == kNumber);
  const std::string month = Notices::Month(absl::Now());
  CHECK(absl::StrContains(ana[0].body,
                          absl::StrCat(month, " are at 80% of the monthly limit (800 / 1000")));
  CHECK(bruno[0].type == "template");
  CHECK(bruno[0].body == "admin_notice");
  CHECK(bruno[0].template_parameters == std::vector<std::string>{ana[0].body});

  // The same alert delivered again, then the 100 % one: the tenant's usage updates share a
  // partition and each recipient's requests another, so once Ana has the second notice the
  // replay was handled before it, and was not sent.
  f.Usage("usage-2", sb::billing::v1::USAGE_LEVEL_WARNING);
  f.Usage("usage-3", sb::billing::v1::USAGE_LEVEL_EXHAUSTED);
  ana = f.MessagesTo(kAna, 2);
  CHECK(absl::StrContains(ana[1].body,
                          absl::StrCat("monthly calling limit for ", month, " is reached")));
  const absl::Time until = absl::Now() + absl::Hours(2);
  f.Suspended("suspension-1", until);
  ana = f.MessagesTo(kAna, 3);
  CHECK(ana[2].body ==
        absl::StrCat("Switchboard, number 106540352242922: Calling from this number is suspended "
                     "until ",
                     absl::FormatTime("%H:%M", until, absl::UTCTimeZone()),
                     " UTC after 5 missed calls."));
  bruno = f.MessagesTo(kBruno, 3);
  CHECK(ana.size() == 3);
  CHECK(bruno.size() == 3);

  // Events that are no longer news, as a replay after a crash brings them (and an admin added
  // since would get them first): a suspension already over, an alert of a month that ended. Each
  // topic is followed by a current one, which proves the stale one was handled before it.
  const absl::Time this_month_began =
      absl::FromCivil(absl::ToCivilMonth(absl::Now(), absl::UTCTimeZone()), absl::UTCTimeZone());
  f.Suspended("suspension-old", absl::Now() - absl::Hours(2));
  f.Usage("usage-old", sb::billing::v1::USAGE_LEVEL_WARNING, this_month_began);
  f.Suspended("suspension-2", until + absl::Hours(1));
  f.Usage("usage-4", sb::billing::v1::USAGE_LEVEL_WARNING);
  std::vector<sb::metasim::SentMessage> later;
  REQUIRE(testing::Eventually([&] {
    later = f.MessagesTo(kAna, 3);
    later.erase(later.begin(), later.begin() + 3);
    int current = 0;
    for (const auto& m : later) {
      current += absl::StrContains(m.body, absl::FormatTime("%H:%M UTC", until + absl::Hours(1),
                                                            absl::UTCTimeZone())) ||
                 absl::StrContains(m.body, absl::StrCat(month, " are at 80%"));
    }
    return current == 2;
  }));
  CHECK(later.size() == 2);
  CHECK(f.suite.sim()->Stats().graph_errors.empty());
}

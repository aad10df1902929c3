// Billing end to end on the real parts: the billing target in one runtime, real PostgreSQL,
// the embedded Kafka cluster. Ended calls are published on calls.state.v1 as calls publishes
// them (replayed, redelivered, corrected); what billing decides is read back from
// billing.usage.v1 and its API.
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "services/billing/module.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"

namespace sb = switchboard;
namespace v1 = switchboard::billing::v1;
namespace calls = switchboard::calls::v1;
namespace testing = switchboard::testing;
using sb::core::ReasonOf;
using testing::Who;

namespace {

const Who kAdmin{.subject = "admin-1", .roles = {"admin"}};
const Who kAgent{.subject = "agent-1", .roles = {"agent"}};
const Who kGlobexAdmin{.subject = "admin-9", .roles = {"admin"}, .tenant = "globex"};

// Everything billing publishes, as it arrives.
class Topic {
 public:
  explicit Topic(const std::string& brokers) {
    consumer_ = std::move(
        sb::kafka::Consumer::Create({.brokers = brokers,
                                     .group_id = absl::StrCat("test.", sb::core::NewId()),
                                     .topics = {sb::kafka::kBillingUsage}},
                                    [this](const sb::kafka::Message& m) { return Take(m); })
            .value());
    consumer_->Start();
  }
  // CallRated events by event id (a redelivery lands on the same id).
  std::map<std::string, v1::CallRated> Rated() {
    absl::MutexLock lock(&mu_);
    return rated_;
  }
  std::vector<v1::UsageUpdated> Updates() {
    absl::MutexLock lock(&mu_);
    std::vector<v1::UsageUpdated> out;
    for (const auto& [id, u] : updates_) out.push_back(u);
    return out;
  }
  std::vector<v1::UsageLevel> Alerts(const std::string& tenant) {
    std::vector<v1::UsageLevel> out;
    for (const v1::UsageUpdated& u : Updates()) {
      if (u.header().tenant_id() == tenant && u.alert() != v1::USAGE_LEVEL_UNSPECIFIED) {
        out.push_back(u.alert());
      }
    }
    return out;
  }

 private:
  absl::Status Take(const sb::kafka::Message& m) {
    absl::MutexLock lock(&mu_);
    if (m.event.type == "switchboard.billing.v1.CallRated") {
      v1::CallRated r;
      if (!r.ParseFromString(m.event.payload)) return absl::InvalidArgumentError("rated");
      rated_[m.event.id] = r;
    } else {
      v1::UsageUpdated u;
      if (!u.ParseFromString(m.event.payload)) return absl::InvalidArgumentError("usage");
      updates_[{u.header().tenant_id(), u.header().sequence()}] = u;
    }
    return absl::OkStatus();
  }

  absl::Mutex mu_;
  std::map<std::string, v1::CallRated> rated_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, int64_t>, v1::UsageUpdated> updates_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<sb::kafka::Consumer> consumer_;
};

struct Fixture {
  Fixture()
      : suite({.services = {sb::billing::Register}, .numbers = {}}),
        topic(suite.kafka_bootstrap()) {
    producer = std::move(sb::kafka::Producer::Create({.brokers = suite.kafka_bootstrap()}).value());
  }

  template <typename Req, typename Resp>
  absl::Status Call(grpc::Status (v1::BillingService::Stub::*method)(grpc::ClientContext*,
                                                                     const Req&, Resp*),
                    const Req& req, Resp* resp, const Who& who = kAdmin) {
    auto stub = suite.Stub<v1::BillingService>();
    return testing::Suite::Call(stub.get(), method, req, resp, who);
  }

  // An outbound call that ended at `ended` after `talk`, as calls publishes it.
  static calls::Call Ended(const std::string& id, absl::Duration talk,
                           absl::Time ended = absl::Now(), const std::string& tenant = "acme") {
    calls::Call c;
    c.set_call_id(id);
    c.set_tenant_id(tenant);
    c.set_direction(calls::CALL_DIRECTION_OUTBOUND);
    c.set_state(calls::CALL_STATE_ENDED);
    c.set_sequence(5);
    c.set_business_phone_number_id("106540352242922");
    c.mutable_contact()->set_wa_id("5511966860300");
    c.set_contact_region_code("BR");
    *c.mutable_answered_time() = sb::core::ToProto(ended - talk);
    *c.mutable_ended_time() = sb::core::ToProto(ended);
    *c.mutable_duration() = sb::core::ToProto(talk);
    return c;
  }
  // Publishes `call`'s transition with event id `event_id` (a fresh one when empty).
  void Publish(const calls::Call& call, std::string event_id = "") {
    calls::CallStateChanged changed;
    changed.mutable_header()->set_tenant_id(call.tenant_id());
    changed.mutable_header()->set_entity_id(call.call_id());
    changed.mutable_header()->set_sequence(call.sequence());
    *changed.mutable_call() = call;
    changed.set_state(call.state());
    sb::kafka::Event e = sb::kafka::MakeEvent(changed, call.call_id(), "calls");
    if (!event_id.empty()) e.id = event_id;
    REQUIRE(producer->PublishAndWait(sb::kafka::kCallsState, e, absl::Seconds(10)).ok());
  }

  std::vector<v1::UsageEntry> Entries(const std::string& filter = "", const Who& who = kAdmin) {
    v1::ListUsageEntriesRequest req;
    req.set_filter(filter);
    v1::ListUsageEntriesResponse resp;
    absl::Status s = Call(&v1::BillingService::Stub::ListUsageEntries, req, &resp, who);
    INFO(s.ToString());
    REQUIRE(s.ok());
    return {resp.entries().begin(), resp.entries().end()};
  }
  // Waits until `filter` lists `n` entries.
  std::vector<v1::UsageEntry> WaitEntries(const std::string& filter, size_t n) {
    std::vector<v1::UsageEntry> got;
    bool ok = testing::Eventually([&] {
      got = Entries(filter);
      return got.size() >= n;
    });
    INFO(filter);
    REQUIRE(ok);
    return got;
  }
  v1::Usage Usage(const std::string& month = "", const Who& who = kAdmin) {
    v1::GetUsageRequest req;
    req.set_month(month);
    v1::GetUsageResponse resp;
    absl::Status s = Call(&v1::BillingService::Stub::GetUsage, req, &resp, who);
    INFO(s.ToString());
    REQUIRE(s.ok());
    return resp.usage();
  }
  absl::Status Plan(const v1::RatePlan& plan, std::vector<std::string> mask,
                    const Who& who = kAdmin) {
    v1::UpdateRatePlanRequest req;
    *req.mutable_rate_plan() = plan;
    for (const auto& p : mask) req.mutable_update_mask()->add_paths(p);
    v1::UpdateRatePlanResponse resp;
    return Call(&v1::BillingService::Stub::UpdateRatePlan, req, &resp, who);
  }
  // Waits until the consumer has handled every record published so far: a marker call rated.
  void Drain(const std::string& tenant = "acme") {
    const std::string marker = "marker-" + sb::core::NewId();
    Publish(Ended(marker, absl::Seconds(1), absl::Now(), tenant));
    REQUIRE(testing::Eventually(
        [&] { return topic.Rated().count(absl::StrCat("rated.", tenant, ".", marker)) == 1; }));
  }

  testing::Suite suite;
  Topic topic;
  std::unique_ptr<sb::kafka::Producer> producer;
};

void RequireOk(const absl::Status& s) {
  INFO(s.ToString());
  REQUIRE(s.ok());
}

}  // namespace

TEST_CASE("an ended call is rated once: one entry, one CallRated, its minutes in the month") {
  Fixture f;
  const calls::Call call = Fixture::Ended("call-1", absl::Seconds(330));
  f.Publish(call, "evt-1");
  std::vector<v1::UsageEntry> entries = f.WaitEntries(R"(call_id = "call-1")", 1);
  const v1::UsageEntry& e = entries.front();
  CHECK(e.kind() == v1::USAGE_ENTRY_KIND_CALL);
  CHECK(e.minutes() == 6);                      // 5:30 → 6 min
  CHECK(e.amount().amount_micros() == 30'000);  // → $0.03
  CHECK(e.billed_duration().seconds() == 360);
  CHECK(e.region_code() == "BR");

  // The same event redelivered, replayed under another id, and again much later: nothing more.
  f.Publish(call, "evt-1");
  f.Publish(call, "evt-2");
  calls::Call other_state = call;
  other_state.set_sequence(6);
  f.Publish(other_state);
  f.Drain();
  CHECK(f.Entries(R"(call_id = "call-1")").size() == 1);
  const auto rated = f.topic.Rated();
  REQUIRE(rated.count("rated.acme.call-1") == 1);
  CHECK(rated.at("rated.acme.call-1").cost().amount_micros() == 30'000);
  CHECK(rated.at("rated.acme.call-1").usage_minutes() == 6);
  const v1::Usage usage = f.Usage();
  CHECK(usage.minutes_used() == 6 + 1);  // and the marker's minute
  CHECK(usage.rated_calls() == 2);
  CHECK(usage.call_cost().amount_micros() == 35'000);
  CHECK(usage.level() == v1::USAGE_LEVEL_NORMAL);

  {  // calls that are not rated: missed, rejected, answered but still going
    calls::Call missed = Fixture::Ended("call-2", absl::ZeroDuration());
    missed.set_state(calls::CALL_STATE_MISSED);
    missed.clear_answered_time();
    f.Publish(missed);
    calls::Call live = Fixture::Ended("call-3", absl::Seconds(10));
    live.set_state(calls::CALL_STATE_ANSWERED);
    f.Publish(live);
    f.Drain();
    CHECK(f.Entries(R"(call_id = "call-2")").empty());
    CHECK(f.Entries(R"(call_id = "call-3")").empty());
  }
  {  // another tenant sees none of it
    CHECK(f.Usage("", kGlobexAdmin).minutes_used() == 0);
    CHECK(f.Entries("", kGlobexAdmin).empty());
  }
}

TEST_CASE("a call coming again with another duration is kept aside until an admin settles it") {
  Fixture f;
  f.Publish(Fixture::Ended("call-1", absl::Seconds(60)));
  f.WaitEntries(R"(call_id = "call-1")", 1);
  calls::Call longer = Fixture::Ended("call-1", absl::Seconds(65));
  f.Publish(longer);
  f.Publish(longer);
  f.Drain();
  CHECK(f.Entries(R"(call_id = "call-1")").size() == 1);  // never overwritten
  v1::ListQuarantinedCallsResponse kept;
  RequireOk(f.Call(&v1::BillingService::Stub::ListQuarantinedCalls, {}, &kept));
  REQUIRE(kept.calls_size() == 1);
  CHECK(kept.calls(0).call_id() == "call-1");
  CHECK(kept.calls(0).rated_duration().seconds() == 60);
  CHECK(kept.calls(0).received_duration().seconds() == 65);
  CHECK(kept.calls(0).occurrences() == 2);

  // The admin settles it at 65 s: a reversal and a new entry, with the reason and who.
  v1::AdjustUsageRequest adjust;
  adjust.set_call_id("call-1");
  *adjust.mutable_duration() = sb::core::ToProto(absl::Seconds(65));
  adjust.set_reason("Meta's corrected terminate");
  adjust.set_request_id(sb::core::NewId());
  v1::AdjustUsageResponse adjusted;
  RequireOk(f.Call(&v1::BillingService::Stub::AdjustUsage, adjust, &adjusted));
  REQUIRE(adjusted.entries_size() == 2);
  CHECK(adjusted.entries(0).kind() == v1::USAGE_ENTRY_KIND_REVERSAL);
  CHECK(adjusted.entries(0).amount().amount_micros() == -5'000);
  CHECK(adjusted.entries(1).kind() == v1::USAGE_ENTRY_KIND_CALL);
  CHECK(adjusted.entries(1).amount().amount_micros() == 10'000);  // 1:05 → 2 min
  CHECK(adjusted.entries(1).actor() == "admin-1");
  CHECK(adjusted.usage().minutes_used() == 2 + 1);  // and the first marker's minute
  {  // the same request again: the same answer, nothing more written
    v1::AdjustUsageResponse again;
    RequireOk(f.Call(&v1::BillingService::Stub::AdjustUsage, adjust, &again));
    CHECK(again.SerializeAsString() == adjusted.SerializeAsString());
  }
  RequireOk(f.Call(&v1::BillingService::Stub::ListQuarantinedCalls, {}, &kept));
  CHECK(kept.calls_size() == 0);
  // Either duration coming again now changes nothing.
  f.Publish(longer);
  f.Publish(Fixture::Ended("call-1", absl::Seconds(60)));
  f.Drain();
  CHECK(f.Entries(R"(call_id = "call-1")").size() == 3);
  RequireOk(f.Call(&v1::BillingService::Stub::ListQuarantinedCalls, {}, &kept));
  CHECK(kept.calls_size() == 0);

  // A refund reverses the call; a second one is refused.
  v1::RefundCallRequest refund;
  refund.set_call_id("call-1");
  refund.set_reason("the customer could not hear us");
  refund.set_request_id(sb::core::NewId());
  v1::RefundCallResponse refunded;
  RequireOk(f.Call(&v1::BillingService::Stub::RefundCall, refund, &refunded));
  CHECK(refunded.entry().kind() == v1::USAGE_ENTRY_KIND_REVERSAL);
  CHECK(refunded.entry().amount().amount_micros() == -10'000);
  CHECK(refunded.entry().reverses_entry_id() == adjusted.entries(1).entry_id());
  const std::string refund_entry_id = refunded.entry().entry_id();
  refund.set_request_id(sb::core::NewId());
  CHECK(ReasonOf(f.Call(&v1::BillingService::Stub::RefundCall, refund, &refunded)) ==
        "ALREADY_REFUNDED");
  refund.set_call_id("call-404");
  CHECK(ReasonOf(f.Call(&v1::BillingService::Stub::RefundCall, refund, &refunded)) ==
        "CALL_NOT_RATED");
  // Corrections and refunds reach calls as CallRated with the call's cost now.
  const std::string corrected_id =
      absl::StrCat("rated.acme.call-1.", adjusted.entries(1).entry_id());
  const std::string refunded_id = absl::StrCat("rated.acme.call-1.", refund_entry_id);
  REQUIRE(testing::Eventually([&] {
    const auto rated = f.topic.Rated();
    return rated.count(corrected_id) == 1 && rated.count(refunded_id) == 1;
  }));
  const auto rated = f.topic.Rated();
  CHECK(rated.at("rated.acme.call-1").cost().amount_micros() == 5'000);
  CHECK(rated.at(corrected_id).cost().amount_micros() == 10'000);
  CHECK(rated.at(refunded_id).cost().amount_micros() == 0);
  CHECK(f.Usage().call_cost().amount_micros() == 2 * 5'000);  // only the two markers
}

TEST_CASE("limits: the warning and the exhaustion alert once each, a top-up re-arms them") {
  Fixture f;
  v1::RatePlan plan;
  plan.set_monthly_minutes_limit(10);
  RequireOk(f.Plan(plan, {"monthly_minutes_limit"}));
  for (int i = 0; i < 8; ++i) f.Publish(Fixture::Ended(absl::StrCat("w-", i), absl::Seconds(50)));
  f.WaitEntries("kind = CALL", 8);
  REQUIRE(testing::Eventually([&] { return f.topic.Alerts("acme").size() == 1; }));
  CHECK(f.topic.Alerts("acme") == std::vector{v1::USAGE_LEVEL_WARNING});
  v1::Usage u = f.Usage();
  CHECK(u.minutes_used() == 8);
  CHECK(u.percent_used() == 80);
  CHECK(u.level() == v1::USAGE_LEVEL_WARNING);

  // Four calls cross 100 % together: one exhaustion alert.
  std::vector<std::thread> publishers;
  for (int i = 0; i < 4; ++i) {
    publishers.emplace_back(
        [&, i] { f.Publish(Fixture::Ended(absl::StrCat("x-", i), absl::Seconds(30))); });
  }
  for (auto& t : publishers) t.join();
  f.WaitEntries("kind = CALL", 12);
  f.Drain();
  CHECK(f.topic.Alerts("acme") == std::vector{v1::USAGE_LEVEL_WARNING, v1::USAGE_LEVEL_EXHAUSTED});
  CHECK(f.Usage().level() == v1::USAGE_LEVEL_EXHAUSTED);

  // A top-up of 10 minutes: 13 / 20 is below both thresholds again, so both re-arm.
  v1::PurchaseMinutesRequest topup;
  topup.set_minutes(10);
  topup.set_request_id(sb::core::NewId());
  v1::PurchaseMinutesResponse bought;
  RequireOk(f.Call(&v1::BillingService::Stub::PurchaseMinutes, topup, &bought));
  CHECK(bought.entry().kind() == v1::USAGE_ENTRY_KIND_PURCHASE);
  CHECK(bought.entry().amount().amount_micros() == 50'000);  // 10 × $0.005
  CHECK(bought.usage().minutes_limit() == 20);
  CHECK(bought.usage().level() == v1::USAGE_LEVEL_NORMAL);
  for (int i = 0; i < 4; ++i) f.Publish(Fixture::Ended(absl::StrCat("y-", i), absl::Seconds(60)));
  f.WaitEntries("kind = CALL", 17);
  REQUIRE(testing::Eventually([&] { return f.topic.Alerts("acme").size() == 3; }));
  CHECK(f.topic.Alerts("acme").back() == v1::USAGE_LEVEL_WARNING);
  {  // the same purchase again is the first answer; without a request id it is refused
    v1::PurchaseMinutesResponse again;
    RequireOk(f.Call(&v1::BillingService::Stub::PurchaseMinutes, topup, &again));
    CHECK(again.entry().entry_id() == bought.entry().entry_id());
    topup.clear_request_id();
    CHECK(ReasonOf(f.Call(&v1::BillingService::Stub::PurchaseMinutes, topup, &again)) ==
          "MISSING_REQUEST_ID");
    CHECK(f.Usage().purchased_minutes() == 10);
  }
}

TEST_CASE("months are the plan's: a call ending at 18:45Z on Nov 30 is December's in Kolkata") {
  Fixture f;
  v1::RatePlan plan;
  plan.set_time_zone("Asia/Kolkata");
  RequireOk(f.Plan(plan, {"time_zone"}));
  absl::Time ended;
  std::string err;
  REQUIRE(absl::ParseTime(absl::RFC3339_full, "2026-11-30T18:45:00Z", &ended, &err));
  f.Publish(Fixture::Ended("late-nov", absl::Seconds(90), ended));
  const std::vector<v1::UsageEntry> e = f.WaitEntries(R"(call_id = "late-nov")", 1);
  CHECK(e.front().month() == "2026-12");
  const v1::Usage december = f.Usage("2026-12");
  CHECK(december.minutes_used() == 2);
  CHECK(sb::core::FromProto(december.start_time()) == ended - absl::Minutes(15));
  CHECK(f.Usage("2026-11").minutes_used() == 0);
  v1::GetUsageRequest bad;
  bad.set_month("2026-13");
  v1::GetUsageResponse resp;
  CHECK(ReasonOf(f.Call(&v1::BillingService::Stub::GetUsage, bad, &resp)) == "INVALID_MONTH");
}

TEST_CASE("a plan change by a non-admin, or one that breaks the rules, writes nothing") {
  Fixture f;
  v1::RatePlan plan;
  plan.mutable_price_per_minute()->set_amount_micros(7'000);
  plan.mutable_price_per_minute()->set_currency_code("USD");
  CHECK(ReasonOf(f.Plan(plan, {"price_per_minute"}, kAgent)) == "ADMIN_ROLE_REQUIRED");
  plan.mutable_billing_increment()->set_seconds(7200);
  CHECK(ReasonOf(f.Plan(plan, {"price_per_minute", "billing_increment"})) ==
        "INVALID_BILLING_INCREMENT");
  plan.mutable_price_per_minute()->set_currency_code("XXQ");
  CHECK(ReasonOf(f.Plan(plan, {"price_per_minute"})) == "INVALID_CURRENCY");
  v1::GetRatePlanResponse got;
  RequireOk(f.Call(&v1::BillingService::Stub::GetRatePlan, {}, &got, kAgent));
  CHECK(got.rate_plan().price_per_minute().amount_micros() == 5'000);
  CHECK(got.rate_plan().billing_increment().seconds() == 60);

  // A valid change applies to calls rated afterwards.
  plan.mutable_price_per_minute()->set_currency_code("USD");
  plan.mutable_billing_increment()->set_seconds(6);
  RequireOk(f.Plan(plan, {"price_per_minute", "billing_increment"}));
  f.Publish(Fixture::Ended("pulsed", absl::Seconds(56)));
  const std::vector<v1::UsageEntry> e = f.WaitEntries(R"(call_id = "pulsed")", 1);
  CHECK(e.front().billed_duration().seconds() == 60);  // 10 pulses
  CHECK(e.front().amount().amount_micros() == 7'000);  // 60 s at 7 000 µ$/min
  CHECK(e.front().price_per_minute().amount_micros() == 7'000);
}

TEST_CASE("a month's invoice: issued once it ends, never changed; late calls and refunds after") {
  Fixture f;
  absl::Time october;
  std::string err;
  REQUIRE(absl::ParseTime(absl::RFC3339_full, "2026-10-15T12:00:00Z", &october, &err));
  f.Publish(Fixture::Ended("oct-a", absl::Seconds(90), october));
  f.Publish(Fixture::Ended("oct-b", absl::Seconds(30), october + absl::Hours(24)));
  f.Publish(Fixture::Ended("now-c", absl::Seconds(20)));
  f.WaitEntries("kind = CALL", 3);

  // October ended long ago: its invoice is issued by the next sweep.
  v1::Invoice issued;
  REQUIRE(testing::Eventually(
      [&] {
        v1::ListInvoicesResponse list;
        if (!f.Call(&v1::BillingService::Stub::ListInvoices, {}, &list).ok()) return false;
        for (const v1::Invoice& inv : list.invoices()) {
          if (inv.month() == "2026-10" && inv.status() == v1::INVOICE_STATUS_OPEN) issued = inv;
        }
        return !issued.invoice_id().empty();
      },
      absl::Seconds(40)));
  CHECK(issued.number() == "INV-000001");
  CHECK(issued.kind() == v1::INVOICE_KIND_INVOICE);
  REQUIRE(issued.lines_size() == 1);
  CHECK(issued.lines(0).description() == "Calls, outbound, BR at $0.005/min");
  CHECK(issued.lines(0).quantity_minutes() == 3);
  CHECK(issued.lines(0).entries() == 2);
  CHECK(issued.total().amount_micros() == 15'000);
  CHECK(issued.time_zone() == "UTC");

  // A call of October whose end arrives now: the issued invoice stays as it was; the call is
  // a prior-period line of the current month's draft.
  f.Publish(Fixture::Ended("oct-late", absl::Seconds(50), october + absl::Hours(48)));
  f.WaitEntries(R"(call_id = "oct-late")", 1);
  v1::GetInvoiceRequest get;
  get.set_invoice_id(issued.invoice_id());
  v1::GetInvoiceResponse got;
  RequireOk(f.Call(&v1::BillingService::Stub::GetInvoice, get, &got));
  CHECK(got.invoice().SerializeAsString() == issued.SerializeAsString());
  v1::ListInvoicesResponse list;
  RequireOk(f.Call(&v1::BillingService::Stub::ListInvoices, {}, &list));
  REQUIRE(list.invoices_size() >= 2);
  const v1::Invoice& draft = list.invoices(0);
  CHECK(draft.status() == v1::INVOICE_STATUS_DRAFT);
  CHECK(draft.number().empty());
  std::set<std::string> lines;
  for (const auto& l : draft.lines()) lines.insert(l.description());
  CHECK(lines.count("Calls, outbound, BR at $0.005/min") == 1);  // now-c
  CHECK(lines.count("2026-10 (prior period): Calls, outbound, BR at $0.005/min") == 1);

  // A refund of a call October's invoice billed: a credit note against it.
  v1::RefundCallRequest refund;
  refund.set_call_id("oct-a");
  refund.set_reason("no audio");
  refund.set_request_id(sb::core::NewId());
  v1::RefundCallResponse refunded;
  RequireOk(f.Call(&v1::BillingService::Stub::RefundCall, refund, &refunded));
  RequireOk(f.Call(&v1::BillingService::Stub::ListInvoices, {}, &list));
  std::optional<v1::Invoice> note;
  for (const v1::Invoice& inv : list.invoices()) {
    if (inv.kind() == v1::INVOICE_KIND_CREDIT_NOTE) note = inv;
  }
  REQUIRE(note.has_value());
  CHECK(note->number() == "CN-000001");
  CHECK(note->credited_invoice_number() == "INV-000001");
  CHECK(note->total().amount_micros() == -10'000);
  RequireOk(f.Call(&v1::BillingService::Stub::GetInvoice, get, &got));
  CHECK(got.invoice().SerializeAsString() == issued.SerializeAsString());  // still as issued

  // Downloads: one snapshot, three formats; the PDF reads back as text.
  auto download = [&](v1::InvoiceFormat format, std::string* type) {
    auto stub = f.suite.Stub<v1::BillingService>();
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + testing::Suite::Token(kAdmin));
    v1::DownloadInvoiceRequest req;
    req.set_invoice_id(issued.invoice_id());
    req.set_format(format);
    auto reader = stub->DownloadInvoice(&ctx, req);
    v1::DownloadInvoiceResponse piece;
    std::string bytes;
    while (reader->Read(&piece)) {
      if (!piece.content_type().empty()) *type = piece.content_type();
      bytes += piece.chunk();
    }
    REQUIRE(reader->Finish().ok());
    return bytes;
  };
  std::string type;
  const std::string pdf = download(v1::INVOICE_FORMAT_PDF, &type);
  CHECK(type == "application/pdf");
  CHECK(pdf.rfind("%PDF", 0) == 0);
  const std::string dir = testing::TempDir("invoice");
  { std::ofstream(dir + "/inv.pdf", std::ios::binary) << pdf; }
  std::string text;
  REQUIRE(testing::Run("pdftotext -layout " + dir + "/inv.pdf -", &text) == 0);
  CHECK(text.find("Invoice INV-000001") != std::string::npos);
  CHECK(text.find("Calls, outbound, BR at $0.005/min") != std::string::npos);
  CHECK(text.find("$0.015") != std::string::npos);
  const std::string csv = download(v1::INVOICE_FORMAT_CSV, &type);
  CHECK(type == "text/csv");
  CHECK(csv.find("INV-000001,INVOICE,2026-10,1,\"Calls, outbound, BR at $0.005/min\",3,"
                 "0.015000,USD,") != std::string::npos);
  const std::string json = download(v1::INVOICE_FORMAT_JSON, &type);
  CHECK(json.find("\"number\": \"INV-000001\"") != std::string::npos);

  // Another tenant does not see it.
  CHECK(ReasonOf(f.Call(&v1::BillingService::Stub::GetInvoice, get, &got, kGlobexAdmin)) ==
        "INVOICE_NOT_FOUND");
}

TEST_CASE("cost analytics: per day in the plan's zone, per direction and country, as the ledger") {
  Fixture f;
  v1::RatePlan plan;
  plan.set_time_zone("America/Sao_Paulo");
  v1::CountryRate* us = plan.add_country_rates();
  us->set_prefix("1");
  us->mutable_price_per_minute()->set_amount_micros(4'000);
  us->mutable_price_per_minute()->set_currency_code("USD");
  RequireOk(f.Plan(plan, {"time_zone", "country_rates"}));
  const absl::Time now = absl::Now();
  f.Publish(Fixture::Ended("br-out", absl::Seconds(90), now));  // 2 min, $0.01
  calls::Call us_out = Fixture::Ended("us-out", absl::Seconds(30), now);
  us_out.mutable_contact()->set_wa_id("13175551399");
  us_out.set_contact_region_code("US");
  f.Publish(us_out);  // 1 min at $0.004
  calls::Call br_in = Fixture::Ended("br-in", absl::Seconds(61), now - absl::Hours(48));
  br_in.set_direction(calls::CALL_DIRECTION_INBOUND);
  f.Publish(br_in);  // 2 min, $0.01, two days ago
  f.Publish(Fixture::Ended("old", absl::Seconds(60), now - absl::Hours(24 * 40)));  // outside
  f.WaitEntries("kind = CALL", 4);
  v1::RefundCallRequest refund;
  refund.set_call_id("br-in");
  refund.set_reason("wrong number");
  refund.set_request_id(sb::core::NewId());
  v1::RefundCallResponse refunded;
  RequireOk(f.Call(&v1::BillingService::Stub::RefundCall, refund, &refunded));

  v1::GetCostAnalyticsRequest req;
  req.set_days(7);
  v1::GetCostAnalyticsResponse costs;
  RequireOk(f.Call(&v1::BillingService::Stub::GetCostAnalytics, req, &costs));
  CHECK(costs.time_zone() == "America/Sao_Paulo");
  REQUIRE(costs.days_size() == 7);  // every day, zeros included
  absl::TimeZone sp;
  REQUIRE(absl::LoadTimeZone("America/Sao_Paulo", &sp));
  CHECK(costs.days(6).date() == absl::FormatTime("%Y-%m-%d", now, sp));
  CHECK(costs.days(6).cost().amount_micros() == 14'000);
  CHECK(costs.days(6).calls() == 2);
  CHECK(costs.total().cost().amount_micros() == 14'000);  // br-in refunded, "old" outside
  CHECK(costs.total().calls() == 2);
  CHECK(costs.total().minutes() == 3);

  // To the micro-unit what the ledger holds for calls that ended in the window.
  int64_t ledger = 0;
  for (const v1::UsageEntry& e : f.Entries()) {
    if ((e.kind() == v1::USAGE_ENTRY_KIND_CALL || e.kind() == v1::USAGE_ENTRY_KIND_REVERSAL) &&
        sb::core::FromProto(e.ended_time()) >= sb::core::FromProto(costs.start_time())) {
      ledger += e.amount().amount_micros();
    }
  }
  CHECK(ledger == costs.total().cost().amount_micros());

  REQUIRE(costs.directions_size() == 2);
  for (const v1::CostBucket& b : costs.directions()) {
    if (b.direction() == calls::CALL_DIRECTION_INBOUND) {
      CHECK(b.cost().amount_micros() == 0);  // rated, then refunded
      CHECK(b.calls() == 0);
    } else {
      CHECK(b.cost().amount_micros() == 14'000);
    }
  }
  REQUIRE(costs.countries_size() == 2);
  CHECK(costs.countries(0).region_code() == "BR");  // costliest first
  CHECK(costs.countries(0).cost().amount_micros() == 10'000);
  CHECK(costs.countries(1).region_code() == "US");
  CHECK(costs.countries(1).cost().amount_micros() == 4'000);

  req.set_days(93);
  CHECK(ReasonOf(f.Call(&v1::BillingService::Stub::GetCostAnalytics, req, &costs)) ==
        "INVALID_DAYS");
}

TEST_CASE(
    "a backlog is rated in batches: one entry per call, the same sums, replays and "
    "corrections as one at a time") {
  Fixture f;
  // Rated one at a time before the backlog: "old-1" at 60 s, "old-2" at 90 s.
  f.Publish(Fixture::Ended("old-1", absl::Seconds(60)));
  f.Publish(Fixture::Ended("old-2", absl::Seconds(90)));
  f.WaitEntries(R"(call_id = "old-2")", 1);

  // The target stops; a backlog piles up: 300 calls over three tenants (61 s each: 2 minutes),
  // every tenth published twice in a row, "old-1" again as it was (a replay) and "old-2" with
  // another talk time (kept aside), and calls that are not rated.
  f.suite.Stop();
  const std::vector<std::string> tenants = {"acme", "globex", "initech"};
  std::map<std::string, int64_t> calls_of;
  for (int i = 0; i < 300; ++i) {
    const std::string tenant = tenants[i % 3];
    const calls::Call c =
        Fixture::Ended(absl::StrCat("backlog-", i), absl::Seconds(61), absl::Now(), tenant);
    f.Publish(c);
    if (i % 10 == 0) f.Publish(c);
    ++calls_of[tenant];
  }
  f.Publish(Fixture::Ended("old-1", absl::Seconds(60)));
  f.Publish(Fixture::Ended("old-2", absl::Seconds(95)));
  calls::Call missed = Fixture::Ended("backlog-missed", absl::ZeroDuration());
  missed.set_state(calls::CALL_STATE_MISSED);
  f.Publish(missed);

  // Another process takes the backlog (what a restart finds).
  std::unique_ptr<sb::runtime::App> replica = f.suite.StartReplica();
  sb::pg::Pool db({.url = f.suite.postgres_url(), .schema = "billing", .pool_size = 1});
  auto scalar = [&](const std::string& sql) {
    auto r = db.Exec(sql);
    INFO(sql << ": " << r.status().ToString());
    REQUIRE(r.ok());
    return r->GetInt(0, 0);
  };
  REQUIRE(testing::Eventually(
      [&] {
        auto r = db.Exec("SELECT count(*) FROM entries WHERE call_id LIKE 'backlog-%'");
        return r.ok() && r->GetInt(0, 0) >= 300;
      },
      absl::Seconds(60)));
  REQUIRE(testing::Eventually(
      [&] {
        auto r = db.Exec("SELECT count(*) FROM quarantine WHERE call_id = 'old-2'");
        return r.ok() && r->GetInt(0, 0) == 1;
      },
      absl::Seconds(30)));

  // Batches were taken: entries written by one transaction share its time.
  CHECK(scalar("SELECT count(DISTINCT create_time) FROM entries WHERE call_id LIKE "
               "'backlog-%'") < 300);
  // Exactly once: one entry and one key per call, whatever came twice.
  CHECK(scalar("SELECT count(*) FROM entries WHERE call_id LIKE 'backlog-%'") == 300);
  CHECK(scalar("SELECT count(DISTINCT (tenant_id, call_id)) FROM entries WHERE call_id LIKE "
               "'backlog-%'") == 300);
  CHECK(scalar("SELECT count(*) FROM rated_calls WHERE call_id LIKE 'backlog-%'") == 300);
  CHECK(scalar("SELECT count(*) FROM entries WHERE call_id IN ('old-1', 'old-2', "
               "'backlog-missed')") == 2);
  // Each tenant's month holds its calls' sums, as the ledger does.
  for (const std::string& tenant : tenants) {
    INFO(tenant);
    const int64_t expected_minutes = 2 * calls_of[tenant] + (tenant == "acme" ? 1 + 2 : 0);
    CHECK(scalar(absl::StrCat("SELECT sum(minutes_used) FROM months WHERE tenant_id = '", tenant,
                              "'")) == expected_minutes);
    CHECK(scalar(absl::StrCat("SELECT sum(minutes) FROM entries WHERE tenant_id = '", tenant,
                              "'")) == expected_minutes);
    CHECK(scalar(absl::StrCat("SELECT sum(rated_calls) FROM months WHERE tenant_id = '", tenant,
                              "'")) == calls_of[tenant] + (tenant == "acme" ? 2 : 0));
    // One CallRated per call, and the tenant's event sequences gap-free and unique.
    CHECK(scalar(absl::StrCat("SELECT count(*) FROM outbox WHERE ce_id LIKE 'rated.", tenant,
                              ".backlog-%'")) == calls_of[tenant]);
    const int64_t events =
        scalar(absl::StrCat("SELECT count(*) FROM outbox WHERE event_key = '", tenant, "'"));
    CHECK(scalar(absl::StrCat("SELECT sequence FROM tenants WHERE tenant_id = '", tenant, "'")) ==
          events);
  }
}

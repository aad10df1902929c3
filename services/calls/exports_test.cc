// Exports whose clients stop reading starve nobody: the Calls page, Meta's webhooks and the ring
// timers keep their own connections; a tenant runs at most two exports at once; a stalled
// export is cut after --export-idle-timeout and its connection goes back.
#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/pg/pg.h"
#include "services/calls/journal.h"
#include "services/calls/module.h"
#include "services/calls/store/store.h"
#include "services/eligibility/module.h"
#include "services/webhooks/module.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"

namespace sb = switchboard;
namespace v1 = switchboard::calls::v1;
namespace testing = switchboard::testing;

namespace {

const std::string kNumber = "106540352242922";
constexpr int kRowsPerTenant = 30000;  // ~4 MB of CSV: far more than flow control lets through

// One call for `tenant` through the store, then copies of it: enough rows for a long export.
void SeedMany(const std::string& postgres_url, const std::string& tenant) {
  sb::pg::Pool pool({.url = postgres_url, .schema = "calls", .pool_size = 1});
  sb::calls::Store store(pool, pool, pool, sb::core::Clock::Real());
  sb::calls::Journal journal(store, sb::core::Clock::Real(), sb::calls::Timing());
  v1::Call c;
  c.set_call_id(sb::core::NewId());
  c.set_tenant_id(tenant);
  c.set_direction(v1::CALL_DIRECTION_INBOUND);
  c.set_state(v1::CALL_STATE_MISSED);
  c.set_business_phone_number_id(kNumber);
  c.mutable_contact()->set_wa_id("5511966880100");
  c.mutable_contact()->set_display_name("Ana Souza, who calls a lot");
  *c.mutable_offered_time() = sb::core::ToProto(absl::Now() - absl::Hours(1));
  c.set_end_reason("RING_TIMEOUT");
  REQUIRE(pool.InTransaction([&](sb::pg::Conn& tx) {
                return journal.Save(tx, c, {.to = c.state(), .changed = true}, {.at = absl::Now()});
              })
              .ok());
  REQUIRE(pool.Exec("INSERT INTO calls (tenant_id, call_id, direction, state, "
                    "business_phone_number_id, contact_key, contact_name, offered_time, record, "
                    "create_time, update_time) "
                    "SELECT tenant_id, call_id || '-' || g, direction, state, "
                    "business_phone_number_id, contact_key, contact_name, "
                    "offered_time - g * interval '1 second', record, create_time, update_time "
                    "FROM calls, generate_series(1, $2::int) g WHERE tenant_id = $1",
                    {tenant, kRowsPerTenant})
              .ok());
}

// A client that starts an export and reads nothing: its own channel, with a fixed, small
// flow-control window, so the server's writes block as a real stalled client's would.
struct StalledExport {
  StalledExport(const std::string& target, const std::string& tenant) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
    args.SetInt("grpc.use_local_subchannel_pool", 1);  // a connection of its own
    channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    stub = v1::CallsService::NewStub(channel);
    ctx.AddMetadata("authorization",
                    "Bearer " + testing::Suite::Token({.subject = "agent-1", .tenant = tenant}));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(5));
    reader = stub->ExportCalls(&ctx, v1::ExportCallsRequest());
  }
  // Reads what is left and the status: how the export ended.
  absl::Status Drain() {
    v1::ExportCallsResponse chunk;
    while (reader->Read(&chunk)) {
    }
    return sb::runtime::FromGrpcStatus(reader->Finish());
  }

  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::CallsService::Stub> stub;
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::ExportCallsResponse>> reader;
};

// Connections of the calls service's export pool inside a transaction (an export running).
int64_t ExportsHoldingConnections(sb::pg::Pool& admin) {
  auto r = admin.Exec(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'switchboard-calls-exports' "
      "AND state IN ('idle in transaction', 'active')");
  REQUIRE(r.ok());
  return r->GetInt(0, 0);
}

}  // namespace

TEST_CASE("ten stalled exports starve nobody, and are cut after the idle timeout") {
  testing::Suite suite(
      {.services = {sb::webhooks::Register, sb::eligibility::Register, sb::calls::Register},
       .meta_sim = true,
       .sim_options = [](sb::metasim::SimOptions& o) { o.ring_timeout = absl::Minutes(5); },
       .numbers = {{.phone_number_id = kNumber}},
       .flags = {{"ring-timeout", "2s"},
                 {"export-idle-timeout", "20s"},
                 {"routing-address", "127.0.0.1:9"}}});
  const std::vector<std::string> tenants = {"t1", "t2", "t3", "t4", "t5"};
  for (const auto& t : tenants) SeedMany(suite.postgres_url(), t);
  const std::string target = absl::StrCat("127.0.0.1:", suite.app().grpc_port());
  sb::pg::Pool admin({.url = suite.postgres_url(), .pool_size = 1});

  std::vector<std::unique_ptr<StalledExport>> stalled;
  for (const auto& t : tenants) {
    for (int i = 0; i < 2; ++i) stalled.push_back(std::make_unique<StalledExport>(target, t));
  }
  // The export pool's three connections are taken, and stay taken.
  REQUIRE(testing::Eventually([&] { return ExportsHoldingConnections(admin) == 3; },
                              absl::Seconds(15)));

  auto calls = suite.Stub<v1::CallsService>();
  SECTION("the Calls page, webhooks and ring timers carry on meanwhile") {
    v1::ListCallsResponse listed;
    REQUIRE(testing::Suite::Call(calls.get(), &v1::CallsService::Stub::ListCalls,
                                 v1::ListCallsRequest(), &listed, {.tenant = "t1"})
                .ok());
    CHECK(listed.calls_size() > 0);
    v1::GetCallStatsResponse stats;
    REQUIRE(testing::Suite::Call(calls.get(), &v1::CallsService::Stub::GetCallStats,
                                 v1::GetCallStatsRequest(), &stats)
                .ok());
    // A customer calls acme: the webhook is applied and, nobody answering, the ring timer
    // makes it MISSED.
    std::string meta_id = suite.sim()->PlaceUserCall(kNumber, "5511966881750").value();
    REQUIRE(testing::Eventually(
        [&] {
          v1::ListCallsResponse acme;
          if (!testing::Suite::Call(calls.get(), &v1::CallsService::Stub::ListCalls,
                                    v1::ListCallsRequest(), &acme)
                   .ok()) {
            return false;
          }
          for (const auto& c : acme.calls()) {
            if (c.meta_call_id() == meta_id && c.state() == v1::CALL_STATE_MISSED) return true;
          }
          return false;
        },
        absl::Seconds(15)));
    // Still stalled: none of this waited for the exports.
    CHECK(ExportsHoldingConnections(admin) == 3);
  }
  SECTION("a tenant's third export at once is refused") {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + testing::Suite::Token({.tenant = "t1"}));
    auto reader = calls->ExportCalls(&ctx, v1::ExportCallsRequest());
    v1::ExportCallsResponse chunk;
    CHECK_FALSE(reader->Read(&chunk));
    absl::Status third = sb::runtime::FromGrpcStatus(reader->Finish());
    CHECK(third.code() == absl::StatusCode::kResourceExhausted);
    CHECK(sb::core::ReasonOf(third) == "EXPORT_LIMIT_REACHED");
  }
  SECTION("stalled exports are cut; their connections and slots come back") {
    REQUIRE(testing::Eventually([&] { return ExportsHoldingConnections(admin) == 0; },
                                absl::Seconds(60)));
    int cut = 0;
    for (auto& e : stalled) cut += e->Drain().ok() ? 0 : 1;
    CHECK(cut == static_cast<int>(stalled.size()));
    // The tenant may export again, to the end.
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + testing::Suite::Token({.tenant = "t1"}));
    auto reader = calls->ExportCalls(&ctx, v1::ExportCallsRequest());
    int64_t bytes = 0;
    v1::ExportCallsResponse chunk;
    while (reader->Read(&chunk)) bytes += static_cast<int64_t>(chunk.data().size());
    REQUIRE(reader->Finish().ok());
    CHECK(bytes > kRowsPerTenant * 50);
  }
}

// Random requests to every RPC of every service (tests/fuzz/random_request.h), against the
// whole suite in one process: real Redis, PostgreSQL, embedded Kafka and the Meta simulator.
// Built with AddressSanitizer and UndefinedBehaviorSanitizer (label `fuzz`). Asserts:
//
//   - the process survives (a crash, a sanitizer report or a hang fails the test);
//   - no answer is INTERNAL, UNKNOWN or DATA_LOSS (a refusal has a reason), and no
//     method answers UNIMPLEMENTED;
//   - a request we refused (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, ALREADY_EXISTS,
//     OUT_OF_RANGE, FAILED_PRECONDITION, RESOURCE_EXHAUSTED) wrote no row: in the first phase
//     every request runs as a tenant of its own, so a row carrying a tenant whose only request
//     was refused is a refusal that wrote. (A call Meta refused after we placed it is recorded as
//     FAILED by design; its error names the call, `call_id`, and is exempt.)
//
// The second phase runs as one tenant with calls ringing, reusing the ids the server answered
// with, to reach the code behind "not found". RPC_FUZZ_SEED and RPC_FUZZ_REQUESTS (requests per
// method and phase, default 40) make a run reproducible or longer.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/byte_buffer.h"
#include "libs/core/error.h"
#include "libs/pg/pg.h"
#include "services/billing/module.h"
#include "services/calls/module.h"
#include "services/eligibility/module.h"
#include "services/notifications/module.h"
#include "services/routing/module.h"
#include "services/webhooks/module.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/notifications/v1/notifications_service.grpc.pb.h"
#include "tests/fuzz/random_request.h"
#include "tests/support/suite.h"

namespace sb = switchboard;
namespace testing = switchboard::testing;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

namespace {

const std::string kNumber = "106540352242922";  // the second phase's tenant's ("acme")
const std::vector<std::string> kServices = {
    "switchboard.webhooks.v1.WebhooksService", "switchboard.eligibility.v1.EligibilityService",
    "switchboard.calls.v1.CallsService",       "switchboard.routing.v1.RoutingService",
    "switchboard.billing.v1.BillingService",   "switchboard.notifications.v1.NotificationsService"};
const std::vector<std::string> kAllRoles = {"agent", "supervisor", "admin", "gateway", "service"};

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// What one request came to.
struct Outcome {
  absl::Status status;
  std::unique_ptr<Message> response;  // when OK and unary
};

bool RefusedByUs(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kResourceExhausted:
      return sb::core::MetadataOf(s).count("call_id") == 0;
    default:
      return false;
  }
}

class Fuzzer {
 public:
  explicit Fuzzer(uint64_t seed)
      : suite_(
            {.services = {sb::webhooks::Register, sb::eligibility::Register, sb::calls::Register,
                          sb::routing::Register, sb::billing::Register,
                          sb::notifications::Register},
             .meta_sim = true,
             .sim_options = [](sb::metasim::SimOptions& o) { o.ring_timeout = absl::Minutes(5); },
             .numbers = {{.phone_number_id = kNumber}},
             .flags = {{"ring-timeout", "60s"}}}),
        gen_(seed) {
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    for (const std::string& name : kServices) {
      const auto* service = pool->FindServiceByName(name);
      REQUIRE(service != nullptr);
      for (int i = 0; i < service->method_count(); ++i) methods_.push_back(service->method(i));
    }
  }

  testing::Suite& suite() { return suite_; }
  sb::fuzzing::RandomRequests& gen() { return gen_; }
  const std::vector<const MethodDescriptor*>& methods() const { return methods_; }

  Outcome Send(const MethodDescriptor* m, const Message& req, const testing::Who& who) {
    const std::string path = absl::StrCat("/", m->service()->full_name(), "/", m->name());
    if (m->server_streaming()) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + testing::Suite::Token(who));
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      return Stream(m, req, &ctx);
    }
    absl::StatusOr<std::string> got =
        suite_.CallBytes(path, req.SerializeAsString(), who, absl::Seconds(30));
    Outcome out{.status = got.status()};
    if (got.ok()) {
      out.response.reset(google::protobuf::MessageFactory::generated_factory()
                             ->GetPrototype(m->output_type())
                             ->New());
      if (!out.response->ParseFromString(*got)) out.response.reset();
    }
    return out;
  }

  // Records what is wrong with `out` (nothing when the answer is one a client may get).
  void Judge(const MethodDescriptor* m, const Message& req, const Outcome& out) {
    ++sent_;
    const absl::StatusCode code = out.status.code();
    std::string wrong;
    if (code == absl::StatusCode::kInternal || code == absl::StatusCode::kUnknown ||
        code == absl::StatusCode::kDataLoss) {
      wrong = "an answer without a reason";
    } else if (code == absl::StatusCode::kUnimplemented) {
      wrong = "UNIMPLEMENTED from a method the proto declares";
    } else if (code == absl::StatusCode::kDeadlineExceeded) {
      wrong = "no answer within 30 s";
    } else if (!out.status.ok() && sb::core::ReasonOf(out.status).empty() &&
               code != absl::StatusCode::kUnimplemented &&
               code != absl::StatusCode::kResourceExhausted) {
      wrong = "a refusal without a machine-readable reason";
    }
    ++codes_[absl::StatusCodeToString(code)];
    if (wrong.empty()) return;
    if (findings_.size() < 25) {
      std::string text = req.ShortDebugString();
      if (text.size() > 700) text = text.substr(0, 700) + "...";
      findings_.push_back(absl::StrCat(m->full_name(), ": ", wrong, ": ", out.status.ToString(),
                                       "\n    request: ", text));
    } else {
      ++more_findings_;
    }
  }

  void Finding(std::string what) { findings_.push_back(std::move(what)); }
  const std::vector<std::string>& findings() const { return findings_; }
  int more_findings() const { return more_findings_; }
  int sent() const { return sent_; }
  const std::map<std::string, int>& codes() const { return codes_; }

 private:
  Outcome Stream(const MethodDescriptor* m, const Message& req, grpc::ClientContext* ctx) {
    grpc::Status status;
    if (m->name() == "ExportCalls") {
      auto stub = suite_.Stub<sb::calls::v1::CallsService>();
      sb::calls::v1::ExportCallsRequest r;
      r.CopyFrom(req);
      auto reader = stub->ExportCalls(ctx, r);
      sb::calls::v1::ExportCallsResponse chunk;
      while (reader->Read(&chunk)) {
      }
      status = reader->Finish();
    } else if (m->name() == "Subscribe") {
      auto stub = suite_.Stub<sb::notifications::v1::NotificationsService>();
      sb::notifications::v1::SubscribeRequest r;
      r.CopyFrom(req);
      ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      auto reader = stub->Subscribe(ctx, r);
      sb::notifications::v1::SubscribeResponse event;
      while (reader->Read(&event)) {
      }
      status = reader->Finish();
      // A live stream ends at the client's deadline: that is a subscription that worked.
      if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) status = grpc::Status::OK;
    } else if (m->name() == "DownloadInvoice") {
      auto stub = suite_.Stub<sb::billing::v1::BillingService>();
      sb::billing::v1::DownloadInvoiceRequest r;
      r.CopyFrom(req);
      auto reader = stub->DownloadInvoice(ctx, r);
      sb::billing::v1::DownloadInvoiceResponse piece;
      while (reader->Read(&piece)) {
      }
      status = reader->Finish();
    } else {
      FAIL("a streaming method this test does not know: " << m->full_name());
    }
    return {.status = sb::runtime::FromGrpcStatus(status)};
  }

  testing::Suite suite_;
  sb::fuzzing::RandomRequests gen_;
  std::vector<const MethodDescriptor*> methods_;
  std::vector<std::string> findings_;
  int more_findings_ = 0;
  int sent_ = 0;
  std::map<std::string, int> codes_;
};

}  // namespace

TEST_CASE(
    "random requests to every RPC: no crash, no answer without a reason, refusals write "
    "nothing") {
  const uint64_t seed = EnvOr("RPC_FUZZ_SEED", std::random_device()());
  const int per_method = static_cast<int>(EnvOr("RPC_FUZZ_REQUESTS", 40));
  WARN("RPC_FUZZ_SEED=" << seed << " RPC_FUZZ_REQUESTS=" << per_method);
  Fuzzer f(seed);
  auto& gen = f.gen();

  // Phase 1: each request as a tenant of its own, owning one number (registered only when the
  // request names it); acme's number is someone else's.
  std::map<std::string, std::string> refused;  // tenant -> the refused request
  std::set<std::string> tenants;
  gen.hints().foreign_numbers = {kNumber};
  int n = 0;
  for (int round = 0; round < per_method; ++round) {
    for (const MethodDescriptor* m : f.methods()) {
      const std::string tenant = absl::StrCat("fz-", seed % 100000, "-", n);
      const std::string number = absl::StrCat(2065550000000 + n);
      ++n;
      gen.hints().numbers = {number};
      std::unique_ptr<Message> req = gen.Make(m->input_type());
      if (absl::StrContains(req->SerializeAsString(), number)) {
        REQUIRE(f.suite()
                    .RegisterNumber({.phone_number_id = number,
                                     .waba_id = absl::StrCat(3065550000000 + n),
                                     .display_phone_number = "+1 631-555-3602",
                                     .tenant = tenant})
                    .ok());
      }
      const std::vector<std::string> roles =
          gen.rng()() % 5 == 0 ? std::vector<std::string>{kAllRoles[gen.rng()() % 4]} : kAllRoles;
      Outcome out = f.Send(m, *req, {.subject = "agent-1", .roles = roles, .tenant = tenant});
      f.Judge(m, *req, out);
      tenants.insert(tenant);
      if (RefusedByUs(out.status)) {
        std::string text = req->ShortDebugString();
        refused[tenant] =
            absl::StrCat(m->full_name(), " ", out.status.ToString(), "\n    ", text.substr(0, 500));
      }
    }
  }

  // Phase 2: one tenant, calls ringing, the ids the server hands out reused.
  gen.hints().numbers = {kNumber};
  gen.hints().foreign_numbers = {"2065550000000"};
  for (int i = 0; i < 4; ++i) {
    REQUIRE(f.suite().sim()->PlaceUserCall(kNumber, absl::StrCat("55119668801", 10 + i)).ok());
  }
  const testing::Who acme{.subject = "agent-1", .roles = kAllRoles};
  for (int round = 0; round < per_method; ++round) {
    for (const MethodDescriptor* m : f.methods()) {
      std::unique_ptr<Message> req = gen.Make(m->input_type());
      Outcome out = f.Send(m, *req, acme);
      f.Judge(m, *req, out);
      if (out.response != nullptr) gen.Learn(*out.response);
    }
  }

  // Still serving.
  auto calls = f.suite().Stub<sb::calls::v1::CallsService>();
  sb::calls::v1::ListCallsResponse listed;
  CHECK(testing::Suite::Call(calls.get(), &sb::calls::v1::CallsService::Stub::ListCalls,
                             sb::calls::v1::ListCallsRequest(), &listed, acme)
            .ok());

  // No row carries a tenant whose only request was refused (the number it was given aside).
  sb::pg::Pool pool({.url = f.suite().postgres_url(), .schema = "public", .pool_size = 1});
  auto tables = pool.Exec(
      "SELECT table_schema, table_name FROM information_schema.columns "
      "WHERE column_name = 'tenant_id' AND table_schema NOT IN ('pg_catalog', "
      "'information_schema') AND NOT (table_schema = 'webhooks' AND table_name = "
      "'phone_numbers')");
  REQUIRE(tables.ok());
  int checked_tables = 0;
  for (int i = 0; i < tables->rows(); ++i) {
    const std::string table =
        absl::StrCat("\"", tables->Get(i, 0), "\".\"", tables->Get(i, 1), "\"");
    auto rows = pool.Exec(
        absl::StrCat("SELECT DISTINCT tenant_id FROM ", table, " WHERE tenant_id LIKE 'fz-%'"));
    REQUIRE(rows.ok());
    ++checked_tables;
    for (int r = 0; r < rows->rows(); ++r) {
      auto it = refused.find(std::string(rows->Get(r, 0)));
      if (it != refused.end()) {
        f.Finding(absl::StrCat("a refused request wrote to ", table, ": ", it->second));
      }
    }
  }

  std::string codes;
  for (const auto& [code, count] : f.codes()) absl::StrAppend(&codes, " ", code, "=", count);
  WARN(f.sent() << " requests to " << f.methods().size() << " methods;" << codes << "; "
                << refused.size() << " refusals checked over " << checked_tables << " tables");
  for (const std::string& finding : f.findings()) UNSCOPED_INFO(finding);
  if (f.more_findings() > 0) UNSCOPED_INFO("and " << f.more_findings() << " more");
  CHECK(f.findings().empty());
  CHECK(f.sent() >= 2 * per_method * static_cast<int>(f.methods().size()));
  CHECK(checked_tables >= 8);
  CHECK(refused.size() > tenants.size() / 2);
}

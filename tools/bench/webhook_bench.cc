// Webhook edge benchmark: wrk posts signed webhooks (each a distinct inbound message) over many
// keep-alive connections to a running suite's edge, and, in the same run, to a baseline server
// of the same HTTP library (libs/http over civetweb, same thread count) that answers 200 at
// once. Afterwards it reads whatsapp.events.v1 back from where it stood before the run and
// checks every accepted webhook is there exactly once. Prints one JSON object per scenario.
//
//   . .run/env && build/tools/bench/webhook_bench --seconds=10 --connections=64
//
// Needs wrk (tools/install-deps.sh installs it) and a suite started by deploy/local/stack.sh
// (SWITCHBOARD_ADDR, SWITCHBOARD_WEBHOOKS, SWITCHBOARD_KAFKA, SWITCHBOARD_AUTH_SECRET and
// SWITCHBOARD_META_APP_SECRET from .run/env).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/id.h"
#include "libs/http/server.h"
#include "libs/kafka/kafka.h"
#include "libs/whatsapp/signature.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"
#include "tools/bench/bench_flags.h"

namespace sb = switchboard;

namespace {

// --grpc is the suite's gRPC address (bench::Suite::addr).
struct Flags : sb::bench::Suite {
  std::string webhooks = "127.0.0.1:8080";
  std::string app_secret;
  int seconds = 10;
  int connections = 64;
  int threads = 1;
};

Flags Parse(int argc, char** argv) {
  Flags f;
  sb::bench::FlagReader flags(argc, argv);
  flags.Suite(&f, "grpc");
  flags.Text("webhooks", &f.webhooks, "SWITCHBOARD_WEBHOOKS");
  flags.Text("app-secret", &f.app_secret, "SWITCHBOARD_META_APP_SECRET");
  flags.Int("seconds", &f.seconds);
  flags.Int("connections", &f.connections);
  flags.Int("threads", &f.threads);
  return f;
}

constexpr char kNumber[] = "990000111";
constexpr char kWaba[] = "990000100";

// The i-th body is kPrefix + i + kMiddle + i + kSuffix: an inbound text from user 1555<i>
// with message id wamid.<run>-<i>. The Lua script builds the same bytes.
std::string Prefix() {
  return absl::StrCat(
      R"({"object":"whatsapp_business_account","entry":[{"id":")", kWaba,
      R"(","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":")",
      kNumber, R"("},"messages":[{"from":"1555)");
}
std::string Middle(const std::string& run) { return absl::StrCat(R"(","id":"wamid.)", run, "-"); }
constexpr char kSuffix[] =
    R"(","timestamp":"1749197000","type":"text","text":{"body":"can you call me?"}}]}}]}]})";

std::string Body(const std::string& run, int64_t i) {
  return absl::StrCat(Prefix(), i, Middle(run), i, kSuffix);
}

std::string LuaQuote(const std::string& s) { return "[==[" + s + "]==]"; }

struct WrkResult {
  double rps = 0;
  int64_t requests = 0;
  int64_t non_2xx = 0;
  int64_t socket_errors = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  bool ok = false;
};

// Posts bodies first, first + 1, ... (distinct from another run's when `first` differs).
WrkResult RunWrk(const Flags& f, const std::string& url, const std::string& script,
                 int64_t first = 1) {
  std::string cmd =
      absl::StrCat("WEBHOOK_BENCH_FIRST=", first, " wrk -t", f.threads, " -c", f.connections, " -d",
                   f.seconds, "s --latency -s ", script, " ", url, " 2>&1");
  FILE* pipe = popen(cmd.c_str(), "r");
  WrkResult r;
  if (pipe == nullptr) return r;
  char line[4096];
  while (fgets(line, sizeof line, pipe) != nullptr) {
    long long requests, duration_us, non2xx, errors, p50, p99;
    if (std::sscanf(line, "RESULT %lld %lld %lld %lld %lld %lld", &requests, &duration_us, &non2xx,
                    &errors, &p50, &p99) == 6) {
      r.requests = requests;
      r.rps = requests / (duration_us / 1e6);
      r.non_2xx = non2xx;
      r.socket_errors = errors;
      r.p50_ms = p50 / 1000.0;
      r.p99_ms = p99 / 1000.0;
      r.ok = true;
    }
  }
  pclose(pipe);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = Parse(argc, argv);
  if (f.secret.empty() || f.app_secret.empty() || f.kafka.empty()) {
    std::fprintf(stderr,
                 "webhook_bench: needs SWITCHBOARD_AUTH_SECRET, SWITCHBOARD_META_APP_SECRET and "
                 "SWITCHBOARD_KAFKA (. .run/env after make demo)\n");
    return 2;
  }
  // 1. The bench's number, registered for tenant "bench" (idempotent).
  {
    absl::Time now = absl::Now();
    std::string token = *sb::auth::SignToken(f.secret,
                                             {.tenant_id = "bench",
                                              .subject = "bench",
                                              .roles = {"admin"},
                                              .expires = now + absl::Hours(1)},
                                             now);
    auto stub = sb::webhooks::v1::WebhooksService::NewStub(
        grpc::CreateChannel(f.addr, grpc::InsecureChannelCredentials()));
    sb::webhooks::v1::RegisterPhoneNumberRequest req;
    req.set_phone_number_id(kNumber);
    req.set_waba_id(kWaba);
    req.set_display_phone_number("+1 555 000 1111");
    sb::webhooks::v1::RegisterPhoneNumberResponse resp;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    grpc::Status s = stub->RegisterPhoneNumber(&ctx, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "registering the bench number failed: %s\n", s.error_message().c_str());
      return 1;
    }
  }

  // 2. Signatures for enough distinct bodies (the edge de-duplicates repeats).
  std::string run = sb::core::NewId().substr(0, 13);
  int64_t count = std::max<int64_t>(200000, int64_t{20000} * f.seconds);
  std::string dir = absl::StrCat("/tmp/webhook_bench.", getpid());
  std::system(absl::StrCat("mkdir -p ", dir).c_str());
  {
    std::ofstream sigs(dir + "/sigs");
    for (int64_t i = 1; i <= count; ++i) {
      sigs << sb::whatsapp::SignatureHeader(f.app_secret, Body(run, i)) << "\n";
    }
  }
  std::string script = dir + "/post.lua";
  {
    std::ofstream lua(script);
    lua << "local sigs, idx, stride = {}, 0, " << f.threads << "\n"
        << "local n = 0\n"
        << "function setup(thread) thread:set('tid', n); n = n + 1 end\n"
        << "function init(args)\n"
        << "  for line in io.lines('" << dir << "/sigs') do sigs[#sigs + 1] = line end\n"
        << "  idx = tonumber(os.getenv('WEBHOOK_BENCH_FIRST') or '1') + tid\n"
        << "end\n"
        << "function request()\n"
        << "  local i = idx\n"
        << "  idx = idx + stride\n"
        << "  if i > #sigs then i = ((i - 1) % #sigs) + 1 end\n"
        << "  local body = " << LuaQuote(Prefix()) << " .. i .. " << LuaQuote(Middle(run))
        << " .. i .. " << LuaQuote(kSuffix) << "\n"
        << "  return wrk.format('POST', '/webhooks/whatsapp', {['Content-Type'] = "
           "'application/json', ['X-Hub-Signature-256'] = sigs[i]}, body)\n"
        << "end\n"
        << "function done(summary, latency, requests)\n"
        << "  local e = summary.errors\n"
        << "  io.write(string.format('RESULT %d %d %d %d %d %d\\n', summary.requests, "
           "summary.duration, e.status, e.connect + e.read + e.write + e.timeout, "
           "latency:percentile(50), latency:percentile(99)))\n"
        << "end\n";
  }

  // 3. Baseline: the same HTTP library and thread count, a handler that answers at once.
  auto baseline = sb::http::Server::Start({.host = "127.0.0.1", .port = 0, .threads = 64},
                                          {{"/webhooks/whatsapp", [](const sb::http::Request&) {
                                              return sb::http::Response::Text(200, "ok\n");
                                            }}});
  if (!baseline.ok()) {
    std::fprintf(stderr, "baseline server: %s\n", baseline.status().ToString().c_str());
    return 1;
  }
  WrkResult base = RunWrk(f, absl::StrCat("http://127.0.0.1:", (*baseline)->port()), script);
  (*baseline)->Stop();
  std::printf(
      "{\"scenario\":\"http_baseline\",\"rps\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
      "\"non_2xx\":%lld,\"socket_errors\":%lld}\n",
      base.rps, base.p50_ms, base.p99_ms, static_cast<long long>(base.non_2xx),
      static_cast<long long>(base.socket_errors));
  std::fflush(stdout);

  // 4. A short untimed run first: the edge's first requests pay for the registry cache, Redis
  // connections and the producer's first metadata round trips, which are not what is measured.
  {
    Flags warm = f;
    warm.seconds = 2;
    (void)RunWrk(warm, "http://" + f.webhooks, script, /*first=*/count - 60000);  // warm_first
  }

  // 5. Every accepted webhook in Kafka exactly once: after the load, a new consumer group reads
  // the topic from its start and counts this run's events (their ids carry the run and the
  // body's number; the warm-up's numbers are left out). Nothing reads during the load: the
  // embedded cluster finds a fetch's offset by walking its log, so a consumer reading alongside
  // costs the edge's process more CPU than the edge itself. The cluster keeps at most 5 MB per
  // partition; a run that outgrew that gets fewer events back and fails the check, it does not
  // pass by accident (keep runs to about 5 s).
  const int64_t warm_first = count - 60000;
  absl::Mutex mu;
  int64_t seen = 0;
  std::set<std::string> distinct;
  std::string prefix = absl::StrCat("wamid.", run, "-");
  auto handler = [&](const sb::kafka::Message& m) {
    if (!absl::StartsWith(m.event.id, prefix)) return absl::OkStatus();
    int64_t n = 0;
    if (!absl::SimpleAtoi(absl::string_view(m.event.id).substr(prefix.size()), &n) ||
        n >= warm_first) {
      return absl::OkStatus();
    }
    absl::MutexLock lock(&mu);
    ++seen;
    distinct.insert(m.event.id);
    return absl::OkStatus();
  };

  // 6. The edge.
  WrkResult edge = RunWrk(f, "http://" + f.webhooks, script);
  int64_t accepted = edge.requests - edge.non_2xx;

  auto reader = sb::kafka::Consumer::Create({.brokers = f.kafka,
                                             .group_id = "webhook-bench-" + run,
                                             .topics = {sb::kafka::kWhatsAppEvents},
                                             .extra = {{"auto.offset.reset", "earliest"}}},
                                            handler);
  if (!reader.ok()) {
    std::fprintf(stderr, "consumer: %s\n", reader.status().ToString().c_str());
    return 1;
  }
  (*reader)->Start();
  int64_t last = -1;
  absl::Time quiet_since = absl::Now();
  absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    int64_t now_seen;
    {
      absl::MutexLock lock(&mu);
      now_seen = seen;
    }
    if (now_seen != last) {
      last = now_seen;
      quiet_since = absl::Now();
    } else if (absl::Now() - quiet_since > absl::Seconds(now_seen >= accepted ? 3 : 10)) {
      break;  // all there; or nothing more is coming
    }
  }
  (*reader)->Stop();
  std::printf(
      "{\"scenario\":\"webhook\",\"rps\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
      "\"non_2xx\":%lld,\"socket_errors\":%lld,\"baseline_rps\":%.0f,\"ratio\":%.3f,"
      "\"accepted\":%lld,\"in_kafka\":%lld,\"distinct_in_kafka\":%zu}\n",
      edge.rps, edge.p50_ms, edge.p99_ms, static_cast<long long>(edge.non_2xx),
      static_cast<long long>(edge.socket_errors), base.rps, base.rps > 0 ? edge.rps / base.rps : 0,
      static_cast<long long>(accepted), static_cast<long long>(seen), distinct.size());
  std::system(absl::StrCat("rm -rf ", dir).c_str());
  return base.ok && edge.ok ? 0 : 1;
}

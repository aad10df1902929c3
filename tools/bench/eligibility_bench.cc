// Load benchmark for the eligibility service, against a running suite (make demo).
//
//   eligibility_bench --addr=127.0.0.1:50051 --secret=$SWITCHBOARD_AUTH_SECRET [--seconds=10]
//                     [--clients=32] [--numbers=500]
//
// In one run: grpc.health.v1/Check on the same server (the baseline), CheckEligibility at its
// peak (closed loop), CheckEligibility at 80 % of that peak (open loop, asynchronous: calls go
// out at their scheduled times whatever is in flight, and latency is measured from each call's
// scheduled time, so a stalled server cannot hide queueing), and ReserveCall at its peak. Prints
// one JSON object per scenario: qps, p50/p99 in ms, the baseline's qps and the ratio to it.
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/id.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "tools/bench/bench_flags.h"

namespace {

using namespace switchboard;  // NOLINT
namespace ev = eligibility::v1;

struct Flags : bench::Suite {
  std::string tenant = absl::StrCat("bench", absl::ToUnixSeconds(absl::Now()));
  int seconds = 10;
  int clients = 32;
  int numbers = 500;
};

Flags Parse(int argc, char** argv) {
  Flags f;
  bench::FlagReader flags(argc, argv);
  flags.Suite(&f);
  flags.Int("seconds", &f.seconds);
  flags.Int("clients", &f.clients);
  flags.Int("numbers", &f.numbers);
  return f;
}

struct Result {
  double qps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t errors = 0;
};

// Runs `call(client, i)` from `clients` threads for `seconds`. With `rate` > 0 the calls are
// paced (open loop) and latency counts from each call's scheduled start.
template <typename Call>
Result Drive(int clients, int seconds, double rate, Call call) {
  std::vector<std::vector<double>> latencies(clients);
  std::atomic<int64_t> errors{0};
  absl::Time start = absl::Now() + absl::Milliseconds(50);
  absl::Time end = start + absl::Seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      absl::Duration gap = rate > 0 ? absl::Seconds(clients / rate) : absl::ZeroDuration();
      absl::Time next = start + gap * c / clients;
      int64_t i = 0;
      while (true) {
        absl::Time scheduled = rate > 0 ? next : absl::Now();
        if (scheduled >= end) break;
        if (rate > 0) {
          absl::Duration wait = scheduled - absl::Now();
          if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
        } else if (scheduled < start) {
          absl::SleepFor(start - scheduled);
          continue;
        }
        bool ok = call(c, i++);
        if (!ok) ++errors;
        latencies[c].push_back(absl::ToDoubleMilliseconds(absl::Now() - scheduled));
        next += gap;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Result r;
  r.qps = all.size() / static_cast<double>(seconds);
  r.errors = errors;
  if (!all.empty()) {
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

// An open loop at `rate` calls/s for `seconds`: one thread sends each call at its scheduled
// time (asynchronously, however many are in flight) and one thread reaps the answers; latency
// counts from the scheduled time. Two client threads, so the load generator takes little of
// the CPU it shares with the server, and a slow answer cannot delay the next call's sending.
template <typename Response>
using StartCall = std::function<std::unique_ptr<grpc::ClientAsyncResponseReader<Response>>(
    int64_t i, grpc::ClientContext* ctx, grpc::CompletionQueue* cq)>;

template <typename Response>
Result OpenLoop(double rate, int seconds, const StartCall<Response>& start_call) {
  struct Call {
    grpc::ClientContext ctx;
    Response resp;
    grpc::Status status;
    absl::Time scheduled;
    std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> rpc;
  };
  grpc::CompletionQueue cq;
  const int64_t total = static_cast<int64_t>(rate * seconds);
  std::vector<double> latencies;
  latencies.reserve(total);
  int64_t errors = 0;
  std::thread reaper([&] {
    void* tag = nullptr;
    bool ok = false;
    for (int64_t done = 0; done < total && cq.Next(&tag, &ok); ++done) {
      std::unique_ptr<Call> call(static_cast<Call*>(tag));
      latencies.push_back(absl::ToDoubleMilliseconds(absl::Now() - call->scheduled));
      if (!ok || !call->status.ok()) ++errors;
    }
  });
  prctl(PR_SET_TIMERSLACK, 1);  // wake within a microsecond of the schedule, not 50
  const absl::Time start = absl::Now() + absl::Milliseconds(50);
  const absl::Duration gap = absl::Seconds(1) / rate;
  for (int64_t i = 0; i < total; ++i) {
    const absl::Time scheduled = start + gap * i;
    // Sleep, never spin: a spinning sender would take a core from the server it measures.
    // Calls that fall due during a sleep go out together after it (their latency counts from
    // their schedule, so the lateness is charged to the result, not hidden).
    absl::Duration wait = scheduled - absl::Now();
    if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    auto* call = new Call;
    call->scheduled = scheduled;
    call->ctx.set_deadline(absl::ToChronoTime(scheduled + absl::Seconds(5)));
    call->rpc = start_call(i, &call->ctx, &cq);
    call->rpc->Finish(&call->resp, &call->status, call);
  }
  reaper.join();
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) delete static_cast<Call*>(tag);
  std::sort(latencies.begin(), latencies.end());
  Result r;
  r.qps = latencies.size() / absl::ToDoubleSeconds(absl::Now() - start);
  r.qps = std::min(r.qps, rate);
  r.errors = errors;
  if (!latencies.empty()) {
    r.p50_ms = latencies[latencies.size() / 2];
    r.p99_ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  }
  return r;
}

void Print(const char* scenario, const Result& r, double baseline_qps, const char* extra = "") {
  std::printf(
      "{\"scenario\":\"%s\",\"qps\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%lld,"
      "\"baseline_qps\":%.0f,\"ratio\":%.3f%s}\n",
      scenario, r.qps, r.p50_ms, r.p99_ms, static_cast<long long>(r.errors), baseline_qps,
      baseline_qps > 0 ? r.qps / baseline_qps : 0, extra);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = Parse(argc, argv);
  if (f.secret.empty()) {
    std::fprintf(stderr, "eligibility_bench: --secret or SWITCHBOARD_AUTH_SECRET is required\n");
    return 2;
  }
  absl::Time now = absl::Now();
  auto token = [&](const char* role) {
    return absl::StrCat("Bearer ", *auth::SignToken(f.secret,
                                                    {.tenant_id = f.tenant,
                                                     .subject = "bench",
                                                     .roles = {role},
                                                     .expires = now + absl::Hours(2)},
                                                    now));
  };
  std::string agent = token("agent");
  std::string admin = token("admin");

  // One channel per client: on one connection HTTP/2 flow control would be what we measure.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < f.clients; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", c);  // distinct channels, not one shared subchannel
    channels.push_back(grpc::CreateCustomChannel(f.addr, grpc::InsecureChannelCredentials(), args));
  }
  auto elig = [&](int c) { return ev::EligibilityService::NewStub(channels[c]); };
  std::vector<std::unique_ptr<ev::EligibilityService::Stub>> stubs;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health;
  for (int c = 0; c < f.clients; ++c) {
    stubs.push_back(elig(c));
    health.push_back(grpc::health::v1::Health::NewStub(channels[c]));
  }

  // Limits high enough that reservations keep succeeding across `numbers` business numbers
  // (each number's window then holds a few dozen entries, as in production).
  {
    ev::UpdateTenantPolicyRequest req;
    req.mutable_policy()->set_calls_per_minute(10'000);
    req.mutable_policy()->set_calls_per_hour(100'000);
    req.mutable_update_mask()->add_paths("calls_per_minute");
    req.mutable_update_mask()->add_paths("calls_per_hour");
    ev::UpdateTenantPolicyResponse resp;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", admin);
    grpc::Status s = stubs[0]->UpdateTenantPolicy(&ctx, req, &resp);
    if (!s.ok()) {
      std::fprintf(stderr, "policy update failed: %s\n", s.error_message().c_str());
      return 1;
    }
  }
  // Seed one eligible contact per number.
  // The n-th contact and its business number, on a request that names both.
  auto target = [](int n, auto* req) {
    req->mutable_contact()->set_wa_id(absl::StrCat("55119", 100000 + n));
    req->set_business_phone_number_id(absl::StrCat("1065", 100000 + n));
  };
  for (int n = 0; n < f.numbers; ++n) {
    grpc::ClientContext m;
    m.AddMetadata("authorization", agent);
    ev::RecordInboundMessageRequest msg;
    target(n, &msg);
    msg.set_text("call me please");
    ev::RecordInboundMessageResponse mresp;
    grpc::ClientContext c;
    c.AddMetadata("authorization", agent);
    ev::RecordConsentRequest consent;
    target(n, &consent);
    consent.set_kind(ev::CONSENT_KIND_META_CALL_PERMISSION);
    consent.set_source(ev::CONSENT_SOURCE_API);
    ev::RecordConsentResponse cresp;
    if (!stubs[0]->RecordInboundMessage(&m, msg, &mresp).ok() ||
        !stubs[0]->RecordConsent(&c, consent, &cresp).ok()) {
      std::fprintf(stderr, "seeding failed\n");
      return 1;
    }
  }

  auto health_call = [&](int c, int64_t) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest req;
    req.set_service("eligibility");
    grpc::health::v1::HealthCheckResponse resp;
    return health[c]->Check(&ctx, req, &resp).ok();
  };
  // Client c's i-th question, as an agent asks it, spread over the seeded numbers.
  auto ask = [&](int c, int64_t i, grpc::ClientContext* ctx, auto* req) {
    ctx->AddMetadata("authorization", agent);
    target(static_cast<int>((c * 7919 + i) % f.numbers), req);
    req->set_call_kind(ev::CALL_KIND_USER_REQUESTED);
  };
  auto check_call = [&](int c, int64_t i) {
    grpc::ClientContext ctx;
    ev::CheckEligibilityRequest req;
    ask(c, i, &ctx, &req);
    ev::CheckEligibilityResponse resp;
    return stubs[c]->CheckEligibility(&ctx, req, &resp).ok() && resp.eligible();
  };
  std::atomic<int64_t> denied{0};
  auto reserve_call = [&](int c, int64_t i) {
    grpc::ClientContext ctx;
    ev::ReserveCallRequest req;
    ask(c, i, &ctx, &req);
    req.set_request_id(core::NewId());
    ev::ReserveCallResponse resp;
    bool ok = stubs[c]->ReserveCall(&ctx, req, &resp).ok();
    if (ok && !resp.granted()) ++denied;
    return ok && resp.granted();
  };

  Drive(f.clients, 1, 0, health_call);  // warm up connections
  Result baseline = Drive(f.clients, f.seconds, 0, health_call);
  Print("health_check_baseline", baseline, baseline.qps);
  Result check_peak = Drive(f.clients, f.seconds, 0, check_call);
  Print("check_eligibility_peak", check_peak, baseline.qps);
  // Open loops spread their calls over the channels: one HTTP/2 connection is served by one
  // thread at a time.
  const double rate_80 = check_peak.qps * 0.8;
  Result check_80 = OpenLoop<ev::CheckEligibilityResponse>(
      rate_80, f.seconds, [&](int64_t i, grpc::ClientContext* ctx, grpc::CompletionQueue* cq) {
        int n = static_cast<int>((i * 7919) % f.numbers);
        ev::CheckEligibilityRequest req;
        target(n, &req);
        req.set_call_kind(ev::CALL_KIND_USER_REQUESTED);
        ctx->AddMetadata("authorization", agent);
        return stubs[i % stubs.size()]->AsyncCheckEligibility(ctx, req, cq);
      });
  Print("check_eligibility_at_80pct_of_peak", check_80, baseline.qps,
        absl::StrCat(",\"offered_qps\":", static_cast<int64_t>(rate_80)).c_str());
  // The latency baseline: the health check, on the same server, at the same rate.
  Result health_same_rate = OpenLoop<grpc::health::v1::HealthCheckResponse>(
      rate_80, f.seconds, [&](int64_t i, grpc::ClientContext* ctx, grpc::CompletionQueue* cq) {
        grpc::health::v1::HealthCheckRequest req;
        req.set_service("eligibility");
        return health[i % health.size()]->AsyncCheck(ctx, req, cq);
      });
  Print("health_check_at_the_same_rate", health_same_rate, baseline.qps,
        absl::StrCat(",\"offered_qps\":", static_cast<int64_t>(rate_80)).c_str());
  Result reserve = Drive(f.clients, f.seconds, 0, reserve_call);
  Print("reserve_call_peak", reserve, baseline.qps,
        absl::StrCat(",\"denied\":", denied.load()).c_str());
  return 0;
}

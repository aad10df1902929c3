// Benchmark of the browser event stream and the gateway, in process: the notifications, gateway
// and routing targets in one runtime (embedded Kafka, the suite's Redis, a scratch database on
// the suite's PostgreSQL), the subscribers in a child process (so that their sockets and
// buffers are not counted as the server's):
//
//   notify_bench --redis-url=redis://127.0.0.1:PORT/0 --postgres-url=postgresql://...
//                [--subscribers=10000] [--receivers=1000] [--offers=2000] [--rate=200]
//                [--warmup-seconds=3] [--rpc-seconds=5] [--rpc-threads=8]
//
// 1. Baseline: a bare SSE server on the same HTTP server (libs/http over Boost.Beast) that
//    answers each GET with a held stream and does nothing else; --subscribers connections.
// 2. The gateway: as many subscribers, each an agent of its own with a ticket, GET /v1/events
//    until its reset arrived. Added RSS per subscriber and threads, against the baseline's.
// 3. Latency: after --warmup-seconds of untimed ones, --offers CallOffers for agents among the
//    first --receivers, at --rate a second, produced to routing.offers.v1; each timed from the
//    produce call to the alert read from the right subscriber's socket. p50, p99, max.
// 4. Unary: routing's GetRoutingSettings over native gRPC (TCP to the server) and as POST JSON
//    through the gateway (HTTP/1.1 keep-alive, then the in-process channel), --rpc-threads
//    closed loops for --rpc-seconds, each twice, alternating; calls/s and the ratio.
// One JSON object per line.
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/auth/token.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/http/client.h"
#include "libs/http/server.h"
#include "libs/kafka/kafka.h"
#include "libs/runtime/app.h"
#include "services/gateway/module.h"
#include "services/notifications/module.h"
#include "services/routing/module.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"
#include "tools/bench/bench_flags.h"
#include "tools/bench/scratch_database.h"

extern char** environ;

namespace {

using namespace switchboard;  // NOLINT
using bench::Must;

constexpr char kSecret[] = "notify-bench-secret-0123456789abcdef";
constexpr char kTenant[] = "bench";

struct Flags {
  std::string redis_url;
  std::string postgres_url;
  int subscribers = 10000;
  int receivers = 1000;
  int offers = 2000;
  int rate = 200;
  int warmup_seconds = 3;
  int rpc_seconds = 5;
  int rpc_threads = 8;
};

// ---- the process ------------------------------------------------------------------------------

int64_t StatusField(const char* name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, name)) {
      int64_t v = 0;
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (parts.size() >= 2) (void)absl::SimpleAtoi(parts[1], &v);
      return v;
    }
  }
  return 0;
}
int64_t RssKb() { return StatusField("VmRSS:"); }
int64_t Threads() { return StatusField("Threads:"); }

void RaiseFileLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

// ---- the subscribers (the child process) ------------------------------------------------------

// `notify_bench --clients PORT FILE`: one connection per line of FILE (a request path), read
// with epoll on one thread. Prints READY once each got `ready` ("retry:" for the baseline,
// "event: reset" through the gateway), then waits for a line on stdin and prints
// "R <call id> <unix ns>" for every incoming call read, then exits.
int Clients(int port, const std::string& file) {
  RaiseFileLimit();
  std::ifstream in(file);
  std::vector<std::string> paths;
  for (std::string line; std::getline(in, line);) paths.push_back(line);
  const bool gateway = !paths.empty() && absl::StrContains(paths[0], "ticket=");
  const std::string ready = gateway ? "event: reset" : "retry:";
  int ep = epoll_create1(0);
  struct Conn {
    int fd;
    std::string buf;
    bool ready = false;
  };
  std::vector<Conn> conns(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::fprintf(stderr, "connect %zu failed\n", i);
      return 1;
    }
    std::string req = absl::StrCat("GET ", paths[i], " HTTP/1.1\r\nHost: bench\r\n\r\n");
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      return 1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    conns[i].fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  size_t ready_count = 0;
  bool told = false;
  std::vector<std::pair<std::string, int64_t>> received;
  std::atomic<bool> done{false};
  std::thread stdin_reader([&] {
    char c;
    while (read(0, &c, 1) == 1 && c != '\n') {
    }
    done = true;
  });
  std::vector<epoll_event> events(256);
  char chunk[16384];
  const absl::Time give_up = absl::Now() + absl::Minutes(3);
  while (!done) {
    if (!told && absl::Now() > give_up) {
      std::fprintf(stderr, "notify_bench: only %zu of %zu streams opened in 3 minutes\n",
                   ready_count, conns.size());
      return 1;
    }
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 50);
    const int64_t now = absl::ToUnixNanos(absl::Now());
    for (int k = 0; k < n; ++k) {
      Conn& c = conns[events[k].data.u64];
      for (;;) {
        ssize_t got = recv(c.fd, chunk, sizeof chunk, 0);
        if (got <= 0) break;
        c.buf.append(chunk, static_cast<size_t>(got));
      }
      if (!c.ready && absl::StrContains(c.buf, ready)) {
        c.ready = true;
        ++ready_count;
      }
      // Alerts: `event: incoming_call` then the JSON with its callId.
      for (size_t at = c.buf.find("event: incoming_call"); at != std::string::npos;
           at = c.buf.find("event: incoming_call", at + 1)) {
        size_t id = c.buf.find("\"callId\":\"", at);
        size_t end = id == std::string::npos ? id : c.buf.find('"', id + 10);
        if (end == std::string::npos) break;
        received.emplace_back(c.buf.substr(id + 10, end - id - 10), now);
      }
      // Keep only an unfinished tail.
      size_t last = c.buf.rfind("\n\n");
      if (last != std::string::npos) c.buf.erase(0, last + 2);
    }
    if (!told && ready_count == conns.size()) {
      told = true;
      std::printf("READY\n");
      std::fflush(stdout);
    }
  }
  stdin_reader.join();
  for (const auto& [id, ns] : received)
    std::printf("R %s %lld\n", id.c_str(), static_cast<long long>(ns));
  std::fflush(stdout);
  for (Conn& c : conns) close(c.fd);
  return 0;
}

// The child process, its stdin and stdout.
struct Child {
  pid_t pid = -1;
  FILE* to = nullptr;
  FILE* from = nullptr;

  static Child Spawn(int port, const std::string& file) {
    int in_pipe[2], out_pipe[2];
    if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) std::abort();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_addclose(&actions, in_pipe[1]);
    posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
    std::string p = absl::StrCat(port);
    std::vector<char*> argv = {const_cast<char*>("notify_bench"), const_cast<char*>("--clients"),
                               p.data(), const_cast<char*>(file.c_str()), nullptr};
    Child c;
    if (posix_spawn(&c.pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ) != 0) {
      std::abort();
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    c.to = fdopen(in_pipe[1], "w");
    c.from = fdopen(out_pipe[0], "r");
    return c;
  }
  bool WaitReady() {
    char line[256];
    while (std::fgets(line, sizeof line, from) != nullptr) {
      if (absl::StartsWith(line, "READY")) return true;
    }
    return false;
  }
  // Tells it to stop; its "R" lines.
  std::vector<std::pair<std::string, int64_t>> Finish() {
    std::fputs("done\n", to);
    std::fflush(to);
    std::vector<std::pair<std::string, int64_t>> out;
    char line[512];
    while (std::fgets(line, sizeof line, from) != nullptr) {
      std::vector<std::string> parts = absl::StrSplit(absl::StripAsciiWhitespace(line), ' ');
      int64_t ns = 0;
      if (parts.size() == 3 && parts[0] == "R" && absl::SimpleAtoi(parts[2], &ns)) {
        out.emplace_back(parts[1], ns);
      }
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::fclose(to);
    std::fclose(from);
    return out;
  }
};

std::string WriteLines(const std::vector<std::string>& lines) {
  std::string path = absl::StrCat("/tmp/notify_bench_", getpid(), "_", lines.size(), ".txt");
  std::ofstream out(path);
  for (const auto& l : lines) out << l << "\n";
  return path;
}

struct Footprint {
  double rss_kb_per_subscriber;
  int64_t threads_added;
  double seconds_to_ready;
};

// Opens one stream per path from a child process, and measures what they cost this process.
// The streams stay open until the caller finishes the child.
struct Subscribers {
  Child child;
  std::string file;
  Footprint footprint;

  std::vector<std::pair<std::string, int64_t>> Finish() {
    auto received = child.Finish();
    std::remove(file.c_str());
    return received;
  }
};

Subscribers Open(int port, const std::vector<std::string>& paths) {
  const int64_t rss0 = RssKb(), threads0 = Threads();
  const absl::Time began = absl::Now();
  Subscribers s;
  s.file = WriteLines(paths);
  s.child = Child::Spawn(port, s.file);
  if (!s.child.WaitReady()) Must(absl::InternalError("streams did not open"), "subscribe");
  const double seconds = absl::ToDoubleSeconds(absl::Now() - began);
  // Let the allocator settle what the burst of connections left behind.
  absl::SleepFor(absl::Seconds(1));
  const int64_t rss1 = RssKb(), threads1 = Threads();
  s.footprint = {static_cast<double>(rss1 - rss0) / static_cast<double>(paths.size()),
                 threads1 - threads0, seconds};
  return s;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string Token(const std::string& subject, const std::string& role) {
  absl::Time now = absl::Now();
  return *auth::SignToken(
      kSecret,
      {.tenant_id = kTenant, .subject = subject, .roles = {role}, .expires = now + absl::Hours(2)},
      now);
}

// Calls/s of `call` from `threads` closed loops over `seconds`.
double Throughput(int threads, int seconds, const std::function<bool()>& call) {
  std::atomic<int64_t> done{0}, failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  const absl::Time began = absl::Now();
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&] {
      while (!stop) (call() ? done : failed)++;
    });
  }
  absl::SleepFor(absl::Seconds(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  if (failed > 0)
    std::fprintf(stderr, "notify_bench: %lld calls failed\n", (long long)failed.load());
  return static_cast<double>(done) / absl::ToDoubleSeconds(absl::Now() - began);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--clients") {
    return Clients(std::atoi(argv[2]), argv[3]);
  }
  Flags f;
  bench::FlagReader flags(argc, argv);
  flags.Text("redis-url", &f.redis_url);
  flags.Text("postgres-url", &f.postgres_url);
  flags.Int("subscribers", &f.subscribers);
  flags.Int("receivers", &f.receivers);
  flags.Int("offers", &f.offers);
  flags.Int("rate", &f.rate);
  flags.Int("warmup-seconds", &f.warmup_seconds);
  flags.Int("rpc-seconds", &f.rpc_seconds);
  flags.Int("rpc-threads", &f.rpc_threads);
  if (f.redis_url.empty() || f.postgres_url.empty()) {
    std::fprintf(stderr, "notify_bench: --redis-url and --postgres-url are required\n");
    return 2;
  }
  RaiseFileLimit();
  f.receivers = std::min(f.receivers, f.subscribers);
  bench::ScratchDatabase db(f.postgres_url, "notify_bench");
  {
    runtime::Registry registry;
    runtime::RegisterInfrastructure(registry);
    notifications::Register(registry);
    gateway::Register(registry);
    routing::Register(registry);
    runtime::Config config;
    config.targets = {"notifications", "gateway", "routing"};
    config.listen_host = "127.0.0.1";
    config.grpc_port = 0;
    config.metrics_port = 0;
    config.auth_secret = kSecret;
    config.redis_url = f.redis_url;
    config.postgres_url = db.url();
    config.kafka_bootstrap_file = "";  // nobody else needs the embedded cluster here
    log::SetLevel(log::Level::kWarning);
    // GetRoutingSettings needs no number registry: routing is told where none listens.
    config.flags = {
        {"gateway-port", "0"}, {"gateway-rate-limit", "0"}, {"webhooks-address", "127.0.0.1:9"}};
    runtime::App app(registry, config);
    Must(app.Start(), "start");
    const std::string gateway = app.addresses().at("gateway");
    const int gateway_port = std::atoi(gateway.substr(gateway.rfind(':') + 1).c_str());

    // 1. The baseline: a held SSE stream per GET, nothing else.
    std::vector<std::shared_ptr<http::ResponseStream>> held;
    absl::Mutex held_mu;
    auto bare = http::Server::Start({.host = "127.0.0.1", .max_connections = f.subscribers + 100},
                                    {{"/sse", [&](const http::Request&) {
                                        http::Response r{.content_type = "text/event-stream",
                                                         .body = "retry: 3000\n\n"};
                                        r.stream = [&](std::shared_ptr<http::ResponseStream> out) {
                                          absl::MutexLock lock(&held_mu);
                                          held.push_back(std::move(out));
                                        };
                                        return r;
                                      }}});
    Must(bare.status(), "baseline server");
    std::vector<std::string> plain(static_cast<size_t>(f.subscribers), "/sse");
    Subscribers baseline = Open((*bare)->port(), plain);
    baseline.Finish();
    const Footprint base = baseline.footprint;
    {
      absl::MutexLock lock(&held_mu);
      held.clear();
    }
    (*bare)->Stop();
    std::printf(
        "{\"bench\":\"notify\",\"phase\":\"baseline\",\"subscribers\":%d,"
        "\"rss_kb_per_subscriber\":%.1f,\"threads_added\":%lld,\"seconds_to_ready\":%.1f}\n",
        f.subscribers, base.rss_kb_per_subscriber, (long long)base.threads_added,
        base.seconds_to_ready);
    std::fflush(stdout);

    // 2. The gateway: a ticket per agent, then the streams.
    http::Client client;
    std::vector<std::string> paths;
    for (int i = 0; i < f.subscribers; ++i) {
      auto r = client.Send(
          {.method = "POST",
           .url = absl::StrCat("http://", gateway, "/v1/events/tickets"),
           .headers = {{"Authorization", "Bearer " + Token(absl::StrCat("a-", i), "agent")},
                       {"Content-Type", "application/json"}},
           .body = "{}"});
      Must(r.status(), "ticket");
      size_t at = r->body.find("\"ticket\":\"") + 10;
      paths.push_back(
          absl::StrCat("/v1/events?ticket=", r->body.substr(at, r->body.find('"', at) - at)));
    }
    Subscribers streams = Open(gateway_port, paths);
    const Footprint& gw = streams.footprint;
    std::printf(
        "{\"bench\":\"notify\",\"phase\":\"gateway_streams\",\"subscribers\":%d,"
        "\"rss_kb_per_subscriber\":%.1f,\"threads_added\":%lld,\"seconds_to_ready\":%.1f,"
        "\"rss_ratio_to_baseline\":%.2f}\n",
        f.subscribers, gw.rss_kb_per_subscriber, (long long)gw.threads_added, gw.seconds_to_ready,
        base.rss_kb_per_subscriber > 0 ? gw.rss_kb_per_subscriber / base.rss_kb_per_subscriber
                                       : 0.0);
    std::fflush(stdout);

    // 3. Latency: offers to the first --receivers agents, open loop.
    auto producer = kafka::Producer::Create({.brokers = app.kafka_bootstrap()});
    Must(producer.status(), "producer");
    std::map<std::string, int64_t> sent;
    const absl::Duration gap = absl::Seconds(1) / std::max(1, f.rate);
    // The first --warmup-seconds of offers are not timed: the consumer groups may still be
    // joining (a fresh process) and would time the join, not the path.
    const int warmup = f.rate * f.warmup_seconds;
    absl::Time next = absl::Now();
    for (int i = 0; i < warmup + f.offers; ++i) {
      absl::SleepFor(next - absl::Now());
      next += gap;
      routing::v1::CallOffer offer;
      const std::string call = absl::StrCat(i < warmup ? "w-" : "c-", i);
      offer.mutable_header()->set_tenant_id(kTenant);
      offer.mutable_header()->set_entity_id(call);
      offer.set_call_id(call);
      offer.set_kind(routing::v1::CALL_OFFER_KIND_OFFERED);
      offer.add_offered_agent_ids(absl::StrCat("a-", i % f.receivers));
      *offer.mutable_ring_deadline_time() = core::ToProto(absl::Now() + absl::Seconds(30));
      if (i >= warmup) sent[call] = absl::ToUnixNanos(absl::Now());
      (*producer)->Publish(kafka::kRoutingOffers, kafka::MakeEvent(offer, call, "bench"),
                           [](absl::Status) {});
    }
    Must((*producer)->Flush(absl::Seconds(30)), "flush");
    absl::SleepFor(absl::Seconds(2));  // the last alerts reach their sockets
    std::vector<double> ms;
    for (const auto& [call, ns] : streams.Finish()) {
      auto it = sent.find(call);
      if (it != sent.end()) ms.push_back(static_cast<double>(ns - it->second) / 1e6);
    }
    std::printf(
        "{\"bench\":\"notify\",\"phase\":\"alert_latency\",\"offers\":%d,\"received\":%zu,"
        "\"receivers\":%d,\"idle_subscribers\":%d,\"rate\":%d,\"p50_ms\":%.1f,\"p99_ms\":%.1f,"
        "\"max_ms\":%.1f}\n",
        f.offers, ms.size(), f.receivers, f.subscribers - f.receivers, f.rate, Percentile(ms, 0.5),
        Percentile(ms, 0.99), Percentile(ms, 1.0));
    std::fflush(stdout);

    // 4. Unary: native gRPC, then the gateway's JSON.
    const std::string admin = Token("bench-admin", "admin");
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", app.grpc_port()),
                                       grpc::InsecureChannelCredentials());
    auto stub = routing::v1::RoutingService::NewStub(channel);
    auto native = [&] {
      return Throughput(f.rpc_threads, f.rpc_seconds, [&] {
        grpc::ClientContext ctx;
        ctx.AddMetadata("authorization", "Bearer " + admin);
        routing::v1::GetRoutingSettingsResponse resp;
        return stub->GetRoutingSettings(&ctx, {}, &resp).ok();
      });
    };
    const std::string url = absl::StrCat(
        "http://", gateway, "/switchboard.routing.v1.RoutingService/GetRoutingSettings");
    auto json = [&] {
      return Throughput(f.rpc_threads, f.rpc_seconds, [&] {
        auto r = client.Send({.method = "POST",
                              .url = url,
                              .headers = {{"Authorization", "Bearer " + admin},
                                          {"Content-Type", "application/json"}},
                              .body = "{}"});
        return r.ok() && r->status == 200;
      });
    };
    // What the streams left behind settles first; then each path twice, alternating, so that
    // neither gets the quieter machine.
    absl::SleepFor(absl::Seconds(3));
    double grpc_total = 0, json_total = 0;
    for (int round = 0; round < 2; ++round) {
      grpc_total += native();
      json_total += json();
    }
    std::printf(
        "{\"bench\":\"notify\",\"phase\":\"unary\",\"method\":\"GetRoutingSettings\","
        "\"threads\":%d,\"grpc_per_s\":%.0f,\"gateway_json_per_s\":%.0f,\"ratio\":%.2f}\n",
        f.rpc_threads, grpc_total / 2, json_total / 2,
        grpc_total > 0 ? json_total / grpc_total : 0.0);
    std::fflush(stdout);
    app.RequestStop();
    app.WaitAndDrain();
  }
  return 0;
}

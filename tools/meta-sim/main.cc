// meta-sim: runs the Meta stand-in as a process, for the demo and load tests.
//
//   meta-sim --port=9090 --phone-number-id=1234 --access-token=T --app-secret=S
//            --callback-url=http://127.0.0.1:8080/webhooks/whatsapp   (one line)
//   meta-sim --config=sim.json --scenario=demo.json --exit-when-done
//   meta-sim --config=sim.json --calls-per-second=50 --duration=60s --exit-when-done
//
// Serves the Graph API under /<version>/<phone-number-id>/... and the control surface under
// /sim/... until SIGTERM/SIGINT (or, with --exit-when-done, until the scenario or load run
// finished and every webhook was delivered). Bad flags exit 2; a failed start exits 1.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/log.h"
#include "tools/meta-sim/config.h"
#include "tools/meta-sim/scenario.h"
#include "tools/meta-sim/sim.h"

namespace {

using namespace switchboard;  // NOLINT

constexpr char kUsage[] = R"(usage: meta-sim [flags]

  --config=FILE              JSON config (numbers, rules, behaviours; see README.md)
  --host=H --port=N          where to listen (default 127.0.0.1:9090; 0 picks a free port)
  --phone-number-id=ID       a business number from flags (added to the config's):
  --display-phone-number=P     its display number (default +1 555 000 0000)
  --waba-id=W                  its WhatsApp Business Account id (default 100000000000001)
  --access-token=T             the Bearer token the Graph API accepts for it (required)
  --app-secret=S               the webhook signing secret (required)
  --callback-url=URL           where its webhooks go
  --ring-timeout=45s         unanswered calls end after this
  --daily-call-cap=N         connected business-initiated calls per user per 24 h
  --webhook-retry-initial=1s --webhook-retry-max=5m --webhook-senders=1
  --scenario=FILE            run a scenario (JSON steps) once started
  --calls-per-second=R --duration=10s [--load-users=N] [--load-number=ID]
                             place user-initiated calls at a steady rate
  --exit-when-done           exit once the scenario/load ran and the webhooks are delivered
  --ready-file=FILE          written with {"port": N, "base_url": ...} once listening
  --log-level=info           debug, info, warning, error
)";

int Usage(const std::string& why) {
  std::fprintf(stderr, "meta-sim: %s\n%s", why.c_str(), kUsage);
  return 2;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  static const std::set<std::string> kKnown = {"config",
                                               "host",
                                               "port",
                                               "phone-number-id",
                                               "display-phone-number",
                                               "waba-id",
                                               "access-token",
                                               "app-secret",
                                               "callback-url",
                                               "ring-timeout",
                                               "daily-call-cap",
                                               "webhook-retry-initial",
                                               "webhook-retry-max",
                                               "webhook-senders",
                                               "scenario",
                                               "calls-per-second",
                                               "duration",
                                               "load-users",
                                               "load-number",
                                               "exit-when-done",
                                               "ready-file",
                                               "log-level",
                                               "help"};
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!absl::StartsWith(arg, "--")) return Usage(absl::StrCat("unexpected argument ", arg));
    std::pair<std::string, std::string> kv = absl::StrSplit(arg.substr(2), absl::MaxSplits('=', 1));
    if (kKnown.count(kv.first) == 0) return Usage(absl::StrCat("unknown flag --", kv.first));
    flags[kv.first] = kv.second;
  }
  if (flags.count("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  auto flag = [&](const std::string& name, const std::string& fallback = "") {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  };
  auto duration_flag = [&](const std::string& name, absl::Duration* out) {
    if (!flags.count(name)) return true;
    return absl::ParseDuration(flags[name], out);
  };
  auto int_flag = [&](const std::string& name, int* out) {
    if (!flags.count(name)) return true;
    return absl::SimpleAtoi(flags[name], out);
  };

  log::Level level;
  if (!log::ParseLevel(flag("log-level", "info"), &level)) return Usage("bad --log-level");
  log::SetLevel(level);
  log::SetStaticField("service", "meta-sim");

  metasim::SimOptions options;
  options.port = 9090;
  if (flags.count("config")) {
    std::string text;
    if (!ReadFile(flags["config"], &text)) return Usage("cannot read --config");
    absl::StatusOr<metasim::SimOptions> parsed = metasim::ParseSimConfig(text, options);
    if (!parsed.ok()) return Usage(absl::StrCat("--config: ", parsed.status().message()));
    options = *std::move(parsed);
  }
  options.host = flag("host", options.host);
  if (!int_flag("port", &options.port)) return Usage("bad --port");
  if (flags.count("phone-number-id")) {
    metasim::BusinessNumber n{
        .phone_number_id = flag("phone-number-id"),
        .display_phone_number = flag("display-phone-number", "+1 555 000 0000"),
        .waba_id = flag("waba-id", "100000000000001"),
        .access_token = flag("access-token"),
        .app_secret = flag("app-secret"),
        .callback_url = flag("callback-url")};
    if (n.access_token.empty() || n.app_secret.empty()) {
      return Usage("--phone-number-id needs --access-token and --app-secret");
    }
    options.numbers.push_back(std::move(n));
  }
  if (options.numbers.empty()) return Usage("no business number (--config or --phone-number-id)");
  if (!duration_flag("ring-timeout", &options.ring_timeout)) return Usage("bad --ring-timeout");
  if (!int_flag("daily-call-cap", &options.permissions.connected_calls_per_day)) {
    return Usage("bad --daily-call-cap");
  }
  if (!duration_flag("webhook-retry-initial", &options.webhooks.retry_initial) ||
      !duration_flag("webhook-retry-max", &options.webhooks.retry_max) ||
      !int_flag("webhook-senders", &options.webhooks.senders)) {
    return Usage("bad --webhook-* flag");
  }

  std::string scenario;
  if (flags.count("scenario") && !ReadFile(flags["scenario"], &scenario)) {
    return Usage("cannot read --scenario");
  }
  bool load = flags.count("calls-per-second") > 0;
  metasim::LoadOptions load_options{.phone_number_id =
                                        flag("load-number", options.numbers[0].phone_number_id)};
  if (load) {
    if (!absl::SimpleAtod(flag("calls-per-second"), &load_options.calls_per_second) ||
        load_options.calls_per_second <= 0) {
      return Usage("bad --calls-per-second");
    }
    if (!duration_flag("duration", &load_options.duration)) return Usage("bad --duration");
    if (!int_flag("load-users", &load_options.users)) return Usage("bad --load-users");
  }

  // Signals are taken by sigwait below, not by whichever thread they land on.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<metasim::Sim>> sim = metasim::Sim::Start(options);
  if (!sim.ok()) {
    log::Error("meta-sim failed to start", {{"error", sim.status().ToString()}});
    return 1;
  }
  log::Info("meta-sim listening", {{"base_url", (*sim)->base_url()},
                                   {"numbers", static_cast<int64_t>(options.numbers.size())}});
  if (flags.count("ready-file")) {
    std::ofstream out(flags["ready-file"]);
    out << nlohmann::json{{"port", (*sim)->port()}, {"base_url", (*sim)->base_url()}}.dump()
        << "\n";
  }

  int exit_code = 0;
  if (!scenario.empty()) {
    absl::Status s = metasim::RunScenario(**sim, scenario, [](const std::string& line) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    });
    if (!s.ok()) {
      log::Error("scenario failed", {{"error", s.ToString()}});
      exit_code = 1;
    }
  }
  if (load) {
    absl::StatusOr<metasim::LoadReport> r = metasim::RunLoad(**sim, load_options);
    if (!r.ok()) {
      log::Error("load run failed", {{"error", r.status().ToString()}});
      exit_code = 1;
    } else {
      std::printf("%s\n", nlohmann::json{{"calls_placed", r->calls_placed},
                                         {"calls_refused", r->calls_refused},
                                         {"messages_sent", r->messages_sent},
                                         {"elapsed_seconds", absl::ToDoubleSeconds(r->elapsed)}}
                              .dump()
                              .c_str());
      std::fflush(stdout);
    }
  }

  if (flags.count("exit-when-done")) {
    (*sim)->WaitIdle(options.ring_timeout + absl::Minutes(1));
  } else {
    int sig = 0;
    sigwait(&signals, &sig);
    log::Info("meta-sim stopping", {{"signal", sig}});
  }
  std::printf("%s\n", metasim::StatsJson((*sim)->Stats()).dump().c_str());
  (*sim)->Stop();
  if (flags.count("ready-file")) std::remove(flags["ready-file"].c_str());
  return exit_code;
}

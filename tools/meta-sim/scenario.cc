#include "tools/meta-sim/scenario.h"

#include <map>
#include <nlohmann/json.hpp>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"

namespace switchboard::metasim {

using Json = nlohmann::json;

namespace {

absl::Status Bad(absl::string_view what) { return core::InvalidArgument("INVALID_SCENARIO", what); }

}  // namespace

absl::Status RunScenario(Sim& sim, absl::string_view text,
                         const std::function<void(const std::string&)>& report) {
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("steps")) doc = doc["steps"];
  if (!doc.is_array()) return Bad("a scenario is {\"steps\": [...]} or a JSON array");
  std::map<std::string, std::string> names;  // "as" → call id
  int index = 0;
  for (const Json& step : doc) {
    ++index;
    if (!step.is_object() || step.size() != 1) {
      return Bad(absl::StrCat("step ", index, " must be an object with one command"));
    }
    const auto& [command, args] = *step.items().begin();
    if (command == "wait_ms") {
      if (!args.is_number_integer()) return Bad(absl::StrCat("step ", index, ": wait_ms"));
      absl::SleepFor(absl::Milliseconds(args.get<int64_t>()));
      continue;
    }
    Json body = args.is_null() ? Json::object() : args;
    if (command == "hangup" && body.contains("call")) {
      auto it = names.find(body.value("call", ""));
      if (it == names.end()) return Bad(absl::StrCat("step ", index, ": unknown call name"));
      body["call_id"] = it->second;
    }
    absl::StatusOr<std::string> out = sim.Control(command, body.dump());
    if (!out.ok()) return core::Annotate(out.status(), absl::StrCat("step ", index, " ", command));
    if (command == "call" && body.contains("as")) {
      names[body.value("as", "")] = Json::parse(*out).value("call_id", "");
    }
    if (report)
      report(Json{{"step", index}, {"command", command}, {"result", Json::parse(*out)}}.dump());
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadReport> RunLoad(Sim& sim, const LoadOptions& options) {
  if (options.calls_per_second <= 0) return Bad("calls_per_second must be > 0");
  if (options.phone_number_id.empty()) return Bad("a phone_number_id is needed");
  if (options.users < 1 || options.users > 1'000'000) return Bad("users must be 1..1000000");
  LoadReport r;
  absl::BitGen rng;
  absl::Time start = absl::Now();
  absl::Duration interval = absl::Seconds(1) / options.calls_per_second;
  for (int64_t i = 0;; ++i) {
    absl::Time at = start + interval * i;
    if (at - start >= options.duration) break;
    absl::SleepFor(at - absl::Now());
    std::string user =
        absl::StrCat(options.user_prefix, absl::StrFormat("%06d", i % options.users));
    if (options.messages_per_call > 0 && absl::Bernoulli(rng, options.messages_per_call)) {
      if (sim.SendUserMessage(options.phone_number_id, user, "Hello, please call me").ok()) {
        ++r.messages_sent;
      }
    }
    if (sim.PlaceUserCall(options.phone_number_id, user).ok()) {
      ++r.calls_placed;
    } else {
      ++r.calls_refused;
    }
  }
  r.elapsed = absl::Now() - start;
  return r;
}

}  // namespace switchboard::metasim

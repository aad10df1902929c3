// Scripted and load-generating drivers for a running Sim, used by the meta-sim binary (demo,
// load tests). A scenario is a JSON list of control commands run in order; the load mode
// places user-initiated calls at a steady rate.
//
//   RETURN_IF_ERROR(metasim::RunScenario(*sim, file_text, [](const std::string& line) {...}));
//   ASSIGN_OR_RETURN(metasim::LoadReport r, metasim::RunLoad(*sim, {.calls_per_second = 20}));
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/meta-sim/sim.h"

namespace switchboard::metasim {

// {"steps": [ {"<command>": {...}}, {"wait_ms": 500}, ... ]} (or the bare array). Commands
// are Sim::Control's; a "call" step may name its call ("as": "c1") for a later
// {"hangup": {"call": "c1"}}. Each step's answer is passed to `report` as one JSON line.
absl::Status RunScenario(Sim& sim, absl::string_view text,
                         const std::function<void(const std::string&)>& report = nullptr);

struct LoadOptions {
  std::string phone_number_id;  // empty: the sim's first number
  double calls_per_second = 1;
  absl::Duration duration = absl::Seconds(10);
  int users = 1000;                     // distinct callers, cycled
  std::string user_prefix = "4915550";  // callers are prefix + 6 digits
  double messages_per_call = 0;         // a text before some calls (0..1 = probability)
};

struct LoadReport {
  int64_t calls_placed = 0;
  int64_t calls_refused = 0;
  int64_t messages_sent = 0;
  absl::Duration elapsed;
};

absl::StatusOr<LoadReport> RunLoad(Sim& sim, const LoadOptions& options);

}  // namespace switchboard::metasim

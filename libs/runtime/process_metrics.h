// The process's own metrics, as Prometheus' client libraries name them: CPU seconds, resident
// and virtual memory, open and maximum file descriptors, threads, and the start time, read from
// /proc at each scrape. The parsing is pure and tested on its own.
//
//   exposer->RegisterCollectable(std::make_shared<runtime::ProcessMetrics>());
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace switchboard::runtime {

// What /proc/self/stat says, in the units the metrics use.
struct ProcessStat {
  double cpu_seconds = 0;     // utime + stime
  double start_seconds = 0;   // since boot
  double virtual_bytes = 0;   // vsize
  double resident_bytes = 0;  // rss pages × page size
  int64_t threads = 0;        // num_threads
};

// Parses /proc/self/stat (the command may contain spaces and parentheses). nullopt when the text
// is not a stat line. `ticks_per_second` and `page_bytes` come from sysconf.
std::optional<ProcessStat> ParseProcStat(absl::string_view text, double ticks_per_second,
                                         double page_bytes);

// The "btime" line of /proc/stat: boot time, seconds since the epoch.
std::optional<double> ParseBootTime(absl::string_view proc_stat);

// The soft "Max open files" of /proc/self/limits; nullopt when unlimited or absent.
std::optional<double> ParseMaxOpenFiles(absl::string_view limits);

class ProcessMetrics : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace switchboard::runtime

#include "libs/runtime/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace switchboard::runtime {
namespace {

std::string ReadAll(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int64_t CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

prometheus::MetricFamily Family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return {.name = name, .help = help, .type = type, .metric = {m}};
}

}  // namespace

std::optional<ProcessStat> ParseProcStat(absl::string_view text, double ticks_per_second,
                                         double page_bytes) {
  // "pid (comm) state ppid ...": the command ends at the last ')'.
  const size_t close = text.rfind(')');
  if (close == absl::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::vector<absl::string_view> f =
      absl::StrSplit(absl::StripAsciiWhitespace(text.substr(close + 1)), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state); field N is f[N - 3].
  auto field = [&](int n, double* out) {
    const size_t i = static_cast<size_t>(n - 3);
    return i < f.size() && absl::SimpleAtod(f[i], out);
  };
  double utime, stime, threads, start, vsize, rss;
  if (!field(14, &utime) || !field(15, &stime) || !field(20, &threads) || !field(22, &start) ||
      !field(23, &vsize) || !field(24, &rss)) {
    return std::nullopt;
  }
  return ProcessStat{.cpu_seconds = (utime + stime) / ticks_per_second,
                     .start_seconds = start / ticks_per_second,
                     .virtual_bytes = vsize,
                     .resident_bytes = rss * page_bytes,
                     .threads = static_cast<int64_t>(threads)};
}

std::optional<double> ParseBootTime(absl::string_view proc_stat) {
  for (absl::string_view line : absl::StrSplit(proc_stat, '\n')) {
    double t;
    if (absl::ConsumePrefix(&line, "btime ") && absl::SimpleAtod(line, &t)) return t;
  }
  return std::nullopt;
}

std::optional<double> ParseMaxOpenFiles(absl::string_view limits) {
  for (absl::string_view line : absl::StrSplit(limits, '\n')) {
    if (!absl::ConsumePrefix(&line, "Max open files")) continue;
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    double soft;
    if (!f.empty() && absl::SimpleAtod(f[0], &soft)) return soft;
    return std::nullopt;  // "unlimited"
  }
  return std::nullopt;
}

std::vector<prometheus::MetricFamily> ProcessMetrics::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  if (std::optional<ProcessStat> s = ParseProcStat(ReadAll("/proc/self/stat"), ticks, page)) {
    out.push_back(Family("process_cpu_seconds_total", "User and system CPU time spent, seconds.",
                         MetricType::Counter, s->cpu_seconds));
    out.push_back(Family("process_resident_memory_bytes", "Resident memory size, bytes.",
                         MetricType::Gauge, s->resident_bytes));
    out.push_back(Family("process_virtual_memory_bytes", "Virtual memory size, bytes.",
                         MetricType::Gauge, s->virtual_bytes));
    out.push_back(Family("process_threads", "Threads in the process.", MetricType::Gauge,
                         static_cast<double>(s->threads)));
    if (std::optional<double> boot = ParseBootTime(ReadAll("/proc/stat"))) {
      out.push_back(Family("process_start_time_seconds",
                           "Start time of the process since the epoch, seconds.", MetricType::Gauge,
                           *boot + s->start_seconds));
    }
  }
  if (const int64_t fds = CountOpenFds(); fds >= 0) {
    out.push_back(Family("process_open_fds", "Open file descriptors.", MetricType::Gauge,
                         static_cast<double>(fds)));
  }
  if (std::optional<double> max = ParseMaxOpenFiles(ReadAll("/proc/self/limits"))) {
    out.push_back(Family("process_max_fds", "Maximum open file descriptors (soft limit).",
                         MetricType::Gauge, *max));
  }
  return out;
}

}  // namespace switchboard::runtime

#include "libs/runtime/process_metrics.h"

#include <catch2/catch.hpp>

namespace runtime = switchboard::runtime;

TEST_CASE("process metrics: /proc/self/stat with a command that has spaces and parentheses") {
  // Fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime(14) stime(15) cutime cstime priority nice num_threads(20) itrealvalue
  // starttime(22) vsize(23) rss(24) ...
  const char* stat =
      "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 150 0 0 20 0 17 0 "
      "360000 1073741824 2560 18446744073709551615 1 1 0 0 0 0 0 4096 17 0 0 0 0 0 0\n";
  std::optional<runtime::ProcessStat> s = runtime::ParseProcStat(stat, 100, 4096);
  REQUIRE(s.has_value());
  CHECK(s->cpu_seconds == Approx(4.0));  // (250 + 150) ticks at 100 Hz
  CHECK(s->threads == 17);
  CHECK(s->start_seconds == Approx(3600.0));
  CHECK(s->virtual_bytes == Approx(1073741824.0));
  CHECK(s->resident_bytes == Approx(2560.0 * 4096));
  CHECK_FALSE(runtime::ParseProcStat("not a stat line", 100, 4096).has_value());
  CHECK_FALSE(runtime::ParseProcStat("1 (x) S 1 2 3", 100, 4096).has_value());  // too short
}

TEST_CASE("process metrics: boot time and the open-files limit") {
  CHECK(runtime::ParseBootTime("cpu  1 2 3\nbtime 1764979200\nprocesses 9\n") ==
        Approx(1764979200.0));
  CHECK_FALSE(runtime::ParseBootTime("cpu 1 2 3\n").has_value());
  const char* limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max cpu time              unlimited            unlimited            seconds   \n"
      "Max open files            1048576              1048576              files     \n";
  CHECK(runtime::ParseMaxOpenFiles(limits) == Approx(1048576.0));
  CHECK_FALSE(
      runtime::ParseMaxOpenFiles("Max open files  unlimited  unlimited  files\n").has_value());
}

TEST_CASE("process metrics: this process, as a scrape sees it") {
  runtime::ProcessMetrics metrics;
  std::map<std::string, double> values;
  for (const prometheus::MetricFamily& f : metrics.Collect()) {
    REQUIRE(f.metric.size() == 1);
    values[f.name] = f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value
                                                               : f.metric[0].gauge.value;
  }
  CHECK(values["process_resident_memory_bytes"] > 1e6);
  CHECK(values["process_virtual_memory_bytes"] >= values["process_resident_memory_bytes"]);
  CHECK(values["process_threads"] >= 1);
  CHECK(values["process_open_fds"] >= 3);  // at least stdin, stdout, stderr
  CHECK(values["process_max_fds"] >= values["process_open_fds"]);
  CHECK(values["process_cpu_seconds_total"] >= 0);
  CHECK(values["process_start_time_seconds"] > 1.7e9);  // after 2023
}

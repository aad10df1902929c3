#include "libs/core/log.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/core/trace.h"

namespace switchboard::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_fd{STDERR_FILENO};
std::vector<std::pair<std::string, std::string>>& StaticFields() {
  static auto* fields = new std::vector<std::pair<std::string, std::string>>();
  return *fields;
}

constexpr absl::string_view kLevelNames[] = {"debug", "info", "warning", "error"};

}  // namespace

void SetLevel(Level level) { g_level.store(static_cast<int>(level)); }
bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }
void SetOutputFd(int fd) { g_fd.store(fd); }
void SetStaticField(std::string key, std::string value) {
  StaticFields().emplace_back(std::move(key), std::move(value));
}

bool ParseLevel(absl::string_view text, Level* level) {
  if (text == "debug")
    *level = Level::kDebug;
  else if (text == "info")
    *level = Level::kInfo;
  else if (text == "warning" || text == "warn")
    *level = Level::kWarning;
  else if (text == "error")
    *level = Level::kError;
  else
    return false;
  return true;
}

namespace {

// The characters JSON escapes as a backslash and one more character.
constexpr std::pair<unsigned char, absl::string_view> kShortEscapes[] = {
    {'"', "\\\""}, {'\\', "\\\\"}, {'\n', "\\n"}, {'\r', "\\r"}, {'\t', "\\t"}};

}  // namespace

void AppendJsonString(std::string& out, absl::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : text) {
    const auto* escape = std::find_if(std::begin(kShortEscapes), std::end(kShortEscapes),
                                      [c](const auto& e) { return e.first == c; });
    if (escape != std::end(kShortEscapes)) {
      out.append(escape->second.data(), escape->second.size());
    } else if (c < 0x20 || c == 0x7f) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void Write(Level level, absl::string_view message, Fields fields) {
  if (!Enabled(level)) return;
  std::string line;
  line.reserve(160);
  line.append("{\"ts\":\"");
  line.append(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()));
  line.append("\",\"level\":\"");
  line.append(kLevelNames[static_cast<int>(level)].data(),
              kLevelNames[static_cast<int>(level)].size());
  line.append("\",\"msg\":");
  AppendJsonString(line, message);
  for (const auto& [key, value] : StaticFields()) {
    line.push_back(',');
    AppendJsonString(line, key);
    line.push_back(':');
    AppendJsonString(line, value);
  }
  if (const core::TraceContext* trace = core::CurrentTrace()) {
    line.append(",\"trace_id\":\"");
    line.append(trace->trace_id);
    line.append("\",\"span_id\":\"");
    line.append(trace->span_id);
    line.push_back('"');
  }
  for (const Field& f : fields) {
    line.push_back(',');
    AppendJsonString(line, f.key);
    line.push_back(':');
    std::visit(
        [&line](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, absl::string_view>) {
            AppendJsonString(line, v);
          } else if constexpr (std::is_same_v<T, bool>) {
            line.append(v ? "true" : "false");
          } else if constexpr (std::is_same_v<T, double>) {
            if (std::isfinite(v))
              absl::StrAppend(&line, v);
            else
              line.append("null");
          } else {
            absl::StrAppend(&line, v);
          }
        },
        f.value);
  }
  line.append("}\n");
  // One write per line: lines from different threads never interleave within a line.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(g_fd.load(), p, left);
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace switchboard::log

// Structured logs: one JSON object per line on stderr, with a timestamp, level, message, the
// static fields (service, target), the thread's current trace (trace_id, span_id: trace.h) and
// typed fields. Never log secrets or message bodies.
//
//   log::Info("kafka bootstrap ready", {{"bootstrap", addr}, {"topics", 6}});
//   log::Error("outbox publish failed", {{"error", status.ToString()}});
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"

namespace switchboard::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

struct Field {
  using Value = std::variant<absl::string_view, int64_t, double, bool>;
  Field(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  Field(absl::string_view k, const std::string& v) : key(k), value(absl::string_view(v)) {}
  Field(absl::string_view k, const char* v) : key(k), value(absl::string_view(v)) {}
  Field(absl::string_view k, bool v) : key(k), value(v) {}
  Field(absl::string_view k, double v) : key(k), value(v) {}
  template <typename Int, typename = std::enable_if_t<std::is_integral_v<Int>>>
  Field(absl::string_view k, Int v) : key(k), value(static_cast<int64_t>(v)) {}

  absl::string_view key;
  Value value;
};

using Fields = std::initializer_list<Field>;

void SetLevel(Level level);
bool Enabled(Level level);
// Parses "debug", "info", "warning"/"warn", "error".
bool ParseLevel(absl::string_view text, Level* level);

// Lines go to this fd (stderr by default); tests point it at a pipe.
void SetOutputFd(int fd);
// Fields added to every line (e.g. {"service","switchboard"}). Call before threads start.
void SetStaticField(std::string key, std::string value);

void Write(Level level, absl::string_view message, Fields fields = {});
inline void Debug(absl::string_view m, Fields f = {}) { Write(Level::kDebug, m, f); }
inline void Info(absl::string_view m, Fields f = {}) { Write(Level::kInfo, m, f); }
inline void Warning(absl::string_view m, Fields f = {}) { Write(Level::kWarning, m, f); }
inline void Error(absl::string_view m, Fields f = {}) { Write(Level::kError, m, f); }

// Appends `text` to `out` as a JSON string literal (with quotes), escaping as RFC 8259 says.
void AppendJsonString(std::string& out, absl::string_view text);

}  // namespace switchboard::log

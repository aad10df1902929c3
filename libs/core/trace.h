// W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace a piece of work belongs
// to, taken from a `traceparent` header (gRPC metadata, HTTP, the CloudEvents distributed
// tracing extension on Kafka records), made current on the thread doing the work, logged on
// every line (log.h adds "trace_id"), and passed on to what that work calls or publishes.
//
//   core::TraceScope scope(core::ContinueTrace(metadata_traceparent));   // or a new trace
//   log::Info("call answered");            // ... "trace_id":"4bf92f35..."
//   client.AddMetadata("traceparent", core::CurrentTraceparent());
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace switchboard::core {

struct TraceContext {
  std::string trace_id;  // 32 lower-case hex digits, not all zero
  std::string span_id;   // 16 lower-case hex digits, not all zero: the caller's span
  uint8_t flags = 0;     // bit 0: sampled
};

// A `traceparent` value: version 00 exactly as the standard writes it; a higher version is read
// by its first four fields (as the standard asks). nullopt for anything else.
std::optional<TraceContext> ParseTraceparent(absl::string_view header);
// "00-<trace_id>-<span_id>-<flags>".
std::string FormatTraceparent(const TraceContext& trace);

// The work's own span in the trace `header` names (a new span id, the same trace id and
// flags), or a new trace when the header is absent or malformed.
TraceContext ContinueTrace(absl::string_view header);

// Makes `trace` current on this thread until the scope ends (scopes nest).
class TraceScope {
 public:
  explicit TraceScope(TraceContext trace);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  TraceContext trace_;
  const TraceContext* previous_;
};

// This thread's current trace, or null.
const TraceContext* CurrentTrace();
// FormatTraceparent of the current trace, or "" when there is none.
std::string CurrentTraceparent();

}  // namespace switchboard::core

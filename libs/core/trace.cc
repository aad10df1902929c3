#include "libs/core/trace.h"

#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace switchboard::core {
namespace {

thread_local const TraceContext* g_current = nullptr;

bool IsHex(absl::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) return false;
  }
  return true;
}

bool AllZero(absl::string_view s) { return s.find_first_not_of('0') == absl::string_view::npos; }

std::string RandomHex(size_t length) {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local absl::BitGen gen;
  std::string out(length, '0');
  do {
    for (char& c : out) c = kHex[absl::Uniform(gen, 0, 16)];
  } while (AllZero(out));
  return out;
}

}  // namespace

std::optional<TraceContext> ParseTraceparent(absl::string_view header) {
  std::vector<absl::string_view> parts = absl::StrSplit(header, '-');
  if (parts.size() < 4 || !IsHex(parts[0], 2) || parts[0] == "ff") return std::nullopt;
  // Version 00 has exactly four fields; a later version may add more after them.
  if (parts[0] == "00" && parts.size() != 4) return std::nullopt;
  if (!IsHex(parts[1], 32) || AllZero(parts[1]) || !IsHex(parts[2], 16) || AllZero(parts[2]) ||
      !IsHex(parts[3], 2)) {
    return std::nullopt;
  }
  TraceContext trace{std::string(parts[1]), std::string(parts[2]), 0};
  int flags = 0;
  for (char c : parts[3]) flags = flags * 16 + (absl::ascii_isdigit(c) ? c - '0' : c - 'a' + 10);
  trace.flags = static_cast<uint8_t>(flags);
  return trace;
}

std::string FormatTraceparent(const TraceContext& trace) {
  static constexpr char kHex[] = "0123456789abcdef";
  return absl::StrCat("00-", trace.trace_id, "-", trace.span_id, "-",
                      std::string{kHex[trace.flags >> 4], kHex[trace.flags & 0xf]});
}

TraceContext ContinueTrace(absl::string_view header) {
  std::optional<TraceContext> parent = ParseTraceparent(header);
  if (!parent.has_value()) return TraceContext{RandomHex(32), RandomHex(16), 0};
  return TraceContext{std::move(parent->trace_id), RandomHex(16), parent->flags};
}

TraceScope::TraceScope(TraceContext trace) : trace_(std::move(trace)), previous_(g_current) {
  g_current = &trace_;
}

TraceScope::~TraceScope() { g_current = previous_; }

const TraceContext* CurrentTrace() { return g_current; }

std::string CurrentTraceparent() {
  return g_current == nullptr ? std::string() : FormatTraceparent(*g_current);
}

}  // namespace switchboard::core

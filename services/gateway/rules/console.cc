#include "services/gateway/rules/console.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace switchboard::gateway::rules {

std::string ConsoleFile(absl::string_view path) {
  if (path == kConsolePath) return "index.html";
  if (!absl::ConsumePrefix(&path, kConsolePath) || !absl::ConsumePrefix(&path, "/")) return "";
  if (path.empty()) return "index.html";
  std::vector<absl::string_view> segments = absl::StrSplit(path, '/');
  for (absl::string_view s : segments) {
    if (s.empty() || s == "." || s == "..") return "";
    for (char c : s) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.') return "";
    }
  }
  // A screen of the app (/console/calls) has no extension; a file has one.
  if (!absl::StrContains(segments.back(), '.')) return "index.html";
  return std::string(path);
}

std::string CacheControlOf(absl::string_view file) {
  return absl::StartsWith(file, "assets/") ? "public, max-age=31536000, immutable" : "no-cache";
}

std::string ContentTypeOf(absl::string_view file) {
  const size_t dot = file.rfind('.');
  const std::string ext =
      dot == absl::string_view::npos ? "" : absl::AsciiStrToLower(file.substr(dot + 1));
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace switchboard::gateway::rules

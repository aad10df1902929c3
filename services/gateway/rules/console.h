// The console's static files (services/gateway/console/, embedded in the binary): which file a
// GET under /console serves, and its content type. Pure.
//
//   "/console", "/console/", "/console/calls"  -> "index.html" (the app routes the rest itself)
//   "/console/app.js"                          -> "app.js"
//   "/console/../x", "/console/a//b"           -> "" (refused: 404)
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace switchboard::gateway::rules {

inline constexpr char kConsolePath[] = "/console";

// The embedded file `path` names: a path whose last segment has an extension is that file; any
// other path under /console is one of the app's screens, served by index.html. "" when the
// path is not under /console or is not a clean relative path.
std::string ConsoleFile(absl::string_view path);

// "text/html; charset=utf-8" for .html, and so on; application/octet-stream when unknown.
std::string ContentTypeOf(absl::string_view file);

}  // namespace switchboard::gateway::rules

// The console's static files (services/gateway/console/, embedded in the binary): which file a
// GET under /console serves, and its content type. Pure.
//
//   "/console", "/console/", "/console/calls"  -> "index.html" (the app routes the rest itself)
//   "/console/assets/app-3QX7.js"              -> "assets/app-3QX7.js"
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

// How long browsers keep a file: the bundle's content-hashed files under assets/ for a year,
// unchanged ("public, max-age=31536000, immutable"); index.html and the rest are revalidated
// each time ("no-cache", answered 304 by ETag), so a new binary's console is picked up at once.
std::string CacheControlOf(absl::string_view file);

// "text/html; charset=utf-8" for .html, and so on; application/octet-stream when unknown.
std::string ContentTypeOf(absl::string_view file);

}  // namespace switchboard::gateway::rules

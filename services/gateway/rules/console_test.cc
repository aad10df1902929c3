#include "services/gateway/rules/console.h"

#include <catch2/catch.hpp>

namespace rules = switchboard::gateway::rules;

TEST_CASE("console paths: files by name, the app's screens by index.html, nothing else") {
  CHECK(rules::ConsoleFile("/console") == "index.html");
  CHECK(rules::ConsoleFile("/console/") == "index.html");
  CHECK(rules::ConsoleFile("/console/calls") == "index.html");
  CHECK(rules::ConsoleFile("/console/billing/usage") == "index.html");
  CHECK(rules::ConsoleFile("/console/app.js") == "app.js");
  CHECK(rules::ConsoleFile("/console/lib/api.js") == "lib/api.js");
  // Not under /console, or not a clean relative path.
  CHECK(rules::ConsoleFile("/consoles/app.js").empty());
  CHECK(rules::ConsoleFile("/").empty());
  CHECK(rules::ConsoleFile("/console/../etc/passwd").empty());
  CHECK(rules::ConsoleFile("/console/./app.js").empty());
  CHECK(rules::ConsoleFile("/console/a//b.js").empty());
  CHECK(rules::ConsoleFile("/console/app.js/").empty());
  CHECK(rules::ConsoleFile("/console/%2e%2e/x").empty());
  CHECK(rules::ConsoleFile("/console/a b.js").empty());
}

TEST_CASE("cache: the bundle's hashed files for a year, the rest revalidated") {
  CHECK(rules::CacheControlOf("assets/app-3QX7ABCD.js") == "public, max-age=31536000, immutable");
  CHECK(rules::CacheControlOf("assets/app-3QX7ABCD.css") == "public, max-age=31536000, immutable");
  CHECK(rules::CacheControlOf("index.html") == "no-cache");
  CHECK(rules::CacheControlOf("assetsx/app.js") == "no-cache");
}

TEST_CASE("content types by extension") {
  CHECK(rules::ContentTypeOf("index.html") == "text/html; charset=utf-8");
  CHECK(rules::ContentTypeOf("app.js") == "text/javascript; charset=utf-8");
  CHECK(rules::ContentTypeOf("STYLE.CSS") == "text/css; charset=utf-8");
  CHECK(rules::ContentTypeOf("icon.svg") == "image/svg+xml");
  CHECK(rules::ContentTypeOf("blob") == "application/octet-stream");
  CHECK(rules::ContentTypeOf("x.exe") == "application/octet-stream");
}

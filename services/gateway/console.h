// The console: the reference web client for agents and supervisors (services/gateway/console/,
// TypeScript bundled by esbuild at build time and embedded in the binary), served under /console
// by the gateway and using nothing but the gateway's public JSON API and event stream. ADR 0020.
//
// The dev sign-in (`POST /v1/dev/token`) exists only with --gateway-dev-sign-in=on: it signs a
// token for any tenant, agent and roles with the suite's secret, for the demo and local use. Off
// by default and in the chart; production hosts take the token from their own sign-in.
#pragma once

#include <string>
#include <vector>

#include "libs/core/clock.h"
#include "libs/core/embedded_file.h"
#include "libs/http/server.h"

namespace switchboard::gateway {

inline constexpr char kDevTokenPath[] = "/v1/dev/token";

// The console's files (console/build.mjs's output, embedded by switchboard_embed_files).
const std::vector<EmbeddedFile>& ConsoleFiles();

class Console {
 public:
  Console(const std::vector<EmbeddedFile>& files, std::string auth_secret,
          const core::Clock& clock);

  // GET or HEAD under /console: the file, or index.html for the app's screens; 404 otherwise.
  // Each file has a strong ETag (its SHA-256): If-None-Match with it is answered 304.
  http::Response Serve(const http::Request& request) const;
  // POST /v1/dev/token {"tenant": "acme", "subject": "agent-1", "roles": ["agent"]}:
  // {"token": "...", "expireTime": "..."} valid 8 hours. INVALID_ARGUMENT INVALID_JSON,
  // INVALID_TENANT, INVALID_ID, INVALID_ROLE.
  http::Response DevToken(const http::Request& request) const;

  static constexpr absl::Duration kDevTokenLifetime = absl::Hours(8);

 private:
  const std::vector<EmbeddedFile>& files_;
  std::vector<std::string> etags_;  // of files_, in order
  std::string auth_secret_;
  const core::Clock& clock_;
};

}  // namespace switchboard::gateway

// A small blocking HTTP client over libcurl for the Graph API client, the Meta simulator's
// webhook sender and tests. Thread-safe; connections are kept alive and reused (a pool of curl
// handles, each with its own connection cache).
//
//   http::Client client;
//   ASSIGN_OR_RETURN(http::ClientResponse r,
//                    client.Send({.method = "POST", .url = url, .body = json,
//                                 .headers = {{"Content-Type", "application/json"}}}));
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace switchboard::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration connect_timeout = absl::Seconds(2);
};

struct ClientResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  // First header with this (lower-case) name, or "".
  std::string Header(const std::string& lower_name) const;
};

class Client {
 public:
  Client();
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Any HTTP status is a successful exchange. Transport failures: UNAVAILABLE with reason
  // HTTP_CONNECT_FAILED when nothing was sent (refused, unresolvable: safe to retry anything),
  // else UNAVAILABLE or DEADLINE_EXCEEDED with reason HTTP_TRANSPORT (the server may have
  // received the request).
  absl::StatusOr<ClientResponse> Send(const ClientRequest& request);

 private:
  void* Acquire();
  void Release(void* handle);

  std::mutex mu_;
  std::vector<void*> idle_;
};

}  // namespace switchboard::http

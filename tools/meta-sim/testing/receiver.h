// A webhook receiver for tests: an http::Server on port 0 that records every POST, checks
// its X-Hub-Signature-256, and can answer non-200 or hold requests on demand.
//
//   metasim::testing::Receiver rx("app-secret");
//   ... sim->Start({.numbers = {{..., .callback_url = rx.url()}}});
//   REQUIRE(testing::Eventually([&] { return rx.Changes().size() == 2; }));
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/http/server.h"
#include "libs/whatsapp/signature.h"

namespace switchboard::metasim::testing {

// Polls `done` until it holds or `timeout` passes.
inline bool Eventually(const std::function<bool()>& done,
                       absl::Duration timeout = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

class Receiver {
 public:
  struct Post {
    std::string body;
    nlohmann::json json;
    bool signature_ok = false;
    std::string content_type;
  };

  explicit Receiver(std::string app_secret) : app_secret_(std::move(app_secret)) {
    auto server =
        http::Server::Start({.host = "127.0.0.1", .threads = 8},
                            {{"/webhooks", [this](const http::Request& r) { return Handle(r); }}});
    if (server.ok()) server_ = std::move(*server);
  }

  bool ok() const { return server_ != nullptr; }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/webhooks";
  }

  // Forgets what was received and every fault.
  void Reset() {
    absl::MutexLock lock(&mu_);
    posts_.clear();
    accepted_.clear();
    fail_next_ = 0;
    hold_ = false;
  }

  // The next `n` POSTs are answered `status` (and still recorded).
  void FailNext(int n, int status = 500) {
    absl::MutexLock lock(&mu_);
    fail_next_ = n;
    fail_status_ = status;
  }
  // POSTs wait (up to 10 s) until Release().
  void Hold() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    hold_ = false;
  }
  int Waiting() const {
    absl::MutexLock lock(&mu_);
    return waiting_;
  }

  std::vector<Post> Posts() const {
    absl::MutexLock lock(&mu_);
    return posts_;
  }
  // Every change of every POST answered 200, in arrival order.
  std::vector<nlohmann::json> Changes() const {
    absl::MutexLock lock(&mu_);
    std::vector<nlohmann::json> out;
    for (size_t i = 0; i < posts_.size(); ++i) {
      if (!accepted_[i]) continue;
      for (const auto& entry : posts_[i].json["entry"]) {
        for (const auto& change : entry["changes"]) out.push_back(change);
      }
    }
    return out;
  }

 private:
  http::Response Handle(const http::Request& r) {
    Post post{.body = r.body(),
              .json = nlohmann::json::parse(r.body(), nullptr, false),
              .signature_ok = whatsapp::VerifySignature(
                  app_secret_, r.body(), r.Header(whatsapp::kSignatureHeader).value_or("")),
              .content_type = r.Header("content-type").value_or("")};
    absl::MutexLock lock(&mu_);
    ++waiting_;
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](bool* hold) { return !*hold; }, &hold_),
                         absl::Seconds(10));
    --waiting_;
    posts_.push_back(std::move(post));
    bool fail = fail_next_ > 0;
    if (fail) --fail_next_;
    accepted_.push_back(!fail);
    return http::Response::Text(fail ? fail_status_ : 200, fail ? "nope" : "");
  }

  std::string app_secret_;
  mutable absl::Mutex mu_;
  std::vector<Post> posts_;
  std::vector<bool> accepted_;
  int fail_next_ = 0;
  int fail_status_ = 500;
  bool hold_ = false;
  int waiting_ = 0;
  std::unique_ptr<http::Server> server_;  // last: stopped first, while the rest still lives
};

}  // namespace switchboard::metasim::testing

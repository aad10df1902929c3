// A Graph for unit tests of handlers: records every request in order and answers each action
// with what the test queued for it (by default: success, and call/message ids "wacid.fake.N" /
// "wamid.fake.N"). Thread-safe.
//
//   whatsapp::testing::FakeGraph graph;
//   graph.Fail("connect", core::Error(absl::StatusCode::kFailedPrecondition, "META_138006", ...));
//   ... handler under test ...
//   CHECK(graph.Requests("connect") == 1);
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/whatsapp/graph_client.h"

namespace switchboard::whatsapp::testing {

struct GraphRequest {
  std::string action;  // connect, pre_accept, accept, reject, terminate, text, template, ...
  std::string phone_number_id;
  std::string target;  // the call id, or the recipient
  std::string detail;  // the SDP, message body or biz_opaque_callback_data
};

// Records the request; a queued failure for its action is returned at once.
#define RETURN_IF_FAILS(action, number, target, detail)              \
  do {                                                               \
    absl::Status recorded_ = Record(action, number, target, detail); \
    if (!recorded_.ok()) return recorded_;                           \
  } while (0)

class FakeGraph final : public Graph {
 public:
  // The next request of `action` fails with `status` (queued: several calls, several failures).
  void Fail(const std::string& action, absl::Status status) {
    absl::MutexLock lock(&mu_);
    failures_[action].push_back(std::move(status));
  }
  int Requests(const std::string& action) const {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (const auto& r : requests_) n += r.action == action;
    return n;
  }
  std::vector<GraphRequest> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

  absl::StatusOr<std::string> Connect(absl::string_view number, const ConnectRequest& r) override {
    RETURN_IF_FAILS("connect", number, r.to, r.biz_opaque_callback_data);
    return absl::StrCat("wacid.fake.", ++ids_);
  }
  absl::Status PreAccept(absl::string_view number, absl::string_view call,
                         absl::string_view sdp) override {
    return Record("pre_accept", number, call, sdp);
  }
  absl::Status Accept(absl::string_view number, absl::string_view call,
                      absl::string_view sdp) override {
    return Record("accept", number, call, sdp);
  }
  absl::Status Reject(absl::string_view number, absl::string_view call) override {
    return Record("reject", number, call, "");
  }
  absl::Status Terminate(absl::string_view number, absl::string_view call) override {
    return Record("terminate", number, call, "");
  }
  absl::StatusOr<std::string> SendText(absl::string_view number, absl::string_view to,
                                       absl::string_view body) override {
    RETURN_IF_FAILS("text", number, to, body);
    return absl::StrCat("wamid.fake.", ++ids_);
  }
  absl::StatusOr<std::string> SendTemplate(absl::string_view number, absl::string_view to,
                                           const TemplateMessage& m) override {
    RETURN_IF_FAILS("template", number, to, m.name);
    return absl::StrCat("wamid.fake.", ++ids_);
  }
  absl::StatusOr<std::string> SendCallPermissionRequest(absl::string_view number,
                                                        absl::string_view to,
                                                        absl::string_view body) override {
    RETURN_IF_FAILS("call_permission_request", number, to, body);
    return absl::StrCat("wamid.fake.", ++ids_);
  }
  absl::StatusOr<CallPermissions> GetCallPermissions(absl::string_view number,
                                                     absl::string_view user) override {
    RETURN_IF_FAILS("call_permissions", number, user, "");
    return CallPermissions{};
  }
  absl::Status UpdateSettings(absl::string_view number, const CallingSettings&) override {
    return Record("settings", number, "", "");
  }

 private:
  absl::Status Record(const std::string& action, absl::string_view number, absl::string_view target,
                      absl::string_view detail) {
    absl::MutexLock lock(&mu_);
    requests_.push_back({action, std::string(number), std::string(target), std::string(detail)});
    auto it = failures_.find(action);
    if (it == failures_.end() || it->second.empty()) return absl::OkStatus();
    absl::Status s = std::move(it->second.front());
    it->second.pop_front();
    return s;
  }

  mutable absl::Mutex mu_;
  std::vector<GraphRequest> requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::deque<absl::Status>> failures_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> ids_{0};
};

#undef RETURN_IF_FAILS

}  // namespace switchboard::whatsapp::testing

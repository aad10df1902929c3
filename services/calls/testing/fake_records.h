// In-memory CallRecords for unit tests of the commands: the real lifecycle (rules/) applied to
// calls kept in a map, and request keys with the same repeat and reuse rules as the journal.
// Thread-safe.
//
//   calls::testing::FakeRecords records;
//   records.Put(inbound_call);
//   Commands commands(records, graph, reserver, clock);
#pragma once

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "services/calls/journal.h"

namespace switchboard::calls::testing {

class FakeRecords final : public CallRecords {
 public:
  void Put(const v1::Call& call) {
    absl::MutexLock lock(&mu_);
    calls_[Key(call.tenant_id(), call.call_id())] = call;
  }
  std::optional<v1::Call> Find(absl::string_view tenant, absl::string_view call_id) {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(Key(tenant, call_id));
    if (it == calls_.end()) return std::nullopt;
    return it->second;
  }
  int size() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(calls_.size());
  }
  std::string RejectReason(absl::string_view tenant, absl::string_view call_id) {
    absl::MutexLock lock(&mu_);
    return reasons_[Key(tenant, call_id)];
  }

  absl::StatusOr<std::optional<v1::Call>> Get(absl::string_view tenant,
                                              absl::string_view call_id) override {
    return Find(tenant, call_id);
  }
  absl::StatusOr<std::optional<v1::Call>> Placed(const pg::RequestKey& key) override {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(std::optional<std::string> id, Earlier(key));
    if (!id.has_value()) return std::optional<v1::Call>();
    return std::optional<v1::Call>(calls_[Key(key.tenant, *id)]);
  }
  absl::Status Create(v1::Call& call, const Cause&, const pg::RequestKey& key) override {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(std::optional<std::string> earlier, Earlier(key));
    if (earlier.has_value()) {
      return core::Error(absl::StatusCode::kAlreadyExists, "CALL_ALREADY_PLACED", "placed");
    }
    call.set_sequence(call.sequence() + 1);
    calls_[Key(call.tenant_id(), call.call_id())] = call;
    Remember(key, call.call_id());
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<v1::Call>> Begin(const pg::RequestKey& key) override {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, Earlier(key));
    if (bytes.has_value()) {
      v1::Call call;
      call.ParseFromString(*bytes);
      return std::optional<v1::Call>(call);
    }
    if (!key.request_id.empty() && !claimed_.insert(Key(key.tenant, key.request_id)).second) {
      return core::Error(absl::StatusCode::kAborted, api::kRequestInProgress, "in progress");
    }
    return std::optional<v1::Call>();
  }
  void Abandon(const pg::RequestKey& key) override {
    absl::MutexLock lock(&mu_);
    claimed_.erase(Key(key.tenant, key.request_id));
  }
  absl::StatusOr<v1::Call> Record(absl::string_view tenant, absl::string_view call_id,
                                  const Event& event, const Cause&, const pg::RequestKey& key,
                                  absl::string_view reject_reason) override {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(Key(tenant, call_id));
    if (it == calls_.end()) return api::NotFound("call");
    v1::Call call = it->second;
    ASSIGN_OR_RETURN(Transition t, Apply(call, event));
    if (t.publish) call.set_sequence(call.sequence() + 1);
    it->second = call;
    if (!reject_reason.empty()) reasons_[Key(tenant, call_id)] = std::string(reject_reason);
    Remember(key, call.SerializeAsString());
    return call;
  }
  absl::StatusOr<v1::Call> AttachMetaId(absl::string_view tenant, absl::string_view call_id,
                                        absl::string_view meta_call_id, const Cause&) override {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(Key(tenant, call_id));
    if (it == calls_.end()) return api::NotFound("call");
    if (it->second.meta_call_id().empty()) it->second.set_meta_call_id(std::string(meta_call_id));
    return it->second;
  }

 private:
  struct Remembered {
    std::string method;
    std::string fingerprint;
    std::string response;
  };
  static std::string Key(absl::string_view tenant, absl::string_view id) {
    return absl::StrCat(tenant, "|", id);
  }
  absl::StatusOr<std::optional<std::string>> Earlier(const pg::RequestKey& key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (key.request_id.empty()) return std::optional<std::string>();
    auto it = keys_.find(Key(key.tenant, key.request_id));
    if (it == keys_.end()) return std::optional<std::string>();
    if (it->second.method != key.method || it->second.fingerprint != key.fingerprint) {
      return core::InvalidArgument(api::kRequestIdReused, "reused");
    }
    return std::optional<std::string>(it->second.response);
  }
  void Remember(const pg::RequestKey& key, std::string response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (key.request_id.empty()) return;
    claimed_.erase(Key(key.tenant, key.request_id));
    keys_.try_emplace(Key(key.tenant, key.request_id),
                      Remembered{key.method, key.fingerprint, std::move(response)});
  }

  absl::Mutex mu_;
  std::map<std::string, v1::Call> calls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Remembered> keys_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> reasons_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> claimed_ ABSL_GUARDED_BY(mu_);  // requests in progress
};

}  // namespace switchboard::calls::testing

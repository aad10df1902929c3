// Routing's ClaimCall in memory, for unit tests of AnswerCall: the first agent to claim a call
// wins it, and every later claim is told who did. Thread-safe.
//
//   calls::testing::FakeClaimer routing;
//   Commands commands(records, graph, reserver, routing, numbers, clock);
#pragma once

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "services/calls/commands.h"

namespace switchboard::calls::testing {

class FakeClaimer final : public Claimer {
 public:
  absl::StatusOr<routing::v1::ClaimCallResponse> Claim(
      const grpc::ServerContextBase*, const routing::v1::ClaimCallRequest& req) override {
    absl::MutexLock lock(&mu_);
    ++claims_;
    if (!refusal_.ok()) return refusal_;
    std::string& winner = winners_[req.call_id()];
    if (winner.empty()) winner = req.agent_id();
    routing::v1::ClaimCallResponse resp;
    resp.set_won(winner == req.agent_id());
    resp.set_winner_agent_id(winner);
    return resp;
  }
  // Every claim from now on gets `status` (routing's OFFER_CLOSED, AGENT_NOT_OFFERED, ...).
  void RefuseWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    refusal_ = std::move(status);
  }
  int claims() {
    absl::MutexLock lock(&mu_);
    return claims_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> winners_ ABSL_GUARDED_BY(mu_);
  absl::Status refusal_ ABSL_GUARDED_BY(mu_);
  int claims_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace switchboard::calls::testing

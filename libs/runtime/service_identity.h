// A service calling another target for work no request started (a Kafka consumer, a timer):
// there is no caller's token to forward, so the service signs its own, for one tenant, with the
// subject "service:<name>" and the single role "service". Only methods whose proto admits the
// role "service" accept it (a read a consumer needs, such as WebhooksService.GetPhoneNumber).
// The tenant is still the one the work is about, so the callee scopes its answer as always.
//
//   ServiceIdentity me(ctx.config().auth_secret, "routing", ctx.clock());
//   grpc::ClientContext client;
//   RETURN_IF_ERROR(me.Prepare(&client, tenant, absl::Seconds(2)));
//   stub->GetPhoneNumber(&client, req, &resp);
#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "libs/core/clock.h"

namespace switchboard::runtime {

class ServiceIdentity {
 public:
  ServiceIdentity(std::string secret, std::string service, const core::Clock& clock);

  // Adds a bearer token for `tenant` and a deadline `timeout` from now to `client`.
  absl::Status Prepare(grpc::ClientContext* client, absl::string_view tenant,
                       absl::Duration timeout);

  // Tokens live this long and are reused for half of it.
  static constexpr absl::Duration kTokenLifetime = absl::Minutes(10);

 private:
  struct Token {
    std::string text;
    absl::Time renew;
  };
  const std::string secret_;
  const std::string subject_;
  const core::Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Token> tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchboard::runtime

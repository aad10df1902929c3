// Whether a business number a request names is registered to the caller's tenant. The webhooks
// registry owns that fact; every other service asks it through its API
// (WebhooksService.GetPhoneNumber, with the caller's token, so the answer is the caller's
// tenant's) and remembers a yes for 30 s; a no is never remembered, so a number registered is
// usable at once (the registry answers from PostgreSQL), and one deleted stops working within
// 30 s. While the registry cannot be reached a remembered yes is served, however old; without
// one, UNAVAILABLE.
//
//   RETURN_IF_ERROR(numbers.Check(ctx, caller.tenant_id, req.business_phone_number_id()));
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "libs/core/clock.h"
#include "libs/runtime/peer.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"

namespace switchboard::runtime {

// The question, as handlers depend on it (a fake in unit tests).
class Numbers {
 public:
  virtual ~Numbers() = default;
  // OK when `number` is `tenant`'s; NOT_FOUND PHONE_NUMBER_NOT_FOUND when it is not (unknown
  // and another tenant's look the same); UNAVAILABLE when nobody can say. `incoming`: the
  // request whose token is passed on.
  virtual absl::Status Check(const grpc::ServerContextBase* incoming, absl::string_view tenant,
                             absl::string_view number) = 0;
  // The same from memory only: OK when a yes is remembered, else nullopt.
  virtual std::optional<absl::Status> Known(absl::string_view tenant, absl::string_view number) = 0;
};

class RegistryNumbers final : public Numbers {
 public:
  RegistryNumbers(std::shared_ptr<Peer<webhooks::v1::WebhooksService>> registry,
                  const core::Clock& clock);

  absl::Status Check(const grpc::ServerContextBase* incoming, absl::string_view tenant,
                     absl::string_view number) override;
  std::optional<absl::Status> Known(absl::string_view tenant, absl::string_view number) override;

  static constexpr absl::Duration kOwnedTtl = absl::Seconds(30);

 private:
  struct Entry {
    absl::Time expires;  // of the yes; kept past it for when the registry is unreachable
  };
  std::shared_ptr<Peer<webhooks::v1::WebhooksService>> registry_;
  const core::Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// NOT_FOUND PHONE_NUMBER_NOT_FOUND for `number`.
absl::Status NumberNotFound(absl::string_view number);

}  // namespace switchboard::runtime

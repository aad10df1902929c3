// What every feature shares: where a contact and a business number live (their Redis keys and
// their PostgreSQL row), the one way a contact's facts change (the durable store, then the
// cached copy dropped), and the count of writes that ends CheckEligibility's reuse of facts.
//
//   ASSIGN_OR_RETURN(Target t, contacts.ResolveOwned(ctx, tenant, req.contact(), number));
//   ASSIGN_OR_RETURN(store::ApplyResult r, contacts.Change(t, {.apply = ..., .action = ...}));
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "libs/runtime/numbers.h"
#include "services/eligibility/store/durable.h"
#include "services/eligibility/store/hot_state.h"
#include "switchboard/events/v1/envelope.pb.h"

namespace switchboard::eligibility {

// A contact of a business number: its keys in Redis and its row in PostgreSQL.
struct Target {
  store::NumberKeys keys;
  store::ContactRef contact;
};

class Contacts {
 public:
  // `numbers`: whether a number a request names is the caller's tenant's (the registry's fact).
  Contacts(store::HotState& hot, store::Durable& durable, runtime::Numbers& numbers);

  // The contact and number validated (INVALID_ARGUMENT otherwise) and turned into keys.
  absl::StatusOr<Target> Resolve(absl::string_view tenant, const events::v1::ContactRef& contact,
                                 absl::string_view business_number) const;
  // Resolve, for a request: the number must be the caller's tenant's (NOT_FOUND
  // PHONE_NUMBER_NOT_FOUND otherwise, and nothing changes).
  absl::StatusOr<Target> ResolveOwned(const grpc::ServerContextBase* ctx, absl::string_view tenant,
                                      const events::v1::ContactRef& contact,
                                      absl::string_view business_number);
  // For a request that names a number but no contact.
  runtime::Numbers& numbers() { return numbers_; }

  // Applies `change` to the contact's durable facts (audited, idempotent as store::Change says)
  // and drops the copy cached in Redis.
  absl::StatusOr<store::ApplyResult> Change(const Target& target, store::Change change);

  // After any write that can change facts (a contact's or its number's): facts cached before it
  // are not used (Checks).
  void Wrote() { generation_.fetch_add(1, std::memory_order_acq_rel); }
  // The writes so far; facts read at one generation are good only while it lasts.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  store::HotState& hot_;
  store::Durable& durable_;
  runtime::Numbers& numbers_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace switchboard::eligibility

// Idempotent mutating RPCs (DESIGN §5, Stripe's idempotency keys): the first result of a
// (tenant, request_id) is stored with the change it made, and a repeat of the same request gets
// that result back without changing anything again. The same request_id with another method or
// another body is a client bug: INVALID_ARGUMENT REQUEST_ID_REUSED, never a silent replay.
//
// The method is the request message's full name and the body its deterministic bytes with
// request_id cleared, both taken from the message itself (KeyOf), so no handler types them.
//
// A change made in one transaction uses Once():
//
//   return pg::Once(pool, caller.tenant_id, *req, resp, [&](pg::Conn& tx) -> absl::Status {
//     ... change, fill *resp ...
//   });
//
// A request that does work outside a transaction (a Graph API request) claims the key first,
// so a concurrent duplicate is told to retry (ABORTED REQUEST_IN_PROGRESS) instead of doing the
// work twice; the claim lapses after `lease` if the process dies holding it:
//
//   pg::RequestKey key = pg::KeyOf(tenant, *req);
//   ASSIGN_OR_RETURN(std::optional<std::string> earlier, pg::Idempotency::Claim(pool, key));
//   if (earlier) return pg::Restore(*earlier, resp);
//   absl::Status done = DoTheWork(resp);
//   if (!done.ok()) { pg::Idempotency::Release(pool, key); return done; }
//   return pool.InTransaction([&](pg::Conn& tx) { return Idempotency::Finish(tx, key, ...); });
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "libs/pg/pg.h"

namespace switchboard::pg {

struct RequestKey {
  std::string tenant;
  std::string request_id;   // empty: the request is not idempotent, nothing is stored
  std::string method;       // the request message's full name
  std::string fingerprint;  // SHA-256 of the request's deterministic bytes, request_id cleared
};

// `body` is the request with its request_id cleared.
RequestKey MakeKey(absl::string_view tenant, absl::string_view request_id,
                   const google::protobuf::Message& body);

template <typename Request>
RequestKey KeyOf(absl::string_view tenant, const Request& req) {
  Request body = req;
  body.clear_request_id();
  return MakeKey(tenant, req.request_id(), body);
}

// DATA_LOSS UNPARSABLE_RECORD when stored bytes do not parse as `out`.
absl::Status Restore(const std::string& bytes, google::protobuf::Message* out);

class Idempotency {
 public:
  static const char kSchemaSql[];

  // Inside the transaction that makes the change: the stored response of the same request, if
  // any. Concurrent requests with one key serialise on a transaction-scoped advisory lock, so
  // the second sees the first's result. REQUEST_ID_REUSED for another method or body.
  static absl::StatusOr<std::optional<std::string>> Find(Conn& tx, const RequestKey& key);
  // Stores `response` for the key (no-op for an empty request_id), in the change's transaction.
  static absl::Status Remember(Conn& tx, const RequestKey& key, std::string response);

  // Claims the key for work done outside a transaction: nullopt when the caller may go ahead
  // (the claim holds for `lease`), the stored response when the request was answered before,
  // ABORTED REQUEST_IN_PROGRESS while another claim holds, REQUEST_ID_REUSED as Find.
  static absl::StatusOr<std::optional<std::string>> Claim(Pool& pool, const RequestKey& key,
                                                          absl::Duration lease = absl::Seconds(60));
  // Stores the response of a claimed key (Remember, for a claimed key).
  static absl::Status Finish(Conn& tx, const RequestKey& key, std::string response);
  // Gives a claim up (the work failed and changed nothing); best effort, the lease ends it too.
  static void Release(Pool& pool, const RequestKey& key);

  // How long a request's answer is kept: a repeat within it gets the first answer (the APIs
  // promise 24 h); older keys are deleted by Prune.
  static constexpr absl::Duration kRetention = absl::Hours(24);
  // Deletes keys older than kRetention (at most `limit` per call); returns how many.
  static absl::StatusOr<int64_t> Prune(Pool& pool, absl::Time now, int limit = 10000);
};

// The whole dance for a change made in one transaction: a repeat of `req` gets the stored
// response in *resp; otherwise `change` runs (it fills *resp) and *resp is stored with it.
template <typename Request, typename Response>
absl::Status Once(Pool& pool, absl::string_view tenant, const Request& req, Response* resp,
                  const std::function<absl::Status(Conn&)>& change) {
  const RequestKey key = KeyOf(tenant, req);
  return pool.InTransaction([&](Conn& tx) -> absl::Status {
    absl::StatusOr<std::optional<std::string>> earlier = Idempotency::Find(tx, key);
    if (!earlier.ok()) return earlier.status();
    if (earlier->has_value()) return Restore(**earlier, resp);
    absl::Status changed = change(tx);
    if (!changed.ok()) return changed;
    return Idempotency::Remember(tx, key, resp->SerializeAsString());
  });
}

}  // namespace switchboard::pg

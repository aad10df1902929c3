// The eligibility service's hot state in Redis: contact facts (a cache of PostgreSQL's durable
// copy, with a TTL, invalidated on every write), the per-number sliding windows of outbound
// calls and missed calls, quality, usage and agent availability. A check reads all of it in
// one pipelined round trip; a reservation takes its rate-limit token in one Lua script.
//
//   store::HotState hot(redis_pool);
//   ASSIGN_OR_RETURN(store::HotRead read, hot.Read(keys, tenant, contact, agent, now, policy));
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/redis/redis.h"
#include "services/eligibility/rules/eligibility.h"
#include "services/eligibility/store/keys.h"

namespace switchboard::eligibility::store {

struct HotRead {
  // Facts from Redis; `contact` is nullopt when the contact is not cached (read PostgreSQL).
  std::optional<rules::ContactFacts> contact;
  rules::NumberCounters counters;
  rules::Quality quality = rules::Quality::kUnknown;
  std::optional<rules::CallingRestriction> restriction;
  rules::Usage usage;
  rules::AgentState agent = rules::AgentState::kUnknown;
  int connected_calls_24h = 0;  // also set in `contact` when it is cached
  // The reservation an earlier ReserveCall with the read's request id was granted.
  std::optional<std::string> prior_grant;
};

struct Reservation {
  bool granted = false;
  bool duplicate = false;           // the request id was granted before: same reservation
  std::string reservation_id;       // when granted
  std::vector<std::string> denied;  // RATE_LIMIT_MINUTE / RATE_LIMIT_HOUR when not granted
};

class HotState {
 public:
  explicit HotState(redis::Pool& redis) : redis_(redis) {}

  // With `request_id`, the read also looks for that request's earlier grant (prior_grant).
  absl::StatusOr<HotRead> Read(const NumberKeys& keys, absl::string_view tenant,
                               absl::string_view contact_key, absl::string_view agent_id,
                               absl::Time now, const rules::Policy& policy,
                               absl::string_view request_id = "");

  // Atomically: if `request_id` was granted before, that grant; else if both windows have room,
  // record the call and grant; else deny and take nothing.
  absl::StatusOr<Reservation> Reserve(const NumberKeys& keys, absl::string_view request_id,
                                      absl::string_view reservation_id, absl::Time now,
                                      const rules::Policy& policy);

  // Records a connected outbound call to the contact (idempotent by call id); the read counts
  // those of the last 24 h into ContactFacts::connected_calls_24h.
  absl::Status RecordConnectedCall(const NumberKeys& keys, absl::string_view contact_key,
                                   absl::string_view call_id, absl::Time when);

  // The missed calls a suspension at `now` could depend on.
  absl::StatusOr<std::vector<absl::Time>> MissedCalls(const NumberKeys& keys, absl::Time now,
                                                      const rules::Policy& policy);

  // Records a missed call (idempotent by call id) and trims what no suspension can need.
  absl::Status RecordMissedCall(const NumberKeys& keys, absl::string_view call_id, absl::Time when,
                                const rules::Policy& policy);

  absl::Status CacheContact(const NumberKeys& keys, absl::string_view contact_key,
                            const rules::ContactFacts& facts);
  absl::Status InvalidateContact(const NumberKeys& keys, absl::string_view contact_key);
  // Sets the number's quality rating as of `at` (Meta's time), unless a later one is stored:
  // Meta's quality updates arrive out of order. Returns whether it was written.
  absl::StatusOr<bool> SetQuality(const NumberKeys& keys, rules::Quality quality, absl::Time at);
  // Sets (or, with nullopt, lifts) Meta's calling restriction on the number as of `at`, unless
  // a later one is stored. Returns whether it was written.
  absl::StatusOr<bool> SetRestriction(const NumberKeys& keys,
                                      const std::optional<rules::CallingRestriction>& restriction,
                                      absl::Time at);
  // Usage and agent state arrive as events, possibly out of order: each write carries a version
  // (the event's sequence or time) and is ignored unless it is newer than the stored one.
  // Returns whether it was applied.
  absl::StatusOr<bool> SetUsage(absl::string_view tenant, const rules::Usage& usage,
                                int64_t version);
  absl::StatusOr<bool> SetAgent(absl::string_view tenant, absl::string_view agent_id,
                                rules::AgentState state, int64_t version);

  // How long a cached contact lives without being read from PostgreSQL again.
  static constexpr absl::Duration kContactTtl = absl::Hours(1);

 private:
  redis::Pool& redis_;
};

}  // namespace switchboard::eligibility::store

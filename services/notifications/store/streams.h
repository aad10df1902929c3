// Where the streams' recent notifications are kept for resuming (ADR 0017): in Redis, per
// stream, a Redis stream of notifications (trimmed to a length and an age), the stream's epoch
// and its reset snapshot; appends are published on one pub/sub channel every replica listens
// to. Lua and keys only; every key of a tenant shares one hash tag.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/redis/redis.h"
#include "services/notifications/rules/streams.h"

namespace switchboard::notifications::store {

struct Retention {
  // Notifications kept per stream, at least (Redis trims whole nodes).
  int64_t agent_length = 1000;
  int64_t tenant_length = 10000;
  // Older ones are trimmed, and a stream (with its epoch and snapshot) left alone this long is
  // forgotten: resuming it gives a reset.
  absl::Duration age = absl::Hours(1);
  // An event appended once is recognised this long (at least the age): well past the 24 h the
  // outbox relays publish again after a crash.
  absl::Duration dedupe = absl::Hours(48);
};

// A random epoch (8 hex digits) for a stream created now.
std::string NewEpoch();

// The key every other key of `stream` derives from; also what the pub/sub messages name.
std::string StreamKey(const rules::StreamRef& stream);

// The channel appends are published on (one per Redis database: pub/sub ignores databases).
std::string Channel(int db);

// Appends what `event_id` brings to its streams, in order, atomically, once: the same event
// again (a redelivery) changes nothing and returns false. Each entry's notification is
// stored and published as its serialized bytes. `fresh_epoch` names a stream created now.
absl::StatusOr<bool> Append(redis::Pool& redis, absl::string_view event_id,
                            const std::vector<rules::Entry>& entries, const Retention& retention,
                            absl::string_view fresh_epoch);

// One published append, as a subscriber receives it.
struct Published {
  std::string stream_key;
  rules::Position position;
  std::string notification;  // serialized v1::Notification, without its id
};
std::optional<Published> ParsePublished(absl::string_view message);

// What opening (or re-opening) a stream finds.
struct Opened {
  // Continuity proved: `missed` are the notifications after the resume position, in order.
  bool resumed = false;
  v1::ResetReason reason = v1::RESET_REASON_UNSPECIFIED;
  // Where the stream is: after the last of `missed`, or the reset's position.
  rules::Position position;
  std::vector<std::pair<std::string, std::string>> missed;    // entry id, serialized notification
  std::vector<std::pair<std::string, std::string>> snapshot;  // for a reset
};

// Reads `stream` after `resume` (nullopt: a new subscription) in one atomic step: the missed
// notifications when the epoch matches and nothing after `resume` was trimmed, at most
// `max_replay` of them; otherwise the snapshot and the current position (the epoch is created,
// from `fresh_epoch`, if the stream has none).
absl::StatusOr<Opened> Open(redis::Pool& redis, const rules::StreamRef& stream,
                            const std::optional<rules::Position>& resume, int max_replay,
                            const Retention& retention, absl::string_view fresh_epoch);

}  // namespace switchboard::notifications::store

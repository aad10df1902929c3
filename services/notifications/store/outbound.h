// The outbound message queue's tables (migrations/0002_outbound.sql): contacts' service windows
// and the requests taken, by event id. SQL only.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/pg/pg.h"

namespace switchboard::notifications::store {

// Moves the contact's window to `at` (never back).
absl::Status TouchWindow(pg::Pool& pool, absl::string_view tenant, absl::string_view number,
                         absl::string_view contact, absl::Time at);
absl::StatusOr<std::optional<absl::Time>> WindowOpened(pg::Pool& pool, absl::string_view tenant,
                                                       absl::string_view number,
                                                       absl::string_view contact);

enum class SendState { kSending = 1, kSent = 2, kSkipped = 3, kUnknown = 4 };

struct Taken {
  std::string tenant;
  std::string event_id;
  std::string call_id;
  std::string contact;
};

// Takes the request for sending: true when this is its first delivery, false when it was
// taken before (whatever came of it).
absl::StatusOr<bool> Take(pg::Pool& pool, const Taken& request, absl::Time now);
// What came of a taken request.
absl::Status Settle(pg::Pool& pool, const Taken& request, SendState state,
                    absl::string_view channel, absl::string_view meta_message_id,
                    absl::string_view reason, absl::Time now);
// Gives a taken request up (Meta said it sent nothing): its redelivery is sent.
absl::Status Release(pg::Pool& pool, const Taken& request);
// Settles as kUnknown the requests still kSending since before `before`. Returns how many.
absl::StatusOr<int64_t> SettleLost(pg::Pool& pool, absl::Time before, absl::Time now);
absl::StatusOr<std::optional<SendState>> StateOf(pg::Pool& pool, absl::string_view tenant,
                                                 absl::string_view event_id);

}  // namespace switchboard::notifications::store

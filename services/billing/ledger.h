// The ledger's writers: rating each finished call exactly once (calls.state.v1), top-ups,
// corrections and refunds. Every change is one transaction that appends entries (never
// updating one), moves the month's sums under the month's row lock, and writes CallRated and
// UsageUpdated to the outbox with it (ADR 0016). rules/ decides every value.
//
//   Ledger ledger(pool, plans, clock, probe);
//   consumer: ledger.OnCallStateChanged(changed, message);
//   PurchaseMinutes: ledger.Purchase(caller, req);
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/kafka/dispatch.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "services/billing/invoices.h"
#include "services/billing/plans.h"
#include "services/billing/rules/months.h"
#include "services/billing/rules/rating.h"
#include "services/billing/rules/usage.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/billing/v1/billing_service.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"

namespace switchboard::billing {

// What the ledger reports as it works (metrics; null where nobody looks).
class LedgerProbe {
 public:
  virtual ~LedgerProbe() = default;
  virtual void Rated(const rules::Rating& rating) = 0;
  // A call that came again: with the duration rated (a replay) or another (quarantined).
  virtual void Replayed(bool quarantined) = 0;
  virtual void Alerted(v1::UsageLevel level) = 0;
};

class Ledger {
 public:
  Ledger(pg::Pool& pool, Plans& plans, Invoices& invoices, const core::Clock& clock,
         LedgerProbe* probe = nullptr);

  // calls.state.v1: a call that ended with talk time is rated once; anything else is ignored.
  absl::Status OnCallStateChanged(const calls::v1::CallStateChanged& changed,
                                  const kafka::Message& message);
  // The same for many records in one transaction (the consumer's batches): every statement
  // writes the batch's rows at once, so a batch costs about as many round trips as one call.
  // Each call rated once however often it appears; an error leaves nothing written (the
  // consumer then goes one record at a time).
  absl::Status OnCallsEnded(const std::vector<kafka::Typed<calls::v1::CallStateChanged>>& batch);

  absl::StatusOr<v1::PurchaseMinutesResponse> Purchase(const auth::Principal& caller,
                                                       const v1::PurchaseMinutesRequest& req);
  absl::StatusOr<v1::AdjustUsageResponse> Adjust(const auth::Principal& caller,
                                                 const v1::AdjustUsageRequest& req);
  absl::StatusOr<v1::RefundCallResponse> Refund(const auth::Principal& caller,
                                                const v1::RefundCallRequest& req);

  // The month's usage as GetUsage shows it.
  static v1::Usage Show(const rules::MonthUsage& usage, const v1::RatePlan& plan,
                        const rules::Month& month);

 private:
  // One month of one tenant, locked, while a change is booked into it.
  struct Booking {
    std::string tenant;
    v1::RatePlan plan;
    rules::Month month;
    rules::MonthUsage usage;
  };
  absl::StatusOr<Booking> Open(pg::Conn& tx, const std::string& tenant, const v1::RatePlan& plan,
                               const rules::Month& month, absl::Time now);
  // Gives `entry` its id (when it has none), month and time, and adds it to the month's sums in
  // memory (Add, and the batch that appends its entries at once).
  static void Book(Booking& booking, v1::UsageEntry& entry, absl::Time now);
  // Appends `entry` and adds it to the month's sums. An entry of another month than the current
  // one (a late call, a correction) also opens the current month, whose invoice will bill it.
  absl::Status Add(pg::Conn& tx, Booking& booking, v1::UsageEntry& entry, absl::Time now);
  // Saves the month and announces it (UsageUpdated, with the alert it crossed, if any).
  absl::Status Close(pg::Conn& tx, Booking& booking, const std::string& call_id, absl::Time now);
  // The CALL entry rating `call` at `duration` in `booking`'s month.
  absl::StatusOr<v1::UsageEntry> CallEntry(const Booking& booking, const calls::v1::Call& call,
                                           rules::Rating* rating);
  absl::Status AnnounceRated(pg::Conn& tx, const std::string& tenant, const v1::UsageEntry& entry,
                             const std::string& event_id, absl::Time now);
  static v1::CallRated RatedEvent(const std::string& tenant, const v1::UsageEntry& entry,
                                  int64_t sequence, absl::Time now);
  // The month as UsageUpdated announces it (logs and counts a crossed threshold).
  v1::UsageUpdated Announcement(const Booking& booking, v1::UsageLevel previous,
                                v1::UsageLevel alert, const std::string& call_id, int64_t sequence,
                                absl::Time now);
  // A call rated before came again at `duration`: a replay, or kept aside when it differs.
  absl::Status Replay(pg::Conn& tx, const std::string& tenant, const std::string& call_id,
                      absl::Duration duration, const std::string& event_id, absl::Time now,
                      bool* quarantined);
  // The REVERSAL of `entry`.
  v1::UsageEntry Reversal(const v1::UsageEntry& entry, const std::string& reason,
                          const std::string& actor, absl::Time now) const;

  pg::Pool& pool_;
  Plans& plans_;
  Invoices& invoices_;
  const core::Clock& clock_;
  LedgerProbe* probe_;
};

}  // namespace switchboard::billing

// The calls service's PostgreSQL schema (migrations/), and nothing else: call records with the
// columns the Calls page needs, durable timers, webhooks parked for outbound calls, notes,
// callbacks and per-tenant settings. SQL only, every statement scoped by tenant: the rules
// (rules/) decide, the journal (journal.h) writes a change with its events and timer, the store
// runs the statements.
//
//   RETURN_IF_ERROR(store.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
//     ASSIGN_OR_RETURN(std::optional<v1::Call> call, Store::Lock(tx, tenant, CallKey::Id(id)));
//     ...
//     return Store::SaveRow(tx, *call, "", clock.Now());
//   }));
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "libs/pg/pg.h"
#include "services/calls/rules/lifecycle.h"
#include "services/calls/rules/query.h"
#include "services/calls/rules/timers.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls {

// How a call is found.
struct CallKey {
  enum class By { kCallId, kMetaCallId, kRequestId };
  By by;
  std::string value;
  static CallKey Id(std::string v) { return {By::kCallId, std::move(v)}; }
  static CallKey Meta(std::string v) { return {By::kMetaCallId, std::move(v)}; }
  static CallKey Request(std::string v) { return {By::kRequestId, std::move(v)}; }
};

// A due timer, locked by the transaction that reads it.
struct DueTimer {
  std::string tenant_id;
  std::string call_id;
  TimerKind kind = TimerKind::kNone;
  absl::Time due;
};

// A webhook parked for an outbound call whose Meta id was not stored yet.
struct ParkedEvent {
  std::string event_id;
  std::string payload;  // a serialized switchboard.webhooks.v1.WhatsAppEvent
  absl::Time event_time;
};

struct CallPage {
  std::vector<v1::Call> calls;
  std::optional<query::Cursor> last;  // set when more rows follow
};

// Totals over a set of calls (GetCallStats, analytics buckets).
struct Totals {
  int64_t total = 0;
  int64_t answered = 0;
  int64_t missed = 0;
  int64_t rejected = 0;
  int64_t failed = 0;
  int64_t waiting = 0;  // OFFERED or RINGING
  int64_t inbound = 0;
  int64_t outbound = 0;
  int64_t duration_seconds = 0;
  int64_t billed_minutes = 0;
  int64_t cost_micros = 0;
  std::string currency;  // of the costs; empty when no call is rated
};

struct TopContact {
  events::v1::ContactRef contact;
  int64_t calls = 0;
  int64_t duration_seconds = 0;
};

struct NotePage {
  std::vector<v1::CallNote> notes;
  std::optional<query::Cursor> last;
};

struct CallbackPage {
  std::vector<v1::Callback> callbacks;
  std::optional<query::Cursor> last;
};

// A callback row: the record carries no tenant of its own.
struct StoredCallback {
  std::string tenant_id;
  v1::Callback callback;
  int64_t sequence = 0;  // of its CallbackDue events
};

class Store {
 public:
  // `pool` serves what keeps calls moving (webhooks, commands, timers, the relay, notes,
  // callbacks); `history` the Calls page's lists and aggregates; `exports` the CSV exports,
  // which hold a connection for as long as their client reads. Separate pools, so a slow or
  // stalled reader of one can never take the connections of another.
  Store(pg::Pool& pool, pg::Pool& history, pg::Pool& exports, const core::Clock& clock);

  pg::Pool& pool() { return pool_; }

  // ---- calls --------------------------------------------------------------------------------

  // The call, locked FOR UPDATE until the transaction ends; nullopt when the tenant has none.
  static absl::StatusOr<std::optional<v1::Call>> Lock(pg::Conn& tx, absl::string_view tenant,
                                                      const CallKey& key);
  // The call as it is now, without a lock.
  absl::StatusOr<std::optional<v1::Call>> Get(absl::string_view tenant, const CallKey& key);

  // Writes the call's row (inserted, or updated in place). `request_id` is stored when the call
  // is created (StartCall).
  static absl::Status SaveRow(pg::Conn& tx, const v1::Call& call, const std::string& request_id,
                              absl::Time now);
  // Keeps the call's timer row as `timer` says: none deletes it; a timer of the kind it has
  // keeps its due time (ringing does not extend the ring timeout); another kind replaces it.
  static absl::Status KeepTimer(pg::Conn& tx, const v1::Call& call,
                                const std::optional<Timer>& timer);

  // The calls row of `call`, in the order of kRowColumns (Save writes it; bulk loads such as
  // the benchmark's COPY use it so their rows are the ones Save would write).
  static const char kRowColumns[];
  static std::vector<pg::Param> Row(const v1::Call& call, const std::string& request_id,
                                    absl::Time now);

  // The user's SDP offer of an inbound call (Meta's connect), kept until the call ends; the
  // first one stays (a redelivered connect carries the same).
  static absl::Status KeepUserOffer(pg::Conn& tx, absl::string_view tenant,
                                    absl::string_view call_id, absl::string_view sdp);
  // The call and the offer kept for it (empty when none), in one read.
  struct CallWithOffer {
    v1::Call call;
    std::string sdp_offer;
  };
  absl::StatusOr<std::optional<CallWithOffer>> GetWithOffer(absl::string_view tenant,
                                                            absl::string_view call_id);

  static absl::Status SetRejectReason(pg::Conn& tx, absl::string_view tenant,
                                      absl::string_view call_id, absl::string_view reason);

  // Billing's CallRated: the cost and billed minutes of a call. False when the tenant has no
  // such call.
  static absl::StatusOr<bool> SetCost(pg::Conn& tx, absl::string_view tenant,
                                      absl::string_view call_id, const events::v1::Money& cost,
                                      int64_t billed_minutes);

  // Timers that are due at `now`, locked (SKIP LOCKED, so replicas share them) and deleted
  // by the transaction; at most `limit`.
  static absl::StatusOr<std::vector<DueTimer>> TakeDueTimers(pg::Conn& tx, absl::Time now,
                                                             int limit);

  // ---- webhooks that came before their call ---------------------------------------------------

  static absl::Status Park(pg::Conn& tx, absl::string_view tenant, absl::string_view meta_call_id,
                           absl::string_view event_id, const std::string& payload,
                           absl::Time event_time, absl::Time now);
  // The parked events of a call in arrival order, removed by the transaction.
  static absl::StatusOr<std::vector<ParkedEvent>> Unpark(pg::Conn& tx, absl::string_view tenant,
                                                         absl::string_view meta_call_id);
  // Deletes parked events older than `before` (calls placed outside Switchboard).
  absl::StatusOr<int64_t> ExpireParked(absl::Time before);

  // ---- history --------------------------------------------------------------------------------

  // Newest first (offered_time, then call id, descending), after `after` when given.
  absl::StatusOr<CallPage> List(absl::string_view tenant, const query::Filter& filter,
                                absl::string_view needle, const std::optional<query::Cursor>& after,
                                int limit);
  // Every matching call, newest first, streamed from a server-side cursor in batches; `row`
  // returning an error stops the export with it.
  absl::Status Export(absl::string_view tenant, const query::Filter& filter,
                      absl::string_view needle,
                      const std::function<absl::Status(const v1::Call&)>& row);
  // Totals of the calls offered in [start, end) that match `filter`.
  absl::StatusOr<Totals> Stats(absl::string_view tenant, const query::Filter& filter,
                               absl::Time start, absl::Time end);
  // Totals per bucket (same order as period.bucket_starts) over [period.start, period.end).
  absl::StatusOr<std::vector<Totals>> Buckets(absl::string_view tenant, const query::Filter& filter,
                                              const query::Period& period);
  // The contacts with most calls in [start, end), most first.
  absl::StatusOr<std::vector<TopContact>> TopContacts(absl::string_view tenant,
                                                      const query::Filter& filter, absl::Time start,
                                                      absl::Time end, int limit);

  // ---- notes ----------------------------------------------------------------------------------

  static absl::Status InsertNote(pg::Conn& tx, absl::string_view tenant, const v1::CallNote& note,
                                 absl::string_view contact_key);
  static absl::StatusOr<std::optional<v1::CallNote>> LockNote(pg::Conn& tx,
                                                              absl::string_view tenant,
                                                              absl::string_view note_id);
  static absl::Status UpdateNote(pg::Conn& tx, absl::string_view tenant, const v1::CallNote& note);
  static absl::Status DeleteNote(pg::Conn& tx, absl::string_view tenant, absl::string_view note_id);
  // Newest first; exactly one of call_id / contact_key is non-empty.
  absl::StatusOr<NotePage> ListNotes(absl::string_view tenant, absl::string_view call_id,
                                     absl::string_view contact_key,
                                     const std::optional<query::Cursor>& after, int limit);

  // ---- callbacks ------------------------------------------------------------------------------

  static absl::Status SaveCallback(pg::Conn& tx, absl::string_view tenant,
                                   const v1::Callback& callback, int64_t sequence, absl::Time now);
  static absl::StatusOr<std::optional<StoredCallback>> LockCallback(pg::Conn& tx,
                                                                    absl::string_view tenant,
                                                                    absl::string_view callback_id);
  // Soonest due first.
  absl::StatusOr<CallbackPage> ListCallbacks(absl::string_view tenant,
                                             const query::CallbackFilter& filter,
                                             const std::optional<query::Cursor>& after, int limit);
  // Pending callbacks due at `now`, of every tenant, locked (SKIP LOCKED).
  static absl::StatusOr<std::vector<StoredCallback>> TakeDueCallbacks(pg::Conn& tx, absl::Time now,
                                                                      int limit);

  // ---- settings -------------------------------------------------------------------------------

  // The tenant's settings (defaults filled in: UTC, "en"), from a cache refreshed every few
  // seconds; the last known (or the defaults) when PostgreSQL cannot be read.
  absl::StatusOr<v1::CallsSettings> Settings(absl::string_view tenant);
  absl::Status SaveSettings(absl::string_view tenant, const v1::CallsSettings& settings);

  // Settings() on a connection the caller holds (a transaction must not wait for a second one).
  v1::CallsSettings SettingsVia(pg::Conn& conn, absl::string_view tenant);

 private:
  static absl::StatusOr<v1::CallsSettings> LoadSettings(pg::Conn& conn, absl::string_view tenant);

  pg::Pool& pool_;
  pg::Pool& history_;
  pg::Pool& exports_;
  const core::Clock& clock_;
  struct CachedSettings {
    v1::CallsSettings settings;
    absl::Time loaded;
  };
  absl::Mutex settings_mu_;
  absl::flat_hash_map<std::string, CachedSettings> settings_ ABSL_GUARDED_BY(settings_mu_);
};

}  // namespace switchboard::calls

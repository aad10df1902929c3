// The calls service's PostgreSQL schema (migrations/), and nothing else: call records with the
// columns the Calls page needs, durable timers, webhooks parked for outbound calls, notes,
// callbacks and per-tenant settings. SQL only, every statement scoped by tenant: the rules
// (rules/) decide, the journal (journal.h) writes a change with its events and timer, the store
// runs the statements.
//
//   RETURN_IF_ERROR(store.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
//     ASSIGN_OR_RETURN(std::optional<v1::Call> call, Store::Lock(tx, tenant, CallKey::Id(id)));
//     ...
//     CallWrites writes;
//     writes.SetRow(*call, "", clock.Now());
//     return Store::Write(tx, writes);
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
#include "libs/kafka/kafka.h"
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

// The writes of call changes, gathered (Journal::Stage) and then made together by Store::Write:
// one change or a consumer's whole batch costs the same few statements.
class CallWrites {
 public:
  // The call's row as it is now; a later row of the same call replaces it. `request_id` is
  // stored when the call is created (StartCall).
  void SetRow(const v1::Call& call, const std::string& request_id, absl::Time now);
  // The call's timer, kept as one write per call would keep it: none deletes it; a timer of the
  // kind the call has keeps its due time (ringing does not extend the ring timeout); another
  // kind replaces it.
  void SetTimer(const v1::Call& call, const std::optional<Timer>& timer);
  // An event for `topic`'s outbox, after those added before.
  void AddEvent(absl::string_view topic, kafka::Event event);
  // The user's SDP offer of an inbound call (Meta's connect), kept until the call ends; the
  // first one stays (a redelivered connect carries the same).
  void KeepUserOffer(const v1::Call& call, absl::string_view sdp);

 private:
  friend class Store;
  struct RowWrite {
    v1::Call call;
    std::string request_id;
    absl::Time now;
  };
  struct TimerWrite {
    std::string tenant_id;
    std::string call_id;
    std::optional<Timer> timer;  // nullopt: delete
    bool replace = false;        // write it whatever kind the stored timer has
  };
  struct OfferWrite {
    std::string tenant_id;
    std::string call_id;
    std::string sdp;
  };
  using Key = std::pair<std::string, std::string>;  // tenant, call id
  std::vector<RowWrite> rows_;
  absl::flat_hash_map<Key, size_t> row_of_;
  std::vector<TimerWrite> timers_;
  absl::flat_hash_map<Key, size_t> timer_of_;
  std::vector<std::pair<std::string, kafka::Event>> events_;
  std::vector<OfferWrite> offers_;
  absl::flat_hash_map<Key, size_t> offer_of_;
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

  // The calls with these Meta ids (tenant, meta_call_id), locked FOR UPDATE in call id order
  // until the transaction ends; those a tenant does not have are left out.
  static absl::StatusOr<std::vector<v1::Call>> LockByMeta(
      pg::Conn& tx, const std::vector<std::pair<std::string, std::string>>& keys);

  // Makes `writes` in a few statements, whatever their number: the rows, then the timers, the
  // events (outbox, in order) and the user offers.
  static absl::Status Write(pg::Conn& tx, const CallWrites& writes);

  // The calls row of `call`, in the order of kRowColumns (Save writes it; bulk loads such as
  // the benchmark's COPY use it so their rows are the ones Save would write).
  static const char kRowColumns[];
  static std::vector<pg::Param> Row(const v1::Call& call, const std::string& request_id,
                                    absl::Time now);

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
  // Store::Write's statements: the rows (`offered_known`: their offer times are Meta's and
  // replace the stored ones, not stand-ins), the timers.
  static absl::Status UpsertRows(pg::Conn& tx, const std::vector<const CallWrites::RowWrite*>& rows,
                                 bool offered_known);
  static absl::Status WriteTimers(pg::Conn& tx, const std::vector<CallWrites::TimerWrite>& timers);
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

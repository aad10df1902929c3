// Billing's PostgreSQL schema (migrations/): plans, the append-only ledger (`entries`), the
// unique key of each rated call (`rated_calls`), calls kept aside (`quarantine`), each tenant's
// months and event sequence. SQL only: rules/ decides every value; the feature classes hold the
// transactions. Functions taking a pg::Conn run inside the caller's transaction.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/pg/pg.h"
#include "services/billing/rules/entry_filter.h"
#include "services/billing/rules/months.h"
#include "services/billing/rules/usage.h"
#include "switchboard/billing/v1/billing_service.pb.h"

namespace switchboard::billing::store {

// ---- plans ----------------------------------------------------------------------------------

// The plan as the tenant stored it (empty when never set).
absl::StatusOr<v1::RatePlan> LoadPlan(pg::Conn& conn, absl::string_view tenant);
absl::Status SavePlan(pg::Conn& tx, absl::string_view tenant, const v1::RatePlan& plan,
                      absl::Time now);

// ---- rated calls ----------------------------------------------------------------------------

struct RatedCall {
  absl::Duration first_duration;    // the talk time first rated
  absl::Duration current_duration;  // the one its current entry rates (after corrections)
  std::string entry_id;             // its current CALL entry
  bool refunded = false;
};

// Claims the call's unique key for a first rating at `duration` with entry `entry_id`: true
// when claimed (this transaction rates it), false when the call was rated before (the row is
// then locked; read it with LockRatedCall).
absl::StatusOr<bool> ClaimCall(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                               absl::Duration duration, absl::string_view entry_id, absl::Time now);
// Many first ratings at once, in one statement; each call appears once in `claims`. The keys
// claimed (this transaction rates them), and the talk times rated before of the others (their
// rows locked, all in (tenant, call) order), by ClaimKey.
struct Claim {
  std::string tenant;
  std::string call_id;
  absl::Duration duration;
  std::string entry_id;
};
struct RatedDurations {
  absl::Duration first;
  absl::Duration current;
};
struct Claimed {
  absl::flat_hash_set<std::string> fresh;
  absl::flat_hash_map<std::string, RatedDurations> before;
};
absl::StatusOr<Claimed> ClaimCalls(pg::Conn& tx, const std::vector<Claim>& claims, absl::Time now);
std::string ClaimKey(absl::string_view tenant, absl::string_view call_id);
absl::StatusOr<std::optional<RatedCall>> LockRatedCall(pg::Conn& tx, absl::string_view tenant,
                                                       absl::string_view call_id);
absl::Status SaveRatedCall(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                           const RatedCall& rated);

// ---- quarantine -----------------------------------------------------------------------------

// Keeps aside `call_id` arriving at `duration`: true the first time that duration came.
absl::StatusOr<bool> Quarantine(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                                absl::Duration duration, absl::Duration rated,
                                absl::string_view event_id, absl::Time now);
// Whether `duration` of `call_id` was kept aside and settled since (it changes nothing more).
absl::StatusOr<bool> Settled(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                             absl::Duration duration);
absl::Status SettleQuarantine(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id);
// Unsettled calls, oldest first, after the (receive time, call id) cursor.
absl::StatusOr<std::vector<v1::QuarantinedCall>> ListQuarantine(
    pg::Pool& pool, absl::string_view tenant,
    std::optional<std::pair<absl::Time, std::string>> after, int limit);
// Unsettled quarantined calls of every tenant (the gauge).
absl::StatusOr<int64_t> CountQuarantine(pg::Pool& pool);

// ---- ledger ---------------------------------------------------------------------------------

absl::Status Append(pg::Conn& tx, absl::string_view tenant, const v1::UsageEntry& entry);
// Many entries in one statement: (tenant, entry).
absl::Status AppendAll(pg::Conn& tx,
                       const std::vector<std::pair<std::string, v1::UsageEntry>>& entries);
// Calls' costs (CALL and REVERSAL entries) by their end in [from, to), grouped by the day in
// `zone`, the direction (its number, as text) or the contact's region, ordered by that key.
enum class CostBy { kDay, kDirection, kRegion };
struct CostRow {
  std::string key;
  int64_t micros = 0;
  int64_t minutes = 0;
  int64_t calls = 0;
};
absl::StatusOr<std::vector<CostRow>> Costs(pg::Pool& pool, absl::string_view tenant,
                                           absl::Time from, absl::Time to, absl::string_view zone,
                                           CostBy by);

absl::StatusOr<std::optional<v1::UsageEntry>> GetEntry(pg::Conn& tx, absl::string_view tenant,
                                                       absl::string_view entry_id);

// Newest first, older than `before_entry_id` when given (the page cursor).
absl::StatusOr<std::vector<v1::UsageEntry>> ListEntries(pg::Pool& pool, absl::string_view tenant,
                                                        const rules::EntryFilter& filter,
                                                        absl::string_view before_entry_id,
                                                        int limit);

// ---- months and sequences -------------------------------------------------------------------

// The month's row, locked (created empty, closing at month.end, when missing).
absl::StatusOr<rules::MonthUsage> LockMonth(pg::Conn& tx, absl::string_view tenant,
                                            const rules::Month& month, absl::Time now);
absl::Status SaveMonth(pg::Conn& tx, absl::string_view tenant, absl::string_view month,
                       const rules::MonthUsage& usage, absl::Time now);
// Many months: created where missing (`touch`: also those only to create), then those of
// `lock` locked in (tenant, month) order, so two transactions locking several never wait on
// each other in a cycle. Their sums by "<tenant>/<month id>".
struct TenantMonth {
  std::string tenant;
  rules::Month month;
};
absl::StatusOr<absl::flat_hash_map<std::string, rules::MonthUsage>> LockMonths(
    pg::Conn& tx, std::vector<TenantMonth> lock, const std::vector<TenantMonth>& touch,
    absl::Time now);
struct MonthSums {
  std::string tenant;
  std::string month;
  rules::MonthUsage usage;
};
absl::Status SaveMonths(pg::Conn& tx, const std::vector<MonthSums>& months, absl::Time now);
// The month's sums (empty when nothing happened in it).
absl::StatusOr<rules::MonthUsage> GetMonth(pg::Pool& pool, absl::string_view tenant,
                                           absl::string_view month);

// The tenant's next event sequence (locks the tenant's row until the transaction ends).
absl::StatusOr<int64_t> NextSequence(pg::Conn& tx, absl::string_view tenant);
// `count` sequences for each tenant at once: the first of each tenant's run, by tenant.
absl::StatusOr<absl::flat_hash_map<std::string, int64_t>> NextSequences(
    pg::Conn& tx, const std::map<std::string, int64_t>& count);
// Creates the month's row if it is missing (so its invoice will be issued).
absl::Status TouchMonth(pg::Conn& tx, absl::string_view tenant, const rules::Month& month,
                        absl::Time now);
// The open months' ids of `tenant` (not invoiced yet).
absl::StatusOr<std::vector<std::string>> OpenMonthsOf(pg::Conn& tx, absl::string_view tenant);
// When `month` closes (after a plan's zone changed, or a row's first guess was early).
absl::Status SetCloseTime(pg::Conn& tx, absl::string_view tenant, absl::string_view month,
                          absl::Time close);

// ---- invoices -------------------------------------------------------------------------------

struct MonthKey {
  std::string tenant;
  std::string month;
};
// Months not invoiced yet whose close time is `now` or before, the earliest first.
absl::StatusOr<std::vector<MonthKey>> DueMonths(pg::Pool& pool, absl::Time now, int limit);
// Locks the month's row; false when it was invoiced already (or does not exist).
absl::StatusOr<bool> LockOpenMonth(pg::Conn& tx, absl::string_view tenant, absl::string_view month);
absl::Status MarkInvoiced(pg::Conn& tx, absl::string_view tenant, absl::string_view month);
// Entries on no invoice yet, of `month` or before, oldest first.
absl::StatusOr<std::vector<v1::UsageEntry>> UninvoicedEntries(pg::Conn& conn,
                                                              absl::string_view tenant,
                                                              absl::string_view month);
// The tenant's next gap-free number of `kind` (locks the tenant's row).
absl::StatusOr<int64_t> NextInvoiceNumber(pg::Conn& tx, absl::string_view tenant,
                                          v1::InvoiceKind kind);
// Stores an issued document and marks `entry_ids` as billed by it (an entry billed before is
// ALREADY_EXISTS: nothing is stored).
absl::Status SaveInvoice(pg::Conn& tx, absl::string_view tenant, const v1::Invoice& invoice,
                         const std::vector<std::string>& entry_ids);
absl::StatusOr<std::optional<v1::Invoice>> GetInvoice(pg::Conn& conn, absl::string_view tenant,
                                                      absl::string_view invoice_id);
// The invoice that billed `entry_id`, if any.
absl::StatusOr<std::optional<v1::Invoice>> InvoiceOf(pg::Conn& tx, absl::string_view tenant,
                                                     absl::string_view entry_id);
// Newest first, older than the `before` invoice id when given.
absl::StatusOr<std::vector<v1::Invoice>> ListInvoices(pg::Pool& pool, absl::string_view tenant,
                                                      absl::string_view before, int limit);

}  // namespace switchboard::billing::store

#include "services/billing/usage.h"

#include "libs/api/page.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "services/billing/ledger.h"
#include "services/billing/rules/entry_filter.h"
#include "services/billing/rules/months.h"
#include "services/billing/rules/plan.h"
#include "services/billing/store/store.h"

namespace switchboard::billing {
namespace {

constexpr api::PageSizes kEntryPages = {.default_size = 100, .max = 1000};

}  // namespace

Usage::Usage(pg::Pool& pool, Plans& plans, const core::Clock& clock)
    : pool_(pool), plans_(plans), clock_(clock) {}

absl::StatusOr<v1::Usage> Usage::Get(const auth::Principal& caller,
                                     const v1::GetUsageRequest& req) {
  ASSIGN_OR_RETURN(v1::RatePlan plan, plans_.Of(caller.tenant_id));
  const absl::TimeZone zone = rules::ZoneOf(plan);
  rules::Month month = rules::MonthOf(clock_.Now(), zone);
  if (!req.month().empty()) {
    ASSIGN_OR_RETURN(month, rules::ParseMonth(req.month(), zone));
  }
  ASSIGN_OR_RETURN(rules::MonthUsage usage, store::GetMonth(pool_, caller.tenant_id, month.id));
  return Ledger::Show(usage, plan, month);
}

absl::Status Usage::ListEntries(const auth::Principal& caller,
                                const v1::ListUsageEntriesRequest& req,
                                v1::ListUsageEntriesResponse* resp) {
  ASSIGN_OR_RETURN(int size, api::PageSize(req.page_size(), kEntryPages));
  ASSIGN_OR_RETURN(rules::EntryFilter filter, rules::ParseEntryFilter(req.filter()));
  const std::string binding = api::Binding("billing.ListUsageEntries", filter.Canonical());
  ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                   api::DecodePageToken(req.page_token(), binding));
  ASSIGN_OR_RETURN(std::vector<v1::UsageEntry> entries,
                   store::ListEntries(pool_, caller.tenant_id, filter,
                                      after.has_value() ? after->id : "", size + 1));
  const bool more = static_cast<int>(entries.size()) > size;
  if (more) entries.resize(size);
  for (v1::UsageEntry& e : entries) *resp->add_entries() = std::move(e);
  if (more) {
    resp->set_next_page_token(
        api::EncodePageToken({.id = resp->entries().rbegin()->entry_id()}, binding));
  }
  return absl::OkStatus();
}

absl::Status Usage::ListQuarantined(const auth::Principal& caller,
                                    const v1::ListQuarantinedCallsRequest& req,
                                    v1::ListQuarantinedCallsResponse* resp) {
  ASSIGN_OR_RETURN(int size, api::PageSize(req.page_size(), kEntryPages));
  const std::string binding = api::Binding("billing.ListQuarantinedCalls", "");
  ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                   api::DecodePageToken(req.page_token(), binding));
  std::optional<std::pair<absl::Time, std::string>> cursor;
  if (after.has_value()) cursor = std::make_pair(after->time, after->id);
  ASSIGN_OR_RETURN(std::vector<v1::QuarantinedCall> calls,
                   store::ListQuarantine(pool_, caller.tenant_id, cursor, size + 1));
  const bool more = static_cast<int>(calls.size()) > size;
  if (more) calls.resize(size);
  for (v1::QuarantinedCall& q : calls) *resp->add_calls() = std::move(q);
  if (more) {
    const v1::QuarantinedCall& last = *resp->calls().rbegin();
    resp->set_next_page_token(api::EncodePageToken(
        {.time = core::FromProto(last.receive_time()), .id = last.call_id()}, binding));
  }
  return absl::OkStatus();
}

}  // namespace switchboard::billing

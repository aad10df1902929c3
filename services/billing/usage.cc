#include "services/billing/usage.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "libs/api/page.h"
#include "libs/core/error.h"
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
constexpr int kDefaultDays = 30;
constexpr int kMaxDays = 92;

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

absl::StatusOr<v1::GetCostAnalyticsResponse> Usage::Costs(const auth::Principal& caller,
                                                          const v1::GetCostAnalyticsRequest& req) {
  const int days = req.days() == 0 ? kDefaultDays : req.days();
  if (days < 1 || days > kMaxDays) {
    return core::InvalidArgument("INVALID_DAYS", "days: from 1 to 92 (0 means 30)",
                                 {{"field", "days"}});
  }
  ASSIGN_OR_RETURN(v1::RatePlan plan, plans_.Of(caller.tenant_id));
  const rules::Days window = rules::LastDays(clock_.Now(), rules::ZoneOf(plan), days);
  const std::string& currency = plan.price_per_minute().currency_code();
  v1::GetCostAnalyticsResponse out;
  out.set_time_zone(plan.time_zone());
  *out.mutable_start_time() = core::ToProto(window.start);
  *out.mutable_end_time() = core::ToProto(window.end);
  auto fill = [&](v1::CostBucket& b, const store::CostRow& row) {
    b.mutable_cost()->set_amount_micros(row.micros);
    b.mutable_cost()->set_currency_code(currency);
    b.set_minutes(row.minutes);
    b.set_calls(row.calls);
  };
  auto costs = [&](store::CostBy by) {
    return store::Costs(pool_, caller.tenant_id, window.start, window.end, plan.time_zone(), by);
  };
  ASSIGN_OR_RETURN(std::vector<store::CostRow> by_day, costs(store::CostBy::kDay));
  auto row = by_day.begin();
  store::CostRow total;
  for (const std::string& date : window.dates) {  // every day, zeros included
    v1::CostBucket& b = *out.add_days();
    b.set_date(date);
    store::CostRow day{.key = date};
    if (row != by_day.end() && row->key == date) day = *row++;
    fill(b, day);
    total.micros += day.micros;
    total.minutes += day.minutes;
    total.calls += day.calls;
  }
  fill(*out.mutable_total(), total);
  ASSIGN_OR_RETURN(std::vector<store::CostRow> by_direction, costs(store::CostBy::kDirection));
  for (const store::CostRow& r : by_direction) {
    v1::CostBucket& b = *out.add_directions();
    int direction = 0;
    if (absl::SimpleAtoi(r.key, &direction)) {
      b.set_direction(static_cast<calls::v1::CallDirection>(direction));
    }
    fill(b, r);
  }
  ASSIGN_OR_RETURN(std::vector<store::CostRow> by_region, costs(store::CostBy::kRegion));
  std::stable_sort(by_region.begin(), by_region.end(),
                   [](const auto& a, const auto& b) { return a.micros > b.micros; });
  for (const store::CostRow& r : by_region) {
    v1::CostBucket& b = *out.add_countries();
    b.set_region_code(r.key);
    fill(b, r);
  }
  return out;
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

#include "services/calls/history.h"

#include <tuple>

#include "absl/cleanup/cleanup.h"
#include "libs/api/page.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "services/calls/rules/format.h"
#include "services/calls/rules/query.h"

namespace switchboard::calls {
namespace {

using core::FromProto;
using core::ToProto;

constexpr api::PageSizes kCallPages = {.default_size = 50, .max = 500};
constexpr api::PageSizes kTopContacts = {.default_size = 10, .max = 50};
constexpr absl::Duration kMaxStatsRange = absl::Hours(24 * 400);
constexpr size_t kExportChunkBytes = 60 * 1024;  // under the 64 KiB the API promises

void FillTotals(const Totals& t, v1::CallBucket* b) {
  b->set_total_calls(t.total);
  b->set_answered_calls(t.answered);
  b->set_missed_calls(t.missed);
  b->set_rejected_calls(t.rejected);
  b->set_failed_calls(t.failed);
  b->set_waiting_calls(t.waiting);
  b->set_inbound_calls(t.inbound);
  b->set_outbound_calls(t.outbound);
  b->mutable_total_duration()->set_seconds(t.duration_seconds);
  b->mutable_total_cost()->set_amount_micros(t.cost_micros);
  b->mutable_total_cost()->set_currency_code(t.currency.empty() ? "USD" : t.currency);
}

int32_t SuccessRateBps(const Totals& t) {
  return t.total == 0 ? 0 : static_cast<int32_t>(t.answered * 10000 / t.total);
}

void Add(Totals& sum, const Totals& t) {
  sum.total += t.total;
  sum.answered += t.answered;
  sum.missed += t.missed;
  sum.rejected += t.rejected;
  sum.failed += t.failed;
  sum.waiting += t.waiting;
  sum.inbound += t.inbound;
  sum.outbound += t.outbound;
  sum.duration_seconds += t.duration_seconds;
  sum.billed_minutes += t.billed_minutes;
  sum.cost_micros += t.cost_micros;
  if (sum.currency.empty()) sum.currency = t.currency;
}

}  // namespace

History::History(Store& store, const core::Clock& clock) : store_(store), clock_(clock) {}

absl::Status History::Get(absl::string_view tenant, absl::string_view call_id,
                          v1::GetCallResponse* resp) {
  RETURN_IF_ERROR(api::RequireId(call_id, "call_id"));
  ASSIGN_OR_RETURN(std::optional<Store::CallWithOffer> found, store_.GetWithOffer(tenant, call_id));
  if (!found.has_value()) return api::NotFound("call");
  const v1::Call& call = found->call;
  const bool answerable =
      call.direction() == v1::CALL_DIRECTION_INBOUND &&
      (call.state() == v1::CALL_STATE_OFFERED || call.state() == v1::CALL_STATE_RINGING);
  if (answerable) *resp->mutable_sdp_offer() = std::move(found->sdp_offer);
  *resp->mutable_call() = std::move(found->call);
  return absl::OkStatus();
}

absl::Status History::List(absl::string_view tenant, const v1::ListCallsRequest& req,
                           v1::ListCallsResponse* resp) {
  ASSIGN_OR_RETURN(int size, api::PageSize(req.page_size(), kCallPages));
  ASSIGN_OR_RETURN(query::Filter filter, query::ParseFilter(req.filter()));
  ASSIGN_OR_RETURN(std::string needle, query::NormalizeQuery(req.query()));
  const std::string binding = api::Binding("calls.ListCalls", query::Fingerprint(filter, needle));
  ASSIGN_OR_RETURN(std::optional<query::Cursor> after,
                   api::DecodePageToken(req.page_token(), binding));
  ASSIGN_OR_RETURN(CallPage page, store_.List(tenant, filter, needle, after, size));
  for (auto& c : page.calls) *resp->add_calls() = std::move(c);
  if (page.last.has_value()) {
    resp->set_next_page_token(api::EncodePageToken(*page.last, binding));
  }
  return absl::OkStatus();
}

absl::Status History::Stats(absl::string_view tenant, const v1::GetCallStatsRequest& req,
                            v1::GetCallStatsResponse* resp) {
  ASSIGN_OR_RETURN(query::Filter filter,
                   query::ParseFilter(req.filter(), query::TimeTerms::kRefused));
  absl::Time start, end;
  if (!req.has_start_time() && !req.has_end_time()) {
    ASSIGN_OR_RETURN(v1::CallsSettings settings, store_.Settings(tenant));
    ASSIGN_OR_RETURN(absl::TimeZone zone,
                     api::TimeZone(settings.time_zone(), "settings.time_zone"));
    std::tie(start, end) = query::MonthOf(clock_.Now(), zone);
  } else {
    if (!req.has_start_time() || !req.has_end_time()) {
      return core::InvalidArgument("INVALID_RANGE",
                                   "give both start_time and end_time, or neither");
    }
    ASSIGN_OR_RETURN(start, api::Time(req.start_time(), "start_time"));
    ASSIGN_OR_RETURN(end, api::Time(req.end_time(), "end_time"));
    if (end <= start || end - start > kMaxStatsRange) {
      return core::InvalidArgument("INVALID_RANGE",
                                   "end_time must follow start_time, at most 400 days later");
    }
  }
  ASSIGN_OR_RETURN(Totals t, store_.Stats(tenant, filter, start, end));
  *resp->mutable_start_time() = ToProto(start);
  *resp->mutable_end_time() = ToProto(end);
  resp->set_total_calls(t.total);
  resp->set_answered_calls(t.answered);
  resp->set_missed_calls(t.missed);
  resp->set_rejected_calls(t.rejected);
  resp->set_failed_calls(t.failed);
  resp->set_waiting_calls(t.waiting);
  resp->set_inbound_calls(t.inbound);
  resp->set_outbound_calls(t.outbound);
  resp->set_success_rate_bps(SuccessRateBps(t));
  resp->mutable_total_duration()->set_seconds(t.duration_seconds);
  resp->set_billed_minutes(t.billed_minutes);
  resp->mutable_total_cost()->set_amount_micros(t.cost_micros);
  resp->mutable_total_cost()->set_currency_code(t.currency.empty() ? "USD" : t.currency);
  resp->mutable_average_duration()->set_seconds(t.answered == 0 ? 0
                                                                : t.duration_seconds / t.answered);
  return absl::OkStatus();
}

absl::Status History::Analytics(absl::string_view tenant, const v1::GetCallAnalyticsRequest& req,
                                v1::GetCallAnalyticsResponse* resp) {
  ASSIGN_OR_RETURN(query::Filter filter,
                   query::ParseFilter(req.filter(), query::TimeTerms::kRefused));
  std::string zone_name = req.time_zone();
  if (zone_name.empty()) {
    ASSIGN_OR_RETURN(v1::CallsSettings settings, store_.Settings(tenant));
    zone_name = settings.time_zone();
  }
  ASSIGN_OR_RETURN(absl::TimeZone zone, api::TimeZone(zone_name, "time_zone"));
  if (req.top_contacts_limit() < 0) {
    return core::InvalidArgument("INVALID_TOP_CONTACTS_LIMIT", "top_contacts_limit must be >= 0",
                                 {{"field", "top_contacts_limit"}});
  }
  std::optional<absl::Time> custom_start, custom_end;
  if (req.has_start_time()) {
    ASSIGN_OR_RETURN(custom_start, api::Time(req.start_time(), "start_time"));
  }
  if (req.has_end_time()) {
    ASSIGN_OR_RETURN(custom_end, api::Time(req.end_time(), "end_time"));
  }
  ASSIGN_OR_RETURN(query::Period period,
                   query::ResolvePeriod(req.period(), req.granularity(), custom_start, custom_end,
                                        clock_.Now(), zone));
  ASSIGN_OR_RETURN(std::vector<Totals> buckets, store_.Buckets(tenant, filter, period));
  ASSIGN_OR_RETURN(int top_limit, api::PageSize(req.top_contacts_limit(), kTopContacts));
  ASSIGN_OR_RETURN(std::vector<TopContact> top,
                   store_.TopContacts(tenant, filter, period.start, period.end, top_limit));
  *resp->mutable_start_time() = ToProto(period.start);
  *resp->mutable_end_time() = ToProto(period.end);
  resp->set_granularity(period.granularity);
  Totals sum;
  for (size_t i = 0; i < buckets.size(); ++i) {
    v1::CallBucket* b = resp->add_buckets();
    *b->mutable_start_time() = ToProto(period.bucket_starts[i]);
    Add(sum, buckets[i]);
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    // One currency per tenant: empty buckets show it too.
    if (buckets[i].currency.empty()) buckets[i].currency = sum.currency;
    FillTotals(buckets[i], resp->mutable_buckets(static_cast<int>(i)));
  }
  FillTotals(sum, resp->mutable_totals());
  *resp->mutable_totals()->mutable_start_time() = ToProto(period.start);
  for (const TopContact& t : top) {
    v1::TopContact* out = resp->add_top_contacts();
    *out->mutable_contact() = t.contact;
    out->set_call_count(t.calls);
    out->mutable_total_duration()->set_seconds(t.duration_seconds);
  }
  resp->mutable_average_duration()->set_seconds(
      sum.answered == 0 ? 0 : sum.duration_seconds / sum.answered);
  resp->set_success_rate_bps(SuccessRateBps(sum));
  return absl::OkStatus();
}

absl::Status History::Export(absl::string_view tenant, const v1::ExportCallsRequest& req,
                             const std::function<absl::Status(const std::string& chunk)>& write) {
  ASSIGN_OR_RETURN(query::Filter filter, query::ParseFilter(req.filter()));
  ASSIGN_OR_RETURN(std::string needle, query::NormalizeQuery(req.query()));
  absl::TimeZone zone = absl::UTCTimeZone();
  if (!req.time_zone().empty()) {
    ASSIGN_OR_RETURN(zone, api::TimeZone(req.time_zone(), "time_zone"));
  }
  {
    absl::MutexLock lock(&mu_);
    int& running = exporting_[tenant];
    if (running >= kExportsPerTenant) {
      return core::Error(absl::StatusCode::kResourceExhausted, "EXPORT_LIMIT_REACHED",
                         absl::StrCat("at most ", kExportsPerTenant,
                                      " exports run at once for a tenant; wait for one to end"),
                         {{"max", absl::StrCat(kExportsPerTenant)}});
    }
    ++running;
  }
  absl::Cleanup done = [&] {
    absl::MutexLock lock(&mu_);
    if (--exporting_[tenant] == 0) exporting_.erase(tenant);
  };
  std::string buffer;
  buffer.reserve(kExportChunkBytes + 4096);
  format::AppendCsvHeader(&buffer);
  auto flush = [&]() -> absl::Status {
    RETURN_IF_ERROR(write(buffer));
    buffer.clear();
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(store_.Export(tenant, filter, needle, [&](const v1::Call& call) -> absl::Status {
    format::AppendCsvRow(call, zone, &buffer);
    if (buffer.size() >= kExportChunkBytes) return flush();
    return absl::OkStatus();
  }));
  if (!buffer.empty()) RETURN_IF_ERROR(flush());
  return absl::OkStatus();
}

}  // namespace switchboard::calls

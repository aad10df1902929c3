// `switchboardctl billing ...`: the billing service (switchboard.billing.v1.BillingService):
// the month's usage card, the rate plan, top-ups, the ledger, corrections, refunds and the calls
// kept aside.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "libs/core/error.h"
#include "libs/core/money.h"
#include "libs/core/proto_time.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"
#include "tools/switchboardctl/calls_table.h"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"
#include "tools/switchboardctl/table.h"

namespace switchboard::cli {
namespace {

namespace bv = billing::v1;
using BillingClient = Client<bv::BillingService>;
using Stub = bv::BillingService::Stub;

constexpr int kBarWidth = 20;

// The seed's usage card: "Monthly Usage: 450 / 1000 min", the bar, the minutes left.
void PrintUsage(const Args& args, const bv::Usage& u) {
  if (u.minutes_limit() == 0) {
    absl::FPrintF(args.out, "  Monthly Usage: %d min (no limit)  %s\n", u.minutes_used(),
                  u.month());
  } else {
    absl::FPrintF(args.out, "  Monthly Usage: %d / %d min  %s\n", u.minutes_used(),
                  u.minutes_limit(), u.month());
    const int filled =
        static_cast<int>(std::min<int64_t>(kBarWidth, u.percent_used() * kBarWidth / 100));
    absl::FPrintF(args.out, "  [%s%s] %d %%\n", std::string(filled, '#'),
                  std::string(kBarWidth - filled, '.'), u.percent_used());
    const int64_t left = u.minutes_limit() - u.minutes_used();
    if (left > 0) {
      absl::FPrintF(args.out, "  %d %s remaining\n", left, left == 1 ? "minute" : "minutes");
    } else {
      absl::FPrintF(args.out, "  no minutes remaining: new calls are blocked\n");
    }
    if (u.level() == bv::USAGE_LEVEL_WARNING) {
      absl::FPrintF(args.out, "  warning: %d %% of this month's minutes used\n", u.percent_used());
    }
  }
  absl::FPrintF(args.out, "  calls rated %d, cost %s; purchased %d min\n", u.rated_calls(),
                Amount(u.call_cost()), u.purchased_minutes());
  absl::FPrintF(args.out, "  month %s to %s (UTC)\n",
                LocalTime(u.start_time(), absl::UTCTimeZone()),
                LocalTime(u.end_time(), absl::UTCTimeZone()));
}

void PrintPlan(const Args& args, const bv::RatePlan& p) {
  absl::FPrintF(args.out, "  price            %s a minute, in %s increments\n",
                Amount(p.price_per_minute()),
                absl::FormatDuration(core::FromProto(p.billing_increment())));
  absl::FPrintF(
      args.out, "  monthly limit    %s\n",
      p.monthly_minutes_limit() == 0 ? "none" : absl::StrCat(p.monthly_minutes_limit(), " min"));
  absl::FPrintF(args.out, "  warning at       %d %%\n", p.usage_warning_percent());
  absl::FPrintF(args.out, "  top-ups          %s a minute\n",
                Amount(p.purchase_price_per_minute()));
  absl::FPrintF(args.out, "  inbound calls    %s\n", p.free_user_initiated() ? "free" : "charged");
  absl::FPrintF(args.out, "  months in        %s\n", p.time_zone());
  for (const bv::CountryRate& r : p.country_rates()) {
    absl::FPrintF(args.out, "  rate %-11s %s a minute\n",
                  r.region_code().empty() ? "+" + r.prefix() : r.region_code(),
                  Amount(r.price_per_minute()));
  }
  for (const bv::VolumeTier& t : p.volume_tiers()) {
    absl::FPrintF(args.out, "  from %-7d min %s a minute\n", t.from_minutes(),
                  Amount(t.price_per_minute()));
  }
}

void PrintEntry(const Args& args, const bv::UsageEntry& e) {
  std::string what = e.call_id();
  if (!e.reason().empty()) absl::StrAppend(&what, what.empty() ? "" : ": ", e.reason());
  absl::FPrintF(args.out, "  %s  %-10s %s  %6d min  %12s  %s\n", e.entry_id(),
                Short(bv::UsageEntryKind_Name(e.kind()), "USAGE_ENTRY_KIND_"), e.month(),
                e.minutes(), Amount(e.amount()), what);
}

absl::StatusOr<events::v1::Money> MoneyFlag(const Args& args, const std::string& name,
                                            const std::string& currency) {
  absl::StatusOr<core::Money> m = core::Money::Parse(args.Flag(name), currency);
  if (!m.ok()) return UsageError(absl::StrCat("--", name, " must be an amount such as 0.005"));
  events::v1::Money out;
  out.set_amount_micros(m->micros());
  out.set_currency_code(m->currency());
  return out;
}

absl::StatusOr<int64_t> IntFlag(const Args& args, const std::string& name) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(args.Flag(name), &n)) {
    return UsageError(absl::StrCat("--", name, " must be a whole number"));
  }
  return n;
}

absl::Status Usage(const Args& args, const BillingClient& client) {
  bv::GetUsageRequest req;
  req.set_month(args.Flag("month"));
  return client.Show(args, &Stub::GetUsage, req,
                     [&](const bv::GetUsageResponse& r) { PrintUsage(args, r.usage()); });
}

absl::Status Plan(const Args& args, const BillingClient& client) {
  return client.Show(args, &Stub::GetRatePlan, {},
                     [&](const bv::GetRatePlanResponse& r) { PrintPlan(args, r.rate_plan()); });
}

absl::Status SetPlan(const Args& args, const BillingClient& client) {
  bv::UpdateRatePlanRequest req;
  bv::RatePlan& p = *req.mutable_rate_plan();
  auto mask = [&](const char* path) { req.mutable_update_mask()->add_paths(path); };
  const std::string currency = args.Has("currency") ? args.Flag("currency") : "USD";
  if (args.Has("price")) {
    ASSIGN_OR_RETURN(*p.mutable_price_per_minute(), MoneyFlag(args, "price", currency));
    mask("price_per_minute");
  }
  if (args.Has("increment")) {
    absl::Duration d;
    if (!absl::ParseDuration(args.Flag("increment"), &d)) {
      return UsageError("--increment must be a duration such as 6s");
    }
    *p.mutable_billing_increment() = core::ToProto(d);
    mask("billing_increment");
  }
  if (args.Has("limit")) {
    ASSIGN_OR_RETURN(int64_t limit, IntFlag(args, "limit"));
    p.set_monthly_minutes_limit(limit);
    mask("monthly_minutes_limit");
  }
  if (args.Has("warning")) {
    ASSIGN_OR_RETURN(int64_t percent, IntFlag(args, "warning"));
    p.set_usage_warning_percent(static_cast<int32_t>(percent));
    mask("usage_warning_percent");
  }
  if (args.Has("zone")) {
    p.set_time_zone(args.Flag("zone"));
    mask("time_zone");
  }
  if (args.Has("free-inbound")) {
    const std::string v = args.Flag("free-inbound");
    if (v != "true" && v != "false") return UsageError("--free-inbound must be true or false");
    p.set_free_user_initiated(v == "true");
    mask("free_user_initiated");
  }
  req.set_request_id(RequestId(args));
  return client.Show(args, &Stub::UpdateRatePlan, req,
                     [&](const bv::UpdateRatePlanResponse& r) { PrintPlan(args, r.rate_plan()); });
}

absl::Status TopUp(const Args& args, const BillingClient& client) {
  bv::PurchaseMinutesRequest req;
  ASSIGN_OR_RETURN(int64_t minutes, IntFlag(args, "minutes"));
  req.set_minutes(minutes);
  req.set_request_id(RequestId(args));
  return client.Show(args, &Stub::PurchaseMinutes, req, [&](const bv::PurchaseMinutesResponse& r) {
    absl::FPrintF(args.out, "  bought %d minutes for %s\n", r.entry().minutes(),
                  Amount(r.entry().amount()));
    PrintUsage(args, r.usage());
  });
}

absl::Status Entries(const Args& args, const BillingClient& client) {
  bv::ListUsageEntriesRequest req;
  req.set_filter(args.Flag("filter"));
  RETURN_IF_ERROR(Page(args, &req));
  return client.Show(args, &Stub::ListUsageEntries, req,
                     [&](const bv::ListUsageEntriesResponse& r) {
                       for (const auto& e : r.entries()) PrintEntry(args, e);
                       Print(args, NextPage(r.next_page_token()));
                     });
}

absl::Status Adjust(const Args& args, const BillingClient& client) {
  bv::AdjustUsageRequest req;
  req.set_reason(args.Flag("reason"));
  req.set_call_id(args.Flag("call"));
  if (args.Has("duration")) {
    absl::Duration d;
    if (!absl::ParseDuration(args.Flag("duration"), &d)) {
      return UsageError("--duration must be a duration such as 1m5s");
    }
    *req.mutable_duration() = core::ToProto(d);
  }
  if (args.Has("minutes")) {
    ASSIGN_OR_RETURN(int64_t minutes, IntFlag(args, "minutes"));
    req.set_minutes(minutes);
  }
  if (args.Has("amount")) {
    ASSIGN_OR_RETURN(
        *req.mutable_amount(),
        MoneyFlag(args, "amount", args.Has("currency") ? args.Flag("currency") : "USD"));
  }
  req.set_request_id(RequestId(args));
  return client.Show(args, &Stub::AdjustUsage, req, [&](const bv::AdjustUsageResponse& r) {
    for (const auto& e : r.entries()) PrintEntry(args, e);
    PrintUsage(args, r.usage());
  });
}

absl::Status Refund(const Args& args, const BillingClient& client) {
  bv::RefundCallRequest req;
  req.set_call_id(args.Flag("call"));
  req.set_reason(args.Flag("reason"));
  req.set_request_id(RequestId(args));
  return client.Show(args, &Stub::RefundCall, req, [&](const bv::RefundCallResponse& r) {
    PrintEntry(args, r.entry());
    PrintUsage(args, r.usage());
  });
}

absl::Status Quarantine(const Args& args, const BillingClient& client) {
  bv::ListQuarantinedCallsRequest req;
  RETURN_IF_ERROR(Page(args, &req));
  return client.Show(args, &Stub::ListQuarantinedCalls, req,
                     [&](const bv::ListQuarantinedCallsResponse& r) {
                       if (r.calls().empty()) absl::FPrintF(args.out, "  nothing kept aside\n");
                       for (const auto& q : r.calls()) {
                         absl::FPrintF(args.out, "  %s rated %s, came again as %s (%d times)\n",
                                       q.call_id(), TalkTime(q.rated_duration()),
                                       TalkTime(q.received_duration()), q.occurrences());
                       }
                       Print(args, NextPage(r.next_page_token()));
                     });
}

void PrintInvoice(const Args& args, const bv::Invoice& inv) {
  const bool credit = inv.kind() == bv::INVOICE_KIND_CREDIT_NOTE;
  absl::FPrintF(args.out, "  %-11s %-10s %s  %-6s total %s%s\n",
                inv.number().empty() ? "(draft)" : inv.number(), credit ? "credit" : "invoice",
                inv.month(), Short(bv::InvoiceStatus_Name(inv.status()), "INVOICE_STATUS_"),
                Amount(inv.total()),
                inv.invoice_id().empty() ? "" : absl::StrCat("  id ", inv.invoice_id()));
}

void PrintInvoiceLines(const Args& args, const bv::Invoice& inv) {
  PrintInvoice(args, inv);
  if (!inv.credited_invoice_number().empty()) {
    absl::FPrintF(args.out, "  credits %s\n", inv.credited_invoice_number());
  }
  for (const bv::InvoiceLine& l : inv.lines()) {
    absl::FPrintF(args.out, "    %-60s %6d min  %12s\n", l.description(), l.quantity_minutes(),
                  Amount(l.amount()));
  }
}

constexpr std::pair<const char*, bv::InvoiceFormat> kFormats[] = {
    {"pdf", bv::INVOICE_FORMAT_PDF},
    {"csv", bv::INVOICE_FORMAT_CSV},
    {"json", bv::INVOICE_FORMAT_JSON}};

absl::Status Invoices(const Args& args, const BillingClient& client) {
  bv::ListInvoicesRequest req;
  RETURN_IF_ERROR(Page(args, &req));
  return client.Show(args, &Stub::ListInvoices, req, [&](const bv::ListInvoicesResponse& r) {
    for (const auto& inv : r.invoices()) PrintInvoice(args, inv);
    Print(args, NextPage(r.next_page_token()));
  });
}

absl::Status Invoice(const Args& args, const BillingClient& client) {
  bv::GetInvoiceRequest req;
  req.set_invoice_id(args.Flag("id"));
  return client.Show(args, &Stub::GetInvoice, req, [&](const bv::GetInvoiceResponse& r) {
    PrintInvoiceLines(args, r.invoice());
  });
}

absl::Status Download(const Args& args, const BillingClient& client) {
  bv::DownloadInvoiceRequest req;
  req.set_invoice_id(args.Flag("id"));
  ASSIGN_OR_RETURN(bv::InvoiceFormat format,
                   EnumFlag(args, "format", kFormats, bv::INVOICE_FORMAT_PDF));
  req.set_format(format);
  ASSIGN_OR_RETURN(std::unique_ptr<grpc::ClientContext> ctx, client.Context());
  auto reader = client.stub().DownloadInvoice(ctx.get(), req);
  bv::DownloadInvoiceResponse piece;
  std::string bytes, name;
  while (reader->Read(&piece)) {
    if (!piece.file_name().empty()) name = piece.file_name();
    bytes += piece.chunk();
  }
  RETURN_IF_ERROR(client.ToStatus(reader->Finish()));
  const std::string path = args.Has("out") ? args.Flag("out") : name;
  FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), out) != bytes.size() ||
      std::fclose(out) != 0) {
    return core::Error(absl::StatusCode::kFailedPrecondition, "CANNOT_WRITE",
                       absl::StrCat("cannot write ", path));
  }
  if (!args.json()) absl::FPrintF(args.out, "  wrote %d bytes to %s\n", bytes.size(), path);
  return absl::OkStatus();
}

absl::Status Costs(const Args& args, const BillingClient& client) {
  bv::GetCostAnalyticsRequest req;
  ASSIGN_OR_RETURN(int32_t days, CountFlag(args, "days"));
  req.set_days(days);
  return client.Show(
      args, &Stub::GetCostAnalytics, req, [&](const bv::GetCostAnalyticsResponse& r) {
        absl::FPrintF(args.out, "  %-12s %10s %8s %6s   (%s)\n", "DAY", "COST", "MINUTES", "CALLS",
                      r.time_zone());
        for (const auto& d : r.days()) {
          absl::FPrintF(args.out, "  %-12s %10s %8d %6d\n", d.date(), Amount(d.cost()), d.minutes(),
                        d.calls());
        }
        absl::FPrintF(args.out, "  %-12s %10s %8d %6d\n", "total", Amount(r.total().cost()),
                      r.total().minutes(), r.total().calls());
        for (const auto& d : r.directions()) {
          absl::FPrintF(args.out, "  %-12s %10s %8d %6d\n",
                        d.direction() == calls::v1::CALL_DIRECTION_INBOUND ? "inbound" : "outbound",
                        Amount(d.cost()), d.minutes(), d.calls());
        }
        for (const auto& c : r.countries()) {
          absl::FPrintF(args.out, "  %-12s %10s %8d %6d\n",
                        c.region_code().empty() ? "(unknown)" : c.region_code(), Amount(c.cost()),
                        c.minutes(), c.calls());
        }
      });
}

constexpr char kUsage[] =
    R"(  billing usage [--month=YYYY-MM]                           the month's usage card
  billing plan                                              the rate plan
  billing plan set [--price=0.005] [--currency=USD] [--increment=60s] [--limit=MIN]
                   [--warning=80] [--zone=IANA] [--free-inbound=true|false]
                                                            change it (admin role)
  billing topup --minutes=N                                 buy minutes for this month (admin)
  billing entries [--filter=F] [--page-size=N] [--page-token=T]
                                                            the ledger, newest first, e.g.
                                                            --filter='kind = CALL'
  billing adjust --reason=R (--call=ID --duration=1m5s | --minutes=N [--amount=X])
                                                            correct a call, or adjust (admin)
  billing refund --call=ID --reason=R                       refund a rated call (admin)
  billing quarantine [--page-size=N] [--page-token=T]       calls that came again with another
                                                            duration, for an admin to settle
  billing costs [--days=30]                                 calls' cost per day in the plan's
                                                            zone, per direction and country
  billing invoices [--page-size=N] [--page-token=T]         this month's draft, then invoices
                                                            and credit notes, newest first
  billing invoice --id=ID                                   one invoice, line by line
  billing download --id=ID [--format=pdf|csv|json] [--out=FILE]
                                                            the document (default: its number)
)";

int RunBilling(const Args& args) {
  static const std::vector<Verb<bv::BillingService>> kVerbs = {
      {"usage", {.optional = {"month"}}, Usage},
      {"plan", {}, Plan},
      {"plan set",
       {.optional = {"price", "currency", "increment", "limit", "warning", "zone", "free-inbound",
                     "request-id"}},
       SetPlan},
      {"topup", {.required = {"minutes"}, .optional = {"request-id"}}, TopUp},
      {"entries", {.optional = {"filter", "page-size", "page-token"}}, Entries},
      {"adjust",
       {.required = {"reason"},
        .optional = {"call", "duration", "minutes", "amount", "currency", "request-id"}},
       Adjust},
      {"refund", {.required = {"call", "reason"}, .optional = {"request-id"}}, Refund},
      {"quarantine", {.optional = {"page-size", "page-token"}}, Quarantine},
      {"costs", {.optional = {"days"}}, Costs},
      {"invoices", {.optional = {"page-size", "page-token"}}, Invoices},
      {"invoice", {.required = {"id"}}, Invoice},
      {"download", {.required = {"id"}, .optional = {"format", "out"}}, Download},
  };
  return RunVerbs(args, kVerbs);
}

}  // namespace

const Command kBillingCommand = {"billing", kUsage, RunBilling};

}  // namespace switchboard::cli

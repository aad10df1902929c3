#include "services/billing/rules/invoice.h"

#include <map>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "libs/core/money.h"

namespace switchboard::billing::rules {
namespace {

std::string Price(const events::v1::Money& m) {
  return core::Money(m.amount_micros(), m.currency_code().empty() ? "USD" : m.currency_code())
      .ToString();
}

std::string Direction(calls::v1::CallDirection d) {
  return d == calls::v1::CALL_DIRECTION_INBOUND ? "inbound" : "outbound";
}

std::string Prior(absl::string_view entry_month, absl::string_view month) {
  return entry_month == month ? "" : std::string(entry_month);
}

std::string WithPrior(const std::string& prior, const std::string& text) {
  return prior.empty() ? text : absl::StrCat(prior, " (prior period): ", text);
}

void Add(v1::InvoiceLine& line, const v1::UsageEntry& e) {
  line.set_quantity_minutes(line.quantity_minutes() + e.minutes());
  line.mutable_amount()->set_amount_micros(line.amount().amount_micros() +
                                           e.amount().amount_micros());
  line.mutable_amount()->set_currency_code(e.amount().currency_code());
  line.set_entries(line.entries() + 1);
}

}  // namespace

std::vector<v1::InvoiceLine> Lines(const std::vector<v1::UsageEntry>& entries,
                                   absl::string_view month) {
  // Calls by (prior month, direction, region, price, free); purchases by prior month.
  using CallKey = std::tuple<std::string, int, std::string, int64_t, bool>;
  std::map<CallKey, v1::InvoiceLine> calls;
  std::map<std::string, v1::InvoiceLine> purchases;
  std::vector<v1::InvoiceLine> singles;
  for (const v1::UsageEntry& e : entries) {
    const std::string prior = Prior(e.month(), month);
    switch (e.kind()) {
      case v1::USAGE_ENTRY_KIND_CALL: {
        v1::InvoiceLine& line = calls[{prior, e.direction(), e.region_code(),
                                       e.price_per_minute().amount_micros(), e.free()}];
        if (line.entries() == 0) {
          line.set_kind(v1::INVOICE_LINE_KIND_CALLS);
          line.set_prior_period_month(prior);
          *line.mutable_unit_price() = e.price_per_minute();
          std::string text = absl::StrCat("Calls, ", Direction(e.direction()));
          if (!e.region_code().empty()) absl::StrAppend(&text, ", ", e.region_code());
          absl::StrAppend(&text, e.free()
                                     ? " (free)"
                                     : absl::StrCat(" at ", Price(e.price_per_minute()), "/min"));
          line.set_description(WithPrior(prior, text));
        }
        Add(line, e);
        break;
      }
      case v1::USAGE_ENTRY_KIND_PURCHASE: {
        v1::InvoiceLine& line = purchases[prior];
        if (line.entries() == 0) {
          line.set_kind(v1::INVOICE_LINE_KIND_PURCHASE);
          line.set_prior_period_month(prior);
          *line.mutable_unit_price() = e.price_per_minute();
          line.set_description(WithPrior(prior, "Purchased minutes"));
        }
        Add(line, e);
        break;
      }
      default: {
        v1::InvoiceLine line;
        const bool reversal = e.kind() == v1::USAGE_ENTRY_KIND_REVERSAL;
        line.set_kind(reversal ? v1::INVOICE_LINE_KIND_REVERSAL : v1::INVOICE_LINE_KIND_ADJUSTMENT);
        line.set_prior_period_month(prior);
        line.set_reason(e.reason());
        std::string text =
            reversal ? absl::StrCat("Reversal of call ", e.call_id()) : std::string("Adjustment");
        if (!e.reason().empty()) absl::StrAppend(&text, ": ", e.reason());
        line.set_description(WithPrior(prior, text));
        Add(line, e);
        singles.push_back(std::move(line));
        break;
      }
    }
  }
  std::vector<v1::InvoiceLine> out;
  for (auto& [key, line] : calls) out.push_back(std::move(line));
  for (auto& [key, line] : purchases) out.push_back(std::move(line));
  for (auto& line : singles) out.push_back(std::move(line));
  return out;
}

v1::InvoiceLine CreditLine(const v1::UsageEntry& reversal, const v1::Invoice& credited) {
  v1::InvoiceLine line;
  line.set_kind(v1::INVOICE_LINE_KIND_CREDIT);
  line.set_reason(reversal.reason());
  line.set_prior_period_month(reversal.month());
  std::string text =
      absl::StrCat("Credit for call ", reversal.call_id(), " billed on ", credited.number());
  if (!reversal.reason().empty()) absl::StrAppend(&text, ": ", reversal.reason());
  line.set_description(text);
  Add(line, reversal);
  return line;
}

int64_t TotalMicros(const std::vector<v1::InvoiceLine>& lines) {
  int64_t total = 0;
  for (const v1::InvoiceLine& l : lines) total += l.amount().amount_micros();
  return total;
}

std::string Number(v1::InvoiceKind kind, int64_t n) {
  return absl::StrFormat("%s-%06d", kind == v1::INVOICE_KIND_CREDIT_NOTE ? "CN" : "INV", n);
}

}  // namespace switchboard::billing::rules

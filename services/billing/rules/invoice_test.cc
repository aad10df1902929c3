#include "services/billing/rules/invoice.h"

#include <catch2/catch.hpp>

namespace rules = switchboard::billing::rules;
namespace v1 = switchboard::billing::v1;
namespace calls = switchboard::calls::v1;

namespace {

v1::UsageEntry Call(const std::string& month, const std::string& region, int64_t price,
                    int64_t minutes, calls::CallDirection d = calls::CALL_DIRECTION_OUTBOUND) {
  v1::UsageEntry e;
  e.set_kind(v1::USAGE_ENTRY_KIND_CALL);
  e.set_month(month);
  e.set_call_id("call-" + region + std::to_string(minutes));
  e.set_region_code(region);
  e.set_direction(d);
  e.mutable_price_per_minute()->set_amount_micros(price);
  e.mutable_price_per_minute()->set_currency_code("USD");
  e.set_minutes(minutes);
  e.mutable_amount()->set_amount_micros(price * minutes);
  e.mutable_amount()->set_currency_code("USD");
  return e;
}

}  // namespace

TEST_CASE("an invoice groups calls by price, sums purchases, lists adjustments one by one") {
  v1::UsageEntry purchase;
  purchase.set_kind(v1::USAGE_ENTRY_KIND_PURCHASE);
  purchase.set_month("2026-11");
  purchase.set_minutes(100);
  purchase.mutable_amount()->set_amount_micros(500'000);
  v1::UsageEntry credit;
  credit.set_kind(v1::USAGE_ENTRY_KIND_ADJUSTMENT);
  credit.set_month("2026-11");
  credit.set_reason("goodwill");
  credit.mutable_amount()->set_amount_micros(-20'000);
  const std::vector<v1::UsageEntry> entries = {
      Call("2026-11", "BR", 5'000, 6),
      Call("2026-11", "BR", 5'000, 2),
      Call("2026-11", "US", 4'000, 3),
      Call("2026-10", "BR", 5'000, 1),  // late: prior period
      purchase,
      purchase,
      credit};
  const std::vector<v1::InvoiceLine> lines = rules::Lines(entries, "2026-11");
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].description() == "Calls, outbound, BR at $0.005/min");
  CHECK(lines[0].quantity_minutes() == 8);
  CHECK(lines[0].amount().amount_micros() == 40'000);
  CHECK(lines[0].entries() == 2);
  CHECK(lines[1].description() == "Calls, outbound, US at $0.004/min");
  CHECK(lines[2].description() == "2026-10 (prior period): Calls, outbound, BR at $0.005/min");
  CHECK(lines[2].prior_period_month() == "2026-10");
  CHECK(lines[3].kind() == v1::INVOICE_LINE_KIND_PURCHASE);
  CHECK(lines[3].quantity_minutes() == 200);
  CHECK(lines[3].amount().amount_micros() == 1'000'000);
  CHECK(lines[4].description() == "Adjustment: goodwill");
  CHECK(rules::TotalMicros(lines) == 40'000 + 12'000 + 5'000 + 1'000'000 - 20'000);
}

TEST_CASE("a credit note's line names the call and the invoice it credits") {
  v1::UsageEntry reversal = Call("2026-10", "BR", 5'000, -2);
  reversal.set_kind(v1::USAGE_ENTRY_KIND_REVERSAL);
  reversal.set_call_id("call-9");
  reversal.set_reason("no audio");
  v1::Invoice credited;
  credited.set_number("INV-000004");
  const v1::InvoiceLine line = rules::CreditLine(reversal, credited);
  CHECK(line.kind() == v1::INVOICE_LINE_KIND_CREDIT);
  CHECK(line.description() == "Credit for call call-9 billed on INV-000004: no audio");
  CHECK(line.amount().amount_micros() == -10'000);
  CHECK(rules::Number(v1::INVOICE_KIND_INVOICE, 7) == "INV-000007");
  CHECK(rules::Number(v1::INVOICE_KIND_CREDIT_NOTE, 12) == "CN-000012");
}

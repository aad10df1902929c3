// What an invoice bills, from the ledger entries it takes: calls grouped by the price they
// were rated at (with direction and region), purchases summed, each adjustment and reversal on
// a line of its own with its reason; entries of an earlier month on prior-period lines. A
// credit note has one CREDIT line per reversal of an entry an earlier invoice billed. Pure.
//
//   std::vector<v1::InvoiceLine> lines = rules::Lines(entries, "2026-11");
//   invoice.set_number(rules::Number(v1::INVOICE_KIND_INVOICE, 7));   // "INV-000007"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "switchboard/billing/v1/billing_service.pb.h"

namespace switchboard::billing::rules {

// The lines of the invoice for `month` billing `entries` (of `month` or before).
std::vector<v1::InvoiceLine> Lines(const std::vector<v1::UsageEntry>& entries,
                                   absl::string_view month);

// A credit note's line for `reversal`, which cancels an entry billed on `credited`.
v1::InvoiceLine CreditLine(const v1::UsageEntry& reversal, const v1::Invoice& credited);

// The sum of the lines' amounts.
int64_t TotalMicros(const std::vector<v1::InvoiceLine>& lines);

// "INV-000007", "CN-000002".
std::string Number(v1::InvoiceKind kind, int64_t n);

}  // namespace switchboard::billing::rules

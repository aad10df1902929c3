// Invoices: issued at each month's end in the plan's zone (a periodic sweep), immutable once
// issued (a stored snapshot every download renders), gap-free numbers per tenant; credit notes
// for reversals of entries an invoice billed; the current month's DRAFT. Each ledger entry is
// billed by one document, ever (`invoice_items`), so a late call lands on the next invoice as a
// prior-period line and an issued invoice never changes.
//
//   Invoices invoices(pool, plans, clock);
//   every 5 s: invoices.IssueDue();
//   inside a refund's transaction: invoices.CreditIfBilled(tx, tenant, reversed, reversal, ...);
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/pg/pg.h"
#include "services/billing/plans.h"
#include "switchboard/billing/v1/billing_service.pb.h"

namespace switchboard::billing {

class Invoices {
 public:
  Invoices(pg::Pool& pool, Plans& plans, const core::Clock& clock);

  // Issues the invoice of every month that ended in its tenant's zone and has none yet.
  // Returns how many were issued.
  absl::StatusOr<int> IssueDue();

  // Inside the caller's transaction, after `reversal` (appended) cancelled `reversed`: when an
  // invoice billed `reversed`, issues a credit note against it with the reversal as its line;
  // otherwise the reversal waits for the next invoice like any entry.
  absl::Status CreditIfBilled(pg::Conn& tx, const std::string& tenant,
                              const v1::UsageEntry& reversed, const v1::UsageEntry& reversal,
                              const v1::RatePlan& plan, absl::Time now);

  absl::Status List(const auth::Principal& caller, const v1::ListInvoicesRequest& req,
                    v1::ListInvoicesResponse* resp);
  absl::StatusOr<v1::Invoice> Get(const auth::Principal& caller, const v1::GetInvoiceRequest& req);
  // Streams the document: `write` gets each piece (false: the client went away).
  absl::Status Download(const auth::Principal& caller, const v1::DownloadInvoiceRequest& req,
                        const std::function<bool(const v1::DownloadInvoiceResponse&)>& write);

  static constexpr int kIssueBatch = 50;
  static constexpr absl::Duration kPaymentTerm = absl::Hours(24 * 15);
  static constexpr size_t kChunk = 64 * 1024;

 private:
  // Issues `month`'s invoice for `tenant` if it ended by `now` and has none. True when issued.
  absl::StatusOr<bool> Issue(const std::string& tenant, const std::string& month, absl::Time now);

  pg::Pool& pool_;
  Plans& plans_;
  const core::Clock& clock_;
};

}  // namespace switchboard::billing

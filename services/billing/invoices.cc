#include "services/billing/invoices.h"

#include "absl/strings/str_cat.h"
#include "libs/api/page.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "services/billing/documents.h"
#include "services/billing/rules/invoice.h"
#include "services/billing/rules/months.h"
#include "services/billing/rules/plan.h"
#include "services/billing/store/store.h"

namespace switchboard::billing {
namespace {

constexpr api::PageSizes kInvoicePages = {.default_size = 12, .max = 100};

// A document for `tenant` and `month` billing `lines`, not yet numbered.
v1::Invoice Compose(const std::string& tenant, const rules::Month& month, const v1::RatePlan& plan,
                    std::vector<v1::InvoiceLine> lines) {
  v1::Invoice inv;
  inv.set_tenant_id(tenant);
  inv.set_month(month.id);
  inv.set_time_zone(plan.time_zone());
  *inv.mutable_period_start_time() = core::ToProto(month.start);
  *inv.mutable_period_end_time() = core::ToProto(month.end);
  inv.mutable_total()->set_amount_micros(rules::TotalMicros(lines));
  inv.mutable_total()->set_currency_code(plan.price_per_minute().currency_code());
  for (v1::InvoiceLine& l : lines) *inv.add_lines() = std::move(l);
  return inv;
}

std::vector<std::string> IdsOf(const std::vector<v1::UsageEntry>& entries) {
  std::vector<std::string> ids;
  ids.reserve(entries.size());
  for (const v1::UsageEntry& e : entries) ids.push_back(e.entry_id());
  return ids;
}

absl::Status NotFound(const std::string& id) {
  return core::Error(absl::StatusCode::kNotFound, "INVOICE_NOT_FOUND",
                     absl::StrCat("no invoice ", id), {{"invoice_id", id}});
}

}  // namespace

Invoices::Invoices(pg::Pool& pool, Plans& plans, const core::Clock& clock)
    : pool_(pool), plans_(plans), clock_(clock) {}

absl::StatusOr<int> Invoices::IssueDue() {
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(std::vector<store::MonthKey> open, store::DueMonths(pool_, now, kIssueBatch));
  int issued = 0;
  for (const store::MonthKey& key : open) {
    ASSIGN_OR_RETURN(bool done, Issue(key.tenant, key.month, now));
    if (done) ++issued;
  }
  return issued;
}

absl::StatusOr<bool> Invoices::Issue(const std::string& tenant, const std::string& month_id,
                                     absl::Time now) {
  bool issued = false;
  v1::Invoice inv;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    issued = false;
    ASSIGN_OR_RETURN(v1::RatePlan plan, plans_.Of(tx, tenant));
    ASSIGN_OR_RETURN(rules::Month month, rules::ParseMonth(month_id, rules::ZoneOf(plan)));
    if (month.end > now) {  // not over yet in the plan's zone (it changed): look again then
      return store::SetCloseTime(tx, tenant, month.id, month.end);
    }
    ASSIGN_OR_RETURN(bool open, store::LockOpenMonth(tx, tenant, month.id));
    if (!open) return absl::OkStatus();  // another replica issued it
    ASSIGN_OR_RETURN(std::vector<v1::UsageEntry> entries,
                     store::UninvoicedEntries(tx, tenant, month.id));
    inv = Compose(tenant, month, plan, rules::Lines(entries, month.id));
    inv.set_invoice_id(core::NewId());
    inv.set_kind(v1::INVOICE_KIND_INVOICE);
    inv.set_status(v1::INVOICE_STATUS_OPEN);
    ASSIGN_OR_RETURN(int64_t n, store::NextInvoiceNumber(tx, tenant, v1::INVOICE_KIND_INVOICE));
    inv.set_number(rules::Number(v1::INVOICE_KIND_INVOICE, n));
    *inv.mutable_issue_time() = core::ToProto(now);
    *inv.mutable_due_time() = core::ToProto(now + kPaymentTerm);
    RETURN_IF_ERROR(store::SaveInvoice(tx, tenant, inv, IdsOf(entries)));
    RETURN_IF_ERROR(store::MarkInvoiced(tx, tenant, month.id));
    issued = true;
    return absl::OkStatus();
  }));
  if (issued) {
    log::Info("invoice issued", {{"tenant", tenant},
                                 {"month", month_id},
                                 {"number", inv.number()},
                                 {"lines", absl::StrCat(inv.lines_size())},
                                 {"total_micros", absl::StrCat(inv.total().amount_micros())}});
  }
  return issued;
}

absl::Status Invoices::CreditIfBilled(pg::Conn& tx, const std::string& tenant,
                                      const v1::UsageEntry& reversed,
                                      const v1::UsageEntry& reversal, const v1::RatePlan& plan,
                                      absl::Time now) {
  ASSIGN_OR_RETURN(std::optional<v1::Invoice> billed,
                   store::InvoiceOf(tx, tenant, reversed.entry_id()));
  if (!billed.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(rules::Month month, rules::ParseMonth(reversal.month(), rules::ZoneOf(plan)));
  v1::Invoice note = Compose(tenant, month, plan, {rules::CreditLine(reversal, *billed)});
  note.set_invoice_id(core::NewId());
  note.set_kind(v1::INVOICE_KIND_CREDIT_NOTE);
  note.set_status(v1::INVOICE_STATUS_OPEN);
  note.set_credited_invoice_id(billed->invoice_id());
  note.set_credited_invoice_number(billed->number());
  ASSIGN_OR_RETURN(int64_t n, store::NextInvoiceNumber(tx, tenant, v1::INVOICE_KIND_CREDIT_NOTE));
  note.set_number(rules::Number(v1::INVOICE_KIND_CREDIT_NOTE, n));
  *note.mutable_issue_time() = core::ToProto(now);
  *note.mutable_due_time() = core::ToProto(now);
  return store::SaveInvoice(tx, tenant, note, {reversal.entry_id()});
}

absl::Status Invoices::List(const auth::Principal& caller, const v1::ListInvoicesRequest& req,
                            v1::ListInvoicesResponse* resp) {
  const std::string& tenant = caller.tenant_id;
  ASSIGN_OR_RETURN(int size, api::PageSize(req.page_size(), kInvoicePages));
  const std::string binding = api::Binding("billing.ListInvoices");
  ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                   api::DecodePageToken(req.page_token(), binding));
  if (!after.has_value()) {  // the first page opens with what the month so far would bill
    ASSIGN_OR_RETURN(v1::RatePlan plan, plans_.Of(tenant));
    const rules::Month month = rules::MonthOf(clock_.Now(), rules::ZoneOf(plan));
    std::vector<v1::UsageEntry> entries;
    RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
      ASSIGN_OR_RETURN(entries, store::UninvoicedEntries(tx, tenant, month.id));
      return absl::OkStatus();
    }));
    v1::Invoice draft = Compose(tenant, month, plan, rules::Lines(entries, month.id));
    draft.set_kind(v1::INVOICE_KIND_INVOICE);
    draft.set_status(v1::INVOICE_STATUS_DRAFT);
    *resp->add_invoices() = std::move(draft);
  }
  ASSIGN_OR_RETURN(
      std::vector<v1::Invoice> issued,
      store::ListInvoices(pool_, tenant, after.has_value() ? after->id : "", size + 1));
  const bool more = static_cast<int>(issued.size()) > size;
  if (more) issued.resize(size);
  for (v1::Invoice& inv : issued) *resp->add_invoices() = std::move(inv);
  if (more) {
    resp->set_next_page_token(
        api::EncodePageToken({.id = resp->invoices().rbegin()->invoice_id()}, binding));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Invoice> Invoices::Get(const auth::Principal& caller,
                                          const v1::GetInvoiceRequest& req) {
  RETURN_IF_ERROR(api::RequireId(req.invoice_id(), "invoice_id"));
  std::optional<v1::Invoice> found;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(found, store::GetInvoice(tx, caller.tenant_id, req.invoice_id()));
    return absl::OkStatus();
  }));
  if (!found.has_value()) return NotFound(req.invoice_id());
  return *found;
}

absl::Status Invoices::Download(
    const auth::Principal& caller, const v1::DownloadInvoiceRequest& req,
    const std::function<bool(const v1::DownloadInvoiceResponse&)>& write) {
  v1::GetInvoiceRequest get;
  get.set_invoice_id(req.invoice_id());
  ASSIGN_OR_RETURN(v1::Invoice inv, Get(caller, get));
  ASSIGN_OR_RETURN(Document doc, Render(inv, req.format()));
  v1::DownloadInvoiceResponse piece;
  piece.set_content_type(doc.content_type);
  piece.set_file_name(doc.file_name);
  size_t at = 0;
  do {
    piece.set_chunk(doc.bytes.substr(at, kChunk));
    at += kChunk;
    if (!write(piece)) {
      return core::Error(absl::StatusCode::kCancelled, "DOWNLOAD_CANCELLED",
                         "the client stopped reading the document");
    }
    piece.clear_content_type();
    piece.clear_file_name();
  } while (at < doc.bytes.size());
  return absl::OkStatus();
}

}  // namespace switchboard::billing

// An issued invoice or credit note as a file: PDF (cairo, A4, DejaVu Sans), CSV (one row per
// line, RFC 4180) and JSON (protobuf's JSON mapping). Each is a function of the stored
// snapshot alone, so every format says the same and a download next year is the same file.
//
//   ASSIGN_OR_RETURN(Document doc, Render(invoice, v1::INVOICE_FORMAT_PDF));
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "switchboard/billing/v1/billing_service.pb.h"

namespace switchboard::billing {

struct Document {
  std::string content_type;
  std::string file_name;
  std::string bytes;
};

// INVALID_ARGUMENT INVALID_ENUM for a format that is not PDF, CSV or JSON.
absl::StatusOr<Document> Render(const v1::Invoice& invoice, v1::InvoiceFormat format);

}  // namespace switchboard::billing

#include "services/billing/documents.h"

#include <cairo-pdf.h>
#include <cairo.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/money.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"

namespace switchboard::billing {
namespace {

constexpr double kPageWidth = 595.0;  // A4 in points
constexpr double kPageHeight = 842.0;
constexpr double kMargin = 56.0;
constexpr double kLine = 16.0;

std::string Amount(const events::v1::Money& m) {
  return core::Money(m.amount_micros(), m.currency_code().empty() ? "USD" : m.currency_code())
      .ToString();
}

std::string Date(const google::protobuf::Timestamp& t, const std::string& zone_name) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(zone_name, &zone)) zone = absl::UTCTimeZone();
  return absl::FormatTime("%Y-%m-%d", core::FromProto(t), zone);
}

std::string Title(const v1::Invoice& inv) {
  return inv.kind() == v1::INVOICE_KIND_CREDIT_NOTE ? "Credit note" : "Invoice";
}

// ---- PDF --------------------------------------------------------------------------------------

cairo_status_t Append(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

class Pdf {
 public:
  explicit Pdf(std::string* out)
      : surface_(cairo_pdf_surface_create_for_stream(Append, out, kPageWidth, kPageHeight),
                 cairo_surface_destroy),
        cr_(cairo_create(surface_.get()), cairo_destroy) {
    cairo_select_font_face(cr_.get(), "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
  }

  // Writes `text` at column x on the current line; `right` aligns its end to x.
  void Text(double x, const std::string& text, double size = 10, bool bold = false,
            bool right = false) {
    cairo_t* cr = cr_.get();
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    if (right) {
      cairo_text_extents_t extents;
      cairo_text_extents(cr, text.c_str(), &extents);
      x -= extents.x_advance;
    }
    cairo_move_to(cr, x, y_);
    cairo_show_text(cr, text.c_str());
  }
  // Moves to the next line, starting a new page when this one is full.
  void Next(double lines = 1) {
    y_ += kLine * lines;
    if (y_ > kPageHeight - kMargin) {
      cairo_show_page(cr_.get());
      y_ = kMargin;
    }
  }
  void Rule() {
    cairo_t* cr = cr_.get();
    cairo_set_line_width(cr, 0.5);
    cairo_move_to(cr, kMargin, y_ - kLine + 4);
    cairo_line_to(cr, kPageWidth - kMargin, y_ - kLine + 4);
    cairo_stroke(cr);
  }
  absl::Status Finish() {
    cairo_show_page(cr_.get());
    cr_.reset();
    cairo_surface_finish(surface_.get());
    if (cairo_surface_status(surface_.get()) != CAIRO_STATUS_SUCCESS) {
      return core::Error(absl::StatusCode::kInternal, "DOCUMENT_NOT_RENDERED",
                         cairo_status_to_string(cairo_surface_status(surface_.get())));
    }
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface_;
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr_;
  double y_ = kMargin + kLine;
};

absl::StatusOr<std::string> RenderPdf(const v1::Invoice& inv) {
  std::string out;
  Pdf pdf(&out);
  const double right = kPageWidth - kMargin;
  pdf.Text(kMargin, absl::StrCat(Title(inv), " ", inv.number()), 18, true);
  pdf.Next(2);
  pdf.Text(kMargin, absl::StrCat("Tenant: ", inv.tenant_id()));
  pdf.Next();
  pdf.Text(kMargin, absl::StrCat("Period: ", inv.month(), " (", inv.time_zone(), ")"));
  pdf.Next();
  pdf.Text(kMargin, absl::StrCat("Issued: ", Date(inv.issue_time(), inv.time_zone()),
                                 "    Due: ", Date(inv.due_time(), inv.time_zone())));
  if (!inv.credited_invoice_number().empty()) {
    pdf.Next();
    pdf.Text(kMargin, absl::StrCat("Credits invoice ", inv.credited_invoice_number()));
  }
  pdf.Next(2);
  pdf.Text(kMargin, "Description", 10, true);
  pdf.Text(right - 110, "Minutes", 10, true, true);
  pdf.Text(right, "Amount", 10, true, true);
  pdf.Next();
  pdf.Rule();
  for (const v1::InvoiceLine& line : inv.lines()) {
    pdf.Text(kMargin, line.description(), 9);
    pdf.Text(right - 110, absl::StrCat(line.quantity_minutes()), 9, false, true);
    pdf.Text(right, Amount(line.amount()), 9, false, true);
    pdf.Next();
  }
  pdf.Rule();
  pdf.Text(kMargin, "Total", 11, true);
  pdf.Text(right, Amount(inv.total()), 11, true, true);
  RETURN_IF_ERROR(pdf.Finish());
  return out;
}

// ---- CSV --------------------------------------------------------------------------------------

std::string Field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\"", "\"\""}}), "\"");
}

std::string Micros(int64_t micros) {
  // Decimal major units without floating point: -12345 -> "-0.012345".
  const bool negative = micros < 0;
  const uint64_t v = negative ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  std::string frac = absl::StrCat(v % 1'000'000);
  frac.insert(0, 6 - frac.size(), '0');
  return absl::StrCat(negative ? "-" : "", v / 1'000'000, ".", frac);
}

std::string RenderCsv(const v1::Invoice& inv) {
  std::string out =
      "number,kind,month,line,description,minutes,amount,currency,prior_period_month\r\n";
  const std::string kind = inv.kind() == v1::INVOICE_KIND_CREDIT_NOTE ? "CREDIT_NOTE" : "INVOICE";
  int n = 0;
  for (const v1::InvoiceLine& line : inv.lines()) {
    absl::StrAppend(&out, Field(inv.number()), ",", kind, ",", inv.month(), ",", ++n, ",",
                    Field(line.description()), ",", line.quantity_minutes(), ",",
                    Micros(line.amount().amount_micros()), ",", inv.total().currency_code(), ",",
                    line.prior_period_month(), "\r\n");
  }
  absl::StrAppend(&out, Field(inv.number()), ",", kind, ",", inv.month(), ",total,Total,,",
                  Micros(inv.total().amount_micros()), ",", inv.total().currency_code(), ",\r\n");
  return out;
}

}  // namespace

absl::StatusOr<Document> Render(const v1::Invoice& inv, v1::InvoiceFormat format) {
  RETURN_IF_ERROR(api::RequireEnum(format, v1::InvoiceFormat_descriptor(), "format"));
  Document doc;
  switch (format) {
    case v1::INVOICE_FORMAT_PDF: {
      doc.content_type = "application/pdf";
      doc.file_name = absl::StrCat(inv.number(), ".pdf");
      ASSIGN_OR_RETURN(doc.bytes, RenderPdf(inv));
      return doc;
    }
    case v1::INVOICE_FORMAT_CSV:
      doc.content_type = "text/csv";
      doc.file_name = absl::StrCat(inv.number(), ".csv");
      doc.bytes = RenderCsv(inv);
      return doc;
    case v1::INVOICE_FORMAT_JSON: {
      doc.content_type = "application/json";
      doc.file_name = absl::StrCat(inv.number(), ".json");
      google::protobuf::util::JsonPrintOptions options;
      options.add_whitespace = true;
      if (!google::protobuf::util::MessageToJsonString(inv, &doc.bytes, options).ok()) {
        return core::Error(absl::StatusCode::kInternal, "DOCUMENT_NOT_RENDERED",
                           "the invoice did not convert to JSON");
      }
      return doc;
    }
    default:
      return core::InvalidArgument(api::kInvalidEnum, "format is PDF, CSV or JSON",
                                   {{"field", "format"}});
  }
}

}  // namespace switchboard::billing

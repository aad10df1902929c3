#include "services/billing/service.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/grpc.h"

namespace switchboard::billing {

using auth::Principal;

Service::Service(Plans& plans, Ledger& ledger, Usage& usage, Invoices& invoices)
    : plans_(plans), ledger_(ledger), usage_(usage), invoices_(invoices) {}

grpc::Status Service::GetUsage(grpc::ServerContext* ctx, const v1::GetUsageRequest* req,
                               v1::GetUsageResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_usage(), usage_.Get(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::ListUsageEntries(grpc::ServerContext* ctx,
                                       const v1::ListUsageEntriesRequest* req,
                                       v1::ListUsageEntriesResponse* resp) {
  return runtime::Handle(
      ctx, [&](const Principal& caller) { return usage_.ListEntries(caller, *req, resp); });
}

grpc::Status Service::GetRatePlan(grpc::ServerContext* ctx, const v1::GetRatePlanRequest* /*req*/,
                                  v1::GetRatePlanResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_rate_plan(), plans_.Get(caller));
    return absl::OkStatus();
  });
}

grpc::Status Service::UpdateRatePlan(grpc::ServerContext* ctx, const v1::UpdateRatePlanRequest* req,
                                     v1::UpdateRatePlanResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_rate_plan(), plans_.Update(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::PurchaseMinutes(grpc::ServerContext* ctx,
                                      const v1::PurchaseMinutesRequest* req,
                                      v1::PurchaseMinutesResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp, ledger_.Purchase(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::AdjustUsage(grpc::ServerContext* ctx, const v1::AdjustUsageRequest* req,
                                  v1::AdjustUsageResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp, ledger_.Adjust(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::RefundCall(grpc::ServerContext* ctx, const v1::RefundCallRequest* req,
                                 v1::RefundCallResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp, ledger_.Refund(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::ListQuarantinedCalls(grpc::ServerContext* ctx,
                                           const v1::ListQuarantinedCallsRequest* req,
                                           v1::ListQuarantinedCallsResponse* resp) {
  return runtime::Handle(
      ctx, [&](const Principal& caller) { return usage_.ListQuarantined(caller, *req, resp); });
}

grpc::Status Service::GetCostAnalytics(grpc::ServerContext* ctx,
                                       const v1::GetCostAnalyticsRequest* req,
                                       v1::GetCostAnalyticsResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp, usage_.Costs(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::ListInvoices(grpc::ServerContext* ctx, const v1::ListInvoicesRequest* req,
                                   v1::ListInvoicesResponse* resp) {
  return runtime::Handle(
      ctx, [&](const Principal& caller) { return invoices_.List(caller, *req, resp); });
}

grpc::Status Service::GetInvoice(grpc::ServerContext* ctx, const v1::GetInvoiceRequest* req,
                                 v1::GetInvoiceResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_invoice(), invoices_.Get(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::DownloadInvoice(grpc::ServerContext* ctx,
                                      const v1::DownloadInvoiceRequest* req,
                                      grpc::ServerWriter<v1::DownloadInvoiceResponse>* writer) {
  return runtime::Handle(ctx, [&](const Principal& caller) {
    return invoices_.Download(caller, *req, [&](const v1::DownloadInvoiceResponse& piece) {
      return !ctx->IsCancelled() && writer->Write(piece);
    });
  });
}

}  // namespace switchboard::billing

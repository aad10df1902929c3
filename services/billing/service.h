// switchboard.billing.v1.BillingService: each handler authenticates (runtime::Handle) and hands
// the request to a feature: Plans (rate plans), Ledger (top-ups, corrections, refunds), Usage
// (the usage card, the ledger, quarantined calls), Invoices (list, get, download).
#pragma once

#include "services/billing/invoices.h"
#include "services/billing/ledger.h"
#include "services/billing/plans.h"
#include "services/billing/usage.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"

namespace switchboard::billing {

class Service final : public v1::BillingService::Service {
 public:
  Service(Plans& plans, Ledger& ledger, Usage& usage, Invoices& invoices);

  grpc::Status GetUsage(grpc::ServerContext* ctx, const v1::GetUsageRequest* req,
                        v1::GetUsageResponse* resp) override;
  grpc::Status ListUsageEntries(grpc::ServerContext* ctx, const v1::ListUsageEntriesRequest* req,
                                v1::ListUsageEntriesResponse* resp) override;
  grpc::Status GetRatePlan(grpc::ServerContext* ctx, const v1::GetRatePlanRequest* req,
                           v1::GetRatePlanResponse* resp) override;
  grpc::Status UpdateRatePlan(grpc::ServerContext* ctx, const v1::UpdateRatePlanRequest* req,
                              v1::UpdateRatePlanResponse* resp) override;
  grpc::Status PurchaseMinutes(grpc::ServerContext* ctx, const v1::PurchaseMinutesRequest* req,
                               v1::PurchaseMinutesResponse* resp) override;
  grpc::Status AdjustUsage(grpc::ServerContext* ctx, const v1::AdjustUsageRequest* req,
                           v1::AdjustUsageResponse* resp) override;
  grpc::Status RefundCall(grpc::ServerContext* ctx, const v1::RefundCallRequest* req,
                          v1::RefundCallResponse* resp) override;
  grpc::Status ListQuarantinedCalls(grpc::ServerContext* ctx,
                                    const v1::ListQuarantinedCallsRequest* req,
                                    v1::ListQuarantinedCallsResponse* resp) override;
  grpc::Status GetCostAnalytics(grpc::ServerContext* ctx, const v1::GetCostAnalyticsRequest* req,
                                v1::GetCostAnalyticsResponse* resp) override;
  grpc::Status ListInvoices(grpc::ServerContext* ctx, const v1::ListInvoicesRequest* req,
                            v1::ListInvoicesResponse* resp) override;
  grpc::Status GetInvoice(grpc::ServerContext* ctx, const v1::GetInvoiceRequest* req,
                          v1::GetInvoiceResponse* resp) override;
  grpc::Status DownloadInvoice(grpc::ServerContext* ctx, const v1::DownloadInvoiceRequest* req,
                               grpc::ServerWriter<v1::DownloadInvoiceResponse>* writer) override;

 private:
  Plans& plans_;
  Ledger& ledger_;
  Usage& usage_;
  Invoices& invoices_;
};

}  // namespace switchboard::billing

// The ledger's readers: GetUsage (the seed's usage card), ListUsageEntries, GetCostAnalytics
// and ListQuarantinedCalls. Reads only; Ledger writes.
//
//   Usage usage(pool, plans, clock);
//   ASSIGN_OR_RETURN(v1::Usage u, usage.Get(caller, req));
#pragma once

#include "absl/status/statusor.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/pg/pg.h"
#include "services/billing/plans.h"
#include "switchboard/billing/v1/billing_service.pb.h"

namespace switchboard::billing {

class Usage {
 public:
  Usage(pg::Pool& pool, Plans& plans, const core::Clock& clock);

  // The month asked ("YYYY-MM" in the plan's zone; empty: the current one).
  absl::StatusOr<v1::Usage> Get(const auth::Principal& caller, const v1::GetUsageRequest& req);
  absl::Status ListEntries(const auth::Principal& caller, const v1::ListUsageEntriesRequest& req,
                           v1::ListUsageEntriesResponse* resp);
  absl::StatusOr<v1::GetCostAnalyticsResponse> Costs(const auth::Principal& caller,
                                                     const v1::GetCostAnalyticsRequest& req);
  absl::Status ListQuarantined(const auth::Principal& caller,
                               const v1::ListQuarantinedCallsRequest& req,
                               v1::ListQuarantinedCallsResponse* resp);

 private:
  pg::Pool& pool_;
  Plans& plans_;
  const core::Clock& clock_;
};

}  // namespace switchboard::billing

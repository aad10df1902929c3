// The Calls page: one call, the history with filters, search and keyset pages, the summary
// cards, analytics and the CSV export. Reads only; the questions are parsed by rules/query.h,
// the rows read by the store.
//
//   History history(store, clock);
//   RETURN_IF_ERROR(history.List(caller.tenant_id, *req, resp));
#pragma once

#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/clock.h"
#include "services/calls/store/store.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls {

class History {
 public:
  History(Store& store, const core::Clock& clock);

  // The call, and the user's SDP offer while an inbound call is offered or ringing.
  absl::Status Get(absl::string_view tenant, absl::string_view call_id, v1::GetCallResponse* resp);
  absl::Status List(absl::string_view tenant, const v1::ListCallsRequest& req,
                    v1::ListCallsResponse* resp);
  // This month in the tenant's time zone unless the request gives a range.
  absl::Status Stats(absl::string_view tenant, const v1::GetCallStatsRequest& req,
                     v1::GetCallStatsResponse* resp);
  absl::Status Analytics(absl::string_view tenant, const v1::GetCallAnalyticsRequest& req,
                         v1::GetCallAnalyticsResponse* resp);
  // The CSV in chunks of at most ~60 KiB, handed to `write` (which fails when the client went).
  // At most kExportsPerTenant run at once for a tenant: another is RESOURCE_EXHAUSTED
  // EXPORT_LIMIT_REACHED (metadata max), so one tenant cannot take every export connection.
  static constexpr int kExportsPerTenant = 2;
  absl::Status Export(absl::string_view tenant, const v1::ExportCallsRequest& req,
                      const std::function<absl::Status(const std::string& chunk)>& write);

 private:
  Store& store_;
  const core::Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> exporting_ ABSL_GUARDED_BY(mu_);  // by tenant
};

}  // namespace switchboard::calls

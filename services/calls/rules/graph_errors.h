// What a failed Graph API request means for the API's caller: Meta's codes (libs/whatsapp's
// table) turned into this API's reasons, the same for every command. Pure.
//
//   absl::Status s = graph.Connect(...);
//   if (!s.ok()) return rules::GraphError(s);   // META_NO_CALL_PERMISSION, META_RATE_LIMITED...
#pragma once

#include "absl/status/status.h"

namespace switchboard::calls::rules {

// Meta's error code a Graph failure carries (metadata meta_code), or 0.
int MetaCode(const absl::Status& graph_failure);

// FAILED_PRECONDITION META_NO_CALL_PERMISSION (138006); RESOURCE_EXHAUSTED META_RATE_LIMITED
// (138002, 138005, 138012, and the client's own throttling reason); FAILED_PRECONDITION
// META_CALL_REFUSED (any other code Meta answered with); UNAVAILABLE META_UNAVAILABLE (Meta could
// not be reached or failed on its side). Metadata meta_error_code when Meta gave one.
absl::Status GraphError(const absl::Status& graph_failure);

// Permission requests: FAILED_PRECONDITION OUTSIDE_SERVICE_WINDOW (131047), RESOURCE_EXHAUSTED
// PERMISSION_REQUEST_LIMIT (138009, with Meta's details), else GraphError.
absl::Status PermissionRequestError(const absl::Status& graph_failure);

// Whether a failed Graph request certainly placed nothing at Meta: Meta answered with an error,
// or the connection was refused before anything was sent.
bool CertainlyNotPlaced(const absl::Status& graph_failure);

}  // namespace switchboard::calls::rules

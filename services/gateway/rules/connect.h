// The Connect protocol's unary shape over HTTP/1.1 (https://connectrpc.com/docs/protocol): the
// HTTP status for each code, the error body, timeouts. Pure.
//
//   {"code": "invalid_argument", "message": "...", "details": [{"type": "google.rpc.ErrorInfo",
//     "value": "<base64 of the ErrorInfo>", "debug": {"reason": "INVALID_ID", ...}}]}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace switchboard::gateway::rules {

// "invalid_argument", "not_found", ... (Connect's names for the gRPC codes).
std::string CodeName(absl::StatusCode code);
// The HTTP status Connect gives each code (400, 401, 403, 404, 409, 429, 499, 500, 501, 503, 504).
int HttpStatus(absl::StatusCode code);
// The error as Connect's JSON body: code, message, and the suite's ErrorInfo (reason and
// metadata) as a detail, readable both as protobuf ("value") and as JSON ("debug").
std::string ErrorBody(const absl::Status& status);

// A JSON string literal (quotes included) for `text`.
std::string JsonString(absl::string_view text);

// The Connect-Timeout-Ms header's value, at most `max`; nullopt when absent; INVALID_ARGUMENT
// INVALID_TIMEOUT when it is not 1-10 digits.
absl::StatusOr<std::optional<absl::Duration>> Timeout(const std::optional<std::string>& header,
                                                      absl::Duration max);

// `name` reduced to what a Content-Disposition file name may hold ([A-Za-z0-9._-]); `fallback`
// when nothing is left or more than 128 characters are.
std::string SafeFileName(absl::string_view name, absl::string_view fallback);

// Whether a Content-Type names JSON ("application/json", with or without parameters).
bool IsJson(absl::string_view content_type);

// The origin to echo in Access-Control-Allow-Origin, when `allowed` lists it (or "*").
std::optional<std::string> AllowedOrigin(absl::string_view origin,
                                         const std::vector<std::string>& allowed);

}  // namespace switchboard::gateway::rules

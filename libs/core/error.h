// Errors that leave a service carry one machine-readable reason (UPPER_SNAKE_CASE, the
// contract) and a human message (which may change), plus the dynamic values as metadata.
// The gRPC edge turns them into google.rpc.ErrorInfo details (AIP-193).
//
//   return core::Error(absl::StatusCode::kFailedPrecondition, "CALL_NOT_RINGING",
//                      "the call is not ringing", {{"state", "ENDED"}});
//   if (core::ReasonOf(status) == "CALL_NOT_RINGING") ...
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchboard::core {

using ErrorMetadata = std::map<std::string, std::string, std::less<>>;

absl::Status Error(absl::StatusCode code, absl::string_view reason, absl::string_view message,
                   const ErrorMetadata& metadata = {});

inline absl::Status InvalidArgument(absl::string_view reason, absl::string_view message,
                                    const ErrorMetadata& metadata = {}) {
  return Error(absl::StatusCode::kInvalidArgument, reason, message, metadata);
}
inline absl::Status Unavailable(absl::string_view reason, absl::string_view message,
                                const ErrorMetadata& metadata = {}) {
  return Error(absl::StatusCode::kUnavailable, reason, message, metadata);
}

// The reason attached by Error(), or "" when the status carries none.
std::string ReasonOf(const absl::Status& status);
// The metadata attached by Error() (empty when none).
ErrorMetadata MetadataOf(const absl::Status& status);

// Same code, reason and metadata, message prefixed with `context: `.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace switchboard::core

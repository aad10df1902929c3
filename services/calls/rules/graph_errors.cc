#include "services/calls/rules/graph_errors.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/whatsapp/meta_error.h"

namespace switchboard::calls::rules {

int MetaCode(const absl::Status& s) {
  core::ErrorMetadata md = core::MetadataOf(s);
  int code = 0;
  if (auto it = md.find("meta_code"); it != md.end()) (void)absl::SimpleAtoi(it->second, &code);
  return code;
}

absl::Status GraphError(const absl::Status& s) {
  const int code = MetaCode(s);
  core::ErrorMetadata out;
  if (code != 0) out["meta_error_code"] = absl::StrCat(code);
  std::string message(s.message());
  switch (code) {
    case 0:
      break;
    case whatsapp::kMetaNoCallPermission:
      return core::Error(absl::StatusCode::kFailedPrecondition, "META_NO_CALL_PERMISSION", message,
                         out);
    case whatsapp::kMetaConcurrentCallLimit:
    case whatsapp::kMetaCallRateLimit:
    case whatsapp::kMetaBusinessCallLimit:
      return core::Error(absl::StatusCode::kResourceExhausted, "META_RATE_LIMITED", message, out);
    default:
      if (s.code() == absl::StatusCode::kUnavailable) break;
      return core::Error(absl::StatusCode::kFailedPrecondition, "META_CALL_REFUSED", message, out);
  }
  if (core::ReasonOf(s) == "META_RATE_LIMITED") {
    return core::Error(absl::StatusCode::kResourceExhausted, "META_RATE_LIMITED", message, out);
  }
  return core::Error(absl::StatusCode::kUnavailable, "META_UNAVAILABLE",
                     absl::StrCat("the WhatsApp Graph API could not be reached: ", message), out);
}

absl::Status PermissionRequestError(const absl::Status& s) {
  switch (MetaCode(s)) {
    case whatsapp::kMetaReEngagement:
      return core::Error(absl::StatusCode::kFailedPrecondition, "OUTSIDE_SERVICE_WINDOW",
                         "the contact has not written in the last 24 hours; use a template");
    case whatsapp::kMetaPermissionRequestLimit: {
      core::ErrorMetadata md;
      core::ErrorMetadata meta = core::MetadataOf(s);
      if (auto it = meta.find("details"); it != meta.end()) md["details"] = it->second;
      return core::Error(absl::StatusCode::kResourceExhausted, "PERMISSION_REQUEST_LIMIT",
                         "Meta allows 1 permission request per 24 h and 2 per 7 days", md);
    }
    default:
      return GraphError(s);
  }
}

bool CertainlyNotPlaced(const absl::Status& s) {
  if (core::ReasonOf(s) == "HTTP_CONNECT_FAILED") return true;
  return MetaCode(s) != 0 && s.code() != absl::StatusCode::kUnavailable;
}

}  // namespace switchboard::calls::rules

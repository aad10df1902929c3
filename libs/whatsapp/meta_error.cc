#include "libs/whatsapp/meta_error.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "libs/core/error.h"

namespace switchboard::whatsapp {
namespace {

using Json = nlohmann::json;

bool IsThrottling(int code) {
  return code == kMetaTemporarilyBlocked || code == kMetaRateLimit || code == 80007 ||
         code == 130429;
}

// Meta's "temporary, try again" codes (API Unknown, API Service, service unavailable).
bool IsMetaSideFailure(int code) { return code == 1 || code == 2 || code == 131016; }

absl::StatusCode FromHttpStatus(int http_status) {
  if (http_status == 401) return absl::StatusCode::kUnauthenticated;
  if (http_status == 403) return absl::StatusCode::kPermissionDenied;
  if (http_status == 404) return absl::StatusCode::kNotFound;
  if (http_status == 429) return absl::StatusCode::kResourceExhausted;
  if (http_status >= 500) return absl::StatusCode::kUnavailable;
  if (http_status == 400) return absl::StatusCode::kInvalidArgument;
  return absl::StatusCode::kFailedPrecondition;
}

}  // namespace

std::optional<MetaError> MetaError::Parse(absl::string_view body) {
  Json doc = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  auto it = doc.find("error");
  if (it == doc.end() || !it->is_object()) return std::nullopt;
  const Json& e = *it;
  auto code = e.find("code");
  if (code == e.end() || !code->is_number_integer()) return std::nullopt;
  MetaError out;
  out.code = code->get<int>();
  if (auto s = e.find("error_subcode"); s != e.end() && s->is_number_integer()) {
    out.subcode = s->get<int>();
  }
  if (auto m = e.find("message"); m != e.end() && m->is_string())
    out.message = m->get<std::string>();
  if (auto t = e.find("type"); t != e.end() && t->is_string()) out.type = t->get<std::string>();
  if (auto f = e.find("fbtrace_id"); f != e.end() && f->is_string()) {
    out.fbtrace_id = f->get<std::string>();
  }
  if (auto d = e.find("error_data"); d != e.end() && d->is_object()) {
    if (auto details = d->find("details"); details != d->end() && details->is_string()) {
      out.details = details->get<std::string>();
    }
  }
  return out;
}

std::string MetaError::ToJson() const {
  Json e = {{"message", message}, {"type", type}, {"code", code}, {"fbtrace_id", fbtrace_id}};
  if (subcode) e["error_subcode"] = *subcode;
  if (!details.empty()) e["error_data"] = {{"messaging_product", "whatsapp"}, {"details", details}};
  return Json{{"error", e}}.dump();
}

absl::StatusCode MetaStatusCode(int meta_code, int http_status) {
  switch (meta_code) {
    case kMetaInvalidParameter:
      return absl::StatusCode::kInvalidArgument;
    case kMetaAccessTokenInvalid:
      return absl::StatusCode::kUnauthenticated;
    case 10:   // permission denied
    case 200:  // permissions error
      return absl::StatusCode::kPermissionDenied;
    case kMetaCallingNotEnabled:
    case kMetaReceiverUncallable:
    case kMetaNoCallPermission:
    case kMetaCountryUnavailable:
    case kMetaLowQuality:
    case kMetaReEngagement:
      return absl::StatusCode::kFailedPrecondition;
    case kMetaConcurrentCallLimit:
    case kMetaCallRateLimit:
    case kMetaPermissionRequestLimit:
    case kMetaBusinessCallLimit:
      return absl::StatusCode::kResourceExhausted;
    case kMetaDuplicateCall:
      return absl::StatusCode::kAlreadyExists;
    default:
      break;
  }
  if (IsThrottling(meta_code)) return absl::StatusCode::kResourceExhausted;
  if (IsMetaSideFailure(meta_code)) return absl::StatusCode::kUnavailable;
  return FromHttpStatus(http_status);
}

int MetaHttpStatus(int meta_code) {
  if (meta_code == kMetaAccessTokenInvalid) return 401;
  if (IsThrottling(meta_code)) return 429;
  if (meta_code == 10 || meta_code == 200) return 403;
  if (IsMetaSideFailure(meta_code)) return 503;
  return 400;
}

bool MetaIsTransient(int http_status, std::optional<int> meta_code) {
  if (http_status >= 500 || http_status == 429) return true;
  return meta_code && (IsThrottling(*meta_code) || IsMetaSideFailure(*meta_code));
}

absl::Status MetaErrorStatus(int http_status, absl::string_view body) {
  std::optional<MetaError> e = MetaError::Parse(body);
  if (!e) {
    core::ErrorMetadata metadata = {{"http_status", absl::StrCat(http_status)}};
    if (http_status >= 500) {
      return core::Error(absl::StatusCode::kUnavailable, "META_UNAVAILABLE",
                         absl::StrCat("Graph API answered HTTP ", http_status), metadata);
    }
    if (http_status == 429) {
      return core::Error(absl::StatusCode::kResourceExhausted, "META_RATE_LIMITED",
                         "Graph API answered HTTP 429", metadata);
    }
    return core::Error(
        FromHttpStatus(http_status), "META_UNEXPECTED_RESPONSE",
        absl::StrCat("Graph API answered HTTP ", http_status, " without an error object"),
        metadata);
  }
  core::ErrorMetadata metadata = {{"meta_code", absl::StrCat(e->code)},
                                  {"http_status", absl::StrCat(http_status)}};
  if (e->subcode) metadata["meta_subcode"] = absl::StrCat(*e->subcode);
  if (!e->fbtrace_id.empty()) metadata["fbtrace_id"] = e->fbtrace_id;
  if (!e->details.empty()) metadata["details"] = e->details;
  if (!e->message.empty()) metadata["meta_message"] = e->message;
  std::string message = absl::StrCat("Meta error ", e->code, ": ", e->message);
  if (!e->details.empty()) absl::StrAppend(&message, " (", e->details, ")");
  return core::Error(MetaStatusCode(e->code, http_status), absl::StrCat("META_", e->code), message,
                     metadata);
}

}  // namespace switchboard::whatsapp

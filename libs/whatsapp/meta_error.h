// Meta's Graph API errors, both ways: parsing the error body Meta answers with and turning it
// into an absl::Status (reason "META_<code>", ADR 0005), and writing one (the simulator).
// The code table lives here so every caller maps Meta's codes the same way.
//
//   absl::Status s = whatsapp::MetaErrorStatus(response.status, response.body);
//   if (core::ReasonOf(s) == "META_138006") ...   // no call permission
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace switchboard::whatsapp {

// The codes Switchboard distinguishes (WHATSAPP_CLOUD_API.md).
inline constexpr int kMetaInvalidParameter = 100;
inline constexpr int kMetaTemporarilyBlocked = 4;  // application request limit
inline constexpr int kMetaAccessTokenInvalid = 190;
inline constexpr int kMetaRateLimit = 613;
inline constexpr int kMetaReEngagement = 131047;  // outside the 24 h service window
inline constexpr int kMetaCallingNotEnabled = 138000;
inline constexpr int kMetaReceiverUncallable = 138001;
inline constexpr int kMetaConcurrentCallLimit = 138002;
inline constexpr int kMetaDuplicateCall = 138003;
inline constexpr int kMetaCallRateLimit = 138005;
inline constexpr int kMetaNoCallPermission = 138006;
inline constexpr int kMetaPermissionRequestLimit = 138009;
inline constexpr int kMetaBusinessCallLimit = 138012;
inline constexpr int kMetaCountryUnavailable = 138013;
inline constexpr int kMetaLowQuality = 138014;

// The `error` object of a Graph API error body:
// {"error":{"message","type","code","error_subcode","error_data":{"details"},"fbtrace_id"}}.
struct MetaError {
  int code = 0;
  std::optional<int> subcode;
  std::string message;
  std::string type = "OAuthException";
  std::string details;  // error_data.details
  std::string fbtrace_id;

  // Parses a Graph API error body; nullopt when it is not one.
  static std::optional<MetaError> Parse(absl::string_view body);
  // The body Meta would answer with.
  std::string ToJson() const;
};

// The absl code for a Meta error code; `http_status` decides for codes not in the table.
absl::StatusCode MetaStatusCode(int meta_code, int http_status);

// The HTTP status Meta answers a code with (400 for most, 401 for 190, 429 for 613/4...).
int MetaHttpStatus(int meta_code);

// Whether the same request may succeed if sent again later: 5xx, HTTP 429 and the
// throttling codes (4, 613, 80007, 130429). Business rules (138009, 138012...) are not.
bool MetaIsTransient(int http_status, std::optional<int> meta_code);

// A status for a non-2xx Graph API answer: reason META_<code> with metadata meta_code,
// meta_message (Meta's own words), meta_subcode (when present), fbtrace_id, details,
// http_status. A body that is not a Meta
// error gives UNAVAILABLE/META_UNAVAILABLE for 5xx, RESOURCE_EXHAUSTED/META_RATE_LIMITED for
// 429 and META_UNEXPECTED_RESPONSE otherwise.
absl::Status MetaErrorStatus(int http_status, absl::string_view body);

}  // namespace switchboard::whatsapp

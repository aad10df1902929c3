#include "services/gateway/rules/connect.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "google/rpc/error_details.pb.h"
#include "libs/core/error.h"

namespace switchboard::gateway::rules {

std::string CodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kCancelled:
      return "canceled";  // Connect spells it the American way
    case absl::StatusCode::kOk:
      return "ok";
    default:
      return absl::AsciiStrToLower(absl::StatusCodeToString(code));
  }
}

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    default:
      return 500;
  }
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string ErrorBody(const absl::Status& status) {
  std::string out = absl::StrCat("{\"code\":", JsonString(CodeName(status.code())),
                                 ",\"message\":", JsonString(status.message()));
  const std::string reason = core::ReasonOf(status);
  if (!reason.empty()) {
    google::rpc::ErrorInfo info;
    info.set_reason(reason);
    info.set_domain("switchboard.dev");
    std::string metadata;
    for (const auto& [k, v] : core::MetadataOf(status)) {
      (*info.mutable_metadata())[k] = v;
      absl::StrAppend(&metadata, metadata.empty() ? "" : ",", JsonString(k), ":", JsonString(v));
    }
    std::string value = absl::Base64Escape(info.SerializeAsString());
    absl::StripTrailingAsciiWhitespace(&value);
    while (!value.empty() && value.back() == '=') value.pop_back();
    absl::StrAppend(&out, ",\"details\":[{\"type\":\"google.rpc.ErrorInfo\",\"value\":",
                    JsonString(value), ",\"debug\":{\"reason\":", JsonString(reason),
                    ",\"domain\":\"switchboard.dev\",\"metadata\":{", metadata, "}}}]");
  }
  return out + "}";
}

absl::StatusOr<std::optional<absl::Duration>> Timeout(const std::optional<std::string>& header,
                                                      absl::Duration max) {
  if (!header.has_value()) return std::nullopt;
  int64_t ms = 0;
  if (header->empty() || header->size() > 10 ||
      !std::all_of(header->begin(), header->end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(*header, &ms) || ms <= 0) {
    return core::InvalidArgument("INVALID_TIMEOUT",
                                 "Connect-Timeout-Ms must be a positive number of milliseconds");
  }
  return std::min(absl::Milliseconds(ms), max);
}

std::string SafeFileName(absl::string_view name, absl::string_view fallback) {
  std::string out;
  for (char c : name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') {
      out += c;
    }
  }
  return out.empty() || out.size() > 128 ? std::string(fallback) : out;
}

bool IsJson(absl::string_view content_type) {
  absl::string_view type = content_type.substr(0, content_type.find(';'));
  type = absl::StripAsciiWhitespace(type);
  return absl::EqualsIgnoreCase(type, "application/json");
}

std::optional<std::string> AllowedOrigin(absl::string_view origin,
                                         const std::vector<std::string>& allowed) {
  if (origin.empty()) return std::nullopt;
  for (const std::string& a : allowed) {
    if (a == "*" || a == origin) return std::string(origin);
  }
  return std::nullopt;
}

}  // namespace switchboard::gateway::rules

#include "services/gateway/console.h"

#include <openssl/sha.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "libs/api/validate.h"
#include "libs/auth/token.h"
#include "libs/core/error.h"
#include "services/gateway/rpc.h"
#include "services/gateway/rules/console.h"

namespace switchboard::gateway {
namespace {

// What every console file is sent with: scripts only from the gateway itself, no framing, no
// sniffing.
void Harden(http::Response& r) {
  r.headers.push_back({"Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data:; connect-src 'self'; "
                       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  r.headers.push_back({"Referrer-Policy", "no-referrer"});
}

std::string ETagOf(absl::string_view body) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  return absl::StrCat(
      "\"", absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16)),
      "\"");
}

// If-None-Match names `etag` (a list, or *).
bool Matches(const std::optional<std::string>& if_none_match, absl::string_view etag) {
  if (!if_none_match.has_value()) return false;
  for (absl::string_view tag : absl::StrSplit(*if_none_match, ',')) {
    tag = absl::StripAsciiWhitespace(tag);
    absl::ConsumePrefix(&tag, "W/");
    if (tag == etag || tag == "*") return true;
  }
  return false;
}

}  // namespace

Console::Console(const std::vector<EmbeddedFile>& files, std::string auth_secret,
                 const core::Clock& clock)
    : files_(files), auth_secret_(std::move(auth_secret)), clock_(clock) {
  for (const EmbeddedFile& f : files_) etags_.push_back(ETagOf({f.body.data(), f.body.size()}));
}

http::Response Console::Serve(const http::Request& request) const {
  if (request.method() != "GET" && request.method() != "HEAD") {
    return MethodNotAllowed("GET, HEAD");
  }
  const std::string name = rules::ConsoleFile(request.path());
  for (size_t i = 0; i < files_.size() && !name.empty(); ++i) {
    if (files_[i].path != name) continue;
    http::Response r{.status = 200, .content_type = rules::ContentTypeOf(name)};
    if (Matches(request.Header("If-None-Match"), etags_[i])) {
      r.status = 304;
    } else {
      r.body = std::string(files_[i].body);
    }
    Harden(r);
    r.headers.push_back({"Cache-Control", rules::CacheControlOf(name)});
    r.headers.push_back({"ETag", etags_[i]});
    return r;
  }
  return ErrorResponse(core::Error(absl::StatusCode::kNotFound, "NOT_FOUND",
                                   absl::StrCat("no console file at ", request.path())));
}

http::Response Console::DevToken(const http::Request& request) const {
  if (request.method() != "POST") return MethodNotAllowed("POST, OPTIONS");
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> parsed =
      ParseJson(request, google::protobuf::Struct::descriptor());
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  const auto& body = static_cast<const google::protobuf::Struct&>(**parsed);
  auto text = [&](const char* key) -> std::string {
    auto it = body.fields().find(key);
    return it == body.fields().end() ? "" : it->second.string_value();
  };
  auth::Principal who{.tenant_id = text("tenant"), .subject = text("subject")};
  if (!auth::IsValidTenantId(who.tenant_id)) {
    return ErrorResponse(core::InvalidArgument(
        "INVALID_TENANT", "tenant: 1-64 characters of [A-Za-z0-9_-]", {{"field", "tenant"}}));
  }
  if (absl::Status s = api::RequireId(who.subject, "subject"); !s.ok()) return ErrorResponse(s);
  if (auto roles = body.fields().find("roles"); roles != body.fields().end()) {
    for (const google::protobuf::Value& v : roles->second.list_value().values()) {
      const std::string& role = v.string_value();
      if (role != "agent" && role != "supervisor" && role != "admin") {
        return ErrorResponse(core::InvalidArgument(
            "INVALID_ROLE", "roles: agent, supervisor or admin", {{"field", "roles"}}));
      }
      who.roles.push_back(role);
    }
  }
  if (who.roles.empty()) who.roles = {"agent"};
  const absl::Time now = clock_.Now();
  who.expires = now + kDevTokenLifetime;
  absl::StatusOr<std::string> token = auth::SignToken(auth_secret_, who, now);
  if (!token.ok()) return ErrorResponse(token.status());
  google::protobuf::Struct out;
  (*out.mutable_fields())["token"].set_string_value(*token);
  (*out.mutable_fields())["expireTime"].set_string_value(
      absl::FormatTime(absl::RFC3339_sec, who.expires, absl::UTCTimeZone()));
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(out, &json);
  http::Response r = http::Response::Json(200, std::move(json));
  r.headers.push_back({"Cache-Control", "no-store"});
  return r;
}

}  // namespace switchboard::gateway

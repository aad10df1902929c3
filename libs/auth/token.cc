#include "libs/auth/token.h"

#include <jwt.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/error.h"
#include "nlohmann/json.hpp"

namespace switchboard::auth {
namespace {

constexpr char kIssuer[] = "switchboard";

absl::Status Unauthenticated(absl::string_view reason, absl::string_view message) {
  return core::Error(absl::StatusCode::kUnauthenticated, reason, message);
}

// A JSON object with no key given twice at any depth (RFC 7519 §4: a token with duplicate claim
// names must be rejected, since parsers disagree on which one wins). nullopt otherwise.
std::optional<nlohmann::json> StrictObject(absl::string_view text) {
  std::vector<std::set<std::string>> keys;
  bool duplicate = false;
  nlohmann::json::parser_callback_t cb = [&](int, nlohmann::json::parse_event_t event,
                                             nlohmann::json& parsed) {
    switch (event) {
      case nlohmann::json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case nlohmann::json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case nlohmann::json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  nlohmann::json j =
      nlohmann::json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (duplicate || j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// The JSON of a token's header or payload part (base64url, no padding).
std::optional<nlohmann::json> Part(absl::string_view token, int index) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return std::nullopt;
  std::string json;
  if (!absl::WebSafeBase64Unescape(parts[index], &json)) return std::nullopt;
  return StrictObject(json);
}

struct JwtDeleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

}  // namespace

bool Principal::HasRole(absl::string_view role) const {
  for (const auto& r : roles) {
    if (r == role) return true;
  }
  return false;
}

bool IsValidTenantId(absl::string_view tenant_id) {
  if (tenant_id.empty() || tenant_id.size() > 64) return false;
  for (char c : tenant_id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

// Verified tokens by their text. Bounded: when full it is simply cleared (tokens are
// re-verified on their next use), which keeps it simple and its memory fixed.
struct TokenVerifier::Cache {
  static constexpr size_t kMaxEntries = 10'000;
  absl::Mutex mu;
  absl::flat_hash_map<std::string, Principal> entries ABSL_GUARDED_BY(mu);
};

TokenVerifier::TokenVerifier(std::string secret, const core::Clock& clock)
    : secret_(std::move(secret)), clock_(clock), cache_(std::make_unique<Cache>()) {}

TokenVerifier::~TokenVerifier() = default;

absl::StatusOr<Principal> TokenVerifier::Verify(absl::string_view token) const {
  {
    absl::ReaderMutexLock lock(&cache_->mu);
    auto it = cache_->entries.find(token);
    if (it != cache_->entries.end()) {
      if (clock_.Now() < it->second.expires) return it->second;
      return Unauthenticated("TOKEN_EXPIRED", "the bearer token has expired");
    }
  }
  absl::StatusOr<Principal> principal = Decode(token);
  if (principal.ok()) {
    absl::MutexLock lock(&cache_->mu);
    if (cache_->entries.size() >= Cache::kMaxEntries) cache_->entries.clear();
    cache_->entries.emplace(std::string(token), *principal);
  }
  return principal;
}

absl::StatusOr<Principal> TokenVerifier::Decode(absl::string_view token) const {
  if (token.empty()) return Unauthenticated("TOKEN_MISSING", "a bearer token is required");
  std::string text(token);
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                 static_cast<int>(secret_.size())) != 0 ||
      raw == nullptr) {
    return Unauthenticated("TOKEN_INVALID",
                           "the bearer token is malformed or its signature "
                           "does not verify");
  }
  JwtPtr jwt(raw);
  // The signature verified; now the parts are read as the standard says, strictly (libjwt is
  // lenient: it takes "hs256" for HS256, a string where a number belongs, the last of two
  // claims with one name).
  std::optional<nlohmann::json> header = Part(token, 0);
  std::optional<nlohmann::json> claims = Part(token, 1);
  if (!header.has_value() || !claims.has_value()) {
    return Unauthenticated("TOKEN_INVALID",
                           "the bearer token's header and claims must be JSON objects without "
                           "duplicate names");
  }
  // Only HS256, spelled exactly: a token must never pick a weaker algorithm (or "none").
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() || *alg != "HS256" ||
      jwt_get_alg(jwt.get()) != JWT_ALG_HS256) {
    return Unauthenticated("TOKEN_INVALID", "the bearer token must be signed with HS256");
  }
  for (const char* time_claim : {"exp", "nbf", "iat"}) {
    auto it = claims->find(time_claim);
    if (it != claims->end() && !it->is_number_integer()) {
      return Unauthenticated("TOKEN_INVALID", absl::StrCat("the bearer token's ", time_claim,
                                                           " must be a number of seconds"));
    }
  }
  if (claims->find("exp") == claims->end()) {
    return Unauthenticated("TOKEN_INVALID", "the bearer token has no expiry");
  }
  if (auto nbf = claims->find("nbf"); nbf != claims->end()) {
    if (clock_.Now() < absl::FromUnixSeconds(nbf->get<int64_t>())) {
      return Unauthenticated("TOKEN_NOT_YET_VALID", "the bearer token is not valid yet (nbf)");
    }
  }
  Principal p;
  const char* tenant = jwt_get_grant(jwt.get(), "tenant");
  const char* sub = jwt_get_grant(jwt.get(), "sub");
  if (tenant == nullptr || sub == nullptr || !IsValidTenantId(tenant) || *sub == '\0') {
    return Unauthenticated("TOKEN_INVALID", "the bearer token lacks a valid tenant or subject");
  }
  p.tenant_id = tenant;
  p.subject = sub;
  errno = 0;
  long exp = jwt_get_grant_int(jwt.get(), "exp");
  if (errno != 0) {
    return Unauthenticated("TOKEN_INVALID", "the bearer token has no expiry");
  }
  p.expires = absl::FromUnixSeconds(exp);
  if (clock_.Now() >= p.expires) {
    return Unauthenticated("TOKEN_EXPIRED", "the bearer token has expired");
  }
  if (char* roles = jwt_get_grants_json(jwt.get(), "roles")) {
    nlohmann::json parsed = nlohmann::json::parse(roles, nullptr, /*allow_exceptions=*/false);
    free(roles);
    if (!parsed.is_array()) {
      return Unauthenticated("TOKEN_INVALID", "the bearer token's roles must be a list");
    }
    for (const auto& r : parsed) {
      if (!r.is_string()) {
        return Unauthenticated("TOKEN_INVALID", "the bearer token's roles must be strings");
      }
      p.roles.push_back(r.get<std::string>());
    }
  }
  return p;
}

absl::StatusOr<std::string> SignToken(absl::string_view secret, const Principal& principal,
                                      absl::Time issued_at) {
  if (!IsValidTenantId(principal.tenant_id) || principal.subject.empty()) {
    return core::InvalidArgument("INVALID_PRINCIPAL", "a token needs a valid tenant and subject");
  }
  if (secret.empty()) return core::InvalidArgument("MISSING_SECRET", "no signing secret");
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("jwt_new failed");
  JwtPtr jwt(raw);
  nlohmann::json roles = principal.roles;
  std::string grants = nlohmann::json{{"roles", roles}}.dump();
  if (jwt_add_grant(jwt.get(), "iss", kIssuer) != 0 ||
      jwt_add_grant(jwt.get(), "sub", principal.subject.c_str()) != 0 ||
      jwt_add_grant(jwt.get(), "tenant", principal.tenant_id.c_str()) != 0 ||
      jwt_add_grant_int(jwt.get(), "iat", absl::ToUnixSeconds(issued_at)) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", absl::ToUnixSeconds(principal.expires)) != 0 ||
      jwt_add_grants_json(jwt.get(), grants.c_str()) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                  static_cast<int>(secret.size())) != 0) {
    return absl::InternalError("could not build the token");
  }
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) return absl::InternalError("could not encode the token");
  std::string out(encoded);
  free(encoded);
  return out;
}

}  // namespace switchboard::auth

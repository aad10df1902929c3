#include "libs/auth/token.h"

#include <jwt.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "libs/auth/jwks.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
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

// iss and aud as configured (RFC 7519 §4.1.1, §4.1.3: aud is a string or a list of them).
absl::Status CheckIssuerAndAudience(const nlohmann::json& claims, const VerifierOptions& options) {
  if (!options.issuer.empty()) {
    auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() || *iss != options.issuer) {
      return Unauthenticated("TOKEN_INVALID",
                             "the bearer token's issuer (iss) is not the one expected");
    }
  }
  if (!options.audience.empty()) {
    auto aud = claims.find("aud");
    bool ours = false;
    if (aud != claims.end() && aud->is_string()) ours = *aud == options.audience;
    if (aud != claims.end() && aud->is_array()) {
      for (const auto& a : *aud) ours = ours || (a.is_string() && a == options.audience);
    }
    if (!ours) {
      return Unauthenticated("TOKEN_INVALID",
                             "the bearer token is not meant for this audience (aud)");
    }
  }
  return absl::OkStatus();
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
// re-verified on their next use), which keeps it simple and its memory fixed. Cleared as well
// when the JWKS changes, so a key taken out stops admitting its tokens at once.
struct TokenVerifier::Cache {
  static constexpr size_t kMaxEntries = 10'000;
  absl::Mutex mu;
  absl::flat_hash_map<std::string, Principal> entries ABSL_GUARDED_BY(mu);
  uint64_t generation ABSL_GUARDED_BY(mu) = 0;  // of the JWKS the entries were verified with
};

// The JWKS file and the keys last read from it.
struct TokenVerifier::Jwks {
  std::string path;
  absl::Duration recheck;
  absl::Mutex mu;
  std::string text ABSL_GUARDED_BY(mu);  // the file's content when last read
  std::shared_ptr<const KeySet> keys ABSL_GUARDED_BY(mu);
  uint64_t generation ABSL_GUARDED_BY(mu) = 1;
  absl::Time checked ABSL_GUARDED_BY(mu) = absl::InfinitePast();

  static absl::StatusOr<std::string> Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return core::InvalidArgument("JWKS_INVALID", absl::StrCat("cannot read ", path));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // The keys, read again when `recheck` has passed and the file changed; and their generation.
  std::pair<std::shared_ptr<const KeySet>, uint64_t> Current(absl::Time now) {
    absl::MutexLock lock(&mu);
    if (now - checked >= recheck) {
      checked = now;
      absl::StatusOr<std::string> read = Read(path);
      if (read.ok() && *read != text) {
        text = *std::move(read);
        absl::StatusOr<KeySet> parsed = KeySet::Parse(text);
        if (parsed.ok()) {
          keys = std::make_shared<const KeySet>(*std::move(parsed));
          ++generation;
          log::Info("JWKS reloaded", {{"file", path}, {"keys", keys->size()}});
        } else {
          log::Error("JWKS changed but does not parse; the previous keys stay",
                     {{"file", path}, {"error", parsed.status().message()}});
        }
      } else if (!read.ok()) {
        log::Error("JWKS unreadable; the previous keys stay",
                   {{"file", path}, {"error", read.status().message()}});
      }
    }
    return {keys, generation};
  }
};

TokenVerifier::TokenVerifier(std::string secret, const core::Clock& clock)
    : TokenVerifier(VerifierOptions{.secret = std::move(secret)}, clock) {}

TokenVerifier::TokenVerifier(VerifierOptions options, const core::Clock& clock)
    : options_(std::move(options)), clock_(clock), cache_(std::make_unique<Cache>()) {}

absl::StatusOr<std::unique_ptr<TokenVerifier>> TokenVerifier::Create(VerifierOptions options,
                                                                     const core::Clock& clock) {
  std::unique_ptr<Jwks> jwks;
  if (!options.jwks_file.empty()) {
    jwks = std::make_unique<Jwks>();
    jwks->path = options.jwks_file;
    jwks->recheck = options.jwks_recheck;
    ASSIGN_OR_RETURN(jwks->text, Jwks::Read(options.jwks_file));
    absl::StatusOr<KeySet> keys = KeySet::Parse(jwks->text);
    if (!keys.ok()) {
      return core::InvalidArgument("JWKS_INVALID",
                                   absl::StrCat(options.jwks_file, ": ", keys.status().message()));
    }
    jwks->keys = std::make_shared<const KeySet>(*std::move(keys));
    jwks->checked = clock.Now();
  }
  std::unique_ptr<TokenVerifier> verifier(new TokenVerifier(std::move(options), clock));
  verifier->jwks_ = std::move(jwks);
  return verifier;
}

TokenVerifier::~TokenVerifier() = default;

absl::StatusOr<Principal> TokenVerifier::Verify(absl::string_view token) const {
  // The keys in use, read once per call and handed to Decode.
  auto [keys, generation] =
      jwks_ ? jwks_->Current(clock_.Now()) : std::pair<std::shared_ptr<const KeySet>, uint64_t>();
  {
    absl::ReaderMutexLock lock(&cache_->mu);
    auto it = cache_->entries.find(token);
    if (cache_->generation == generation && it != cache_->entries.end()) {
      if (clock_.Now() < it->second.expires) return it->second;
      return Unauthenticated("TOKEN_EXPIRED", "the bearer token has expired");
    }
  }
  absl::StatusOr<Principal> principal = Decode(token, keys.get());
  if (principal.ok()) {
    absl::MutexLock lock(&cache_->mu);
    if (cache_->generation != generation || cache_->entries.size() >= Cache::kMaxEntries) {
      cache_->entries.clear();
      cache_->generation = generation;
    }
    cache_->entries.emplace(std::string(token), *principal);
  }
  return principal;
}

absl::StatusOr<Principal> TokenVerifier::Decode(absl::string_view token, const KeySet* keys) const {
  if (token.empty()) return Unauthenticated("TOKEN_MISSING", "a bearer token is required");
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  std::string signature;
  if (parts.size() != 3 || !absl::WebSafeBase64Unescape(parts[2], &signature)) {
    return Unauthenticated("TOKEN_INVALID", "the bearer token is not a signed JWT");
  }
  // Read as the standard says, strictly: no name twice, exact algorithm names, numbers where
  // numbers belong.
  std::optional<nlohmann::json> header = Part(token, 0);
  std::optional<nlohmann::json> claims = Part(token, 1);
  if (!header.has_value() || !claims.has_value()) {
    return Unauthenticated("TOKEN_INVALID",
                           "the bearer token's header and claims must be JSON objects without "
                           "duplicate names");
  }
  // The algorithm picks the key, never the other way round: HS256 only with the secret, RS256
  // and ES256 only with a JWKS key of that algorithm (so a public key can never be taken for an
  // HMAC secret, and "none" or anything weaker is refused).
  auto alg = header->find("alg");
  auto kid = header->find("kid");
  if (alg == header->end() || !alg->is_string() || (kid != header->end() && !kid->is_string())) {
    return Unauthenticated("TOKEN_INVALID", "the bearer token's header needs a string alg");
  }
  const std::string signing_input = absl::StrCat(parts[0], ".", parts[1]);
  const bool external = *alg == "RS256" || *alg == "ES256";
  if (*alg == "HS256" && !options_.secret.empty()) {
    if (!Hs256Verifies(options_.secret, signing_input, signature)) {
      return Unauthenticated("TOKEN_INVALID", "the bearer token's signature does not verify");
    }
  } else if (external && keys != nullptr) {
    const PublicKey* key =
        keys->Find(kid != header->end() ? kid->get<std::string>() : "", alg->get<std::string>());
    if (key == nullptr) {
      return Unauthenticated("TOKEN_INVALID",
                             "no key of the JWKS matches the bearer token's kid and alg");
    }
    if (!key->Verifies(signing_input, signature)) {
      return Unauthenticated("TOKEN_INVALID", "the bearer token's signature does not verify");
    }
  } else {
    return Unauthenticated("TOKEN_INVALID",
                           keys != nullptr
                               ? "the bearer token must be signed with HS256, RS256 or ES256"
                               : "the bearer token must be signed with HS256");
  }
  for (const char* time_claim : {"exp", "nbf", "iat"}) {
    auto it = claims->find(time_claim);
    if (it != claims->end() && !it->is_number_integer()) {
      return Unauthenticated("TOKEN_INVALID", absl::StrCat("the bearer token's ", time_claim,
                                                           " must be a number of seconds"));
    }
  }
  auto exp = claims->find("exp");
  if (exp == claims->end()) {
    return Unauthenticated("TOKEN_INVALID", "the bearer token has no expiry");
  }
  if (auto nbf = claims->find("nbf"); nbf != claims->end()) {
    if (clock_.Now() < absl::FromUnixSeconds(nbf->get<int64_t>())) {
      return Unauthenticated("TOKEN_NOT_YET_VALID", "the bearer token is not valid yet (nbf)");
    }
  }
  if (external) RETURN_IF_ERROR(CheckIssuerAndAudience(*claims, options_));
  auto tenant = claims->find("tenant");
  auto sub = claims->find("sub");
  if (tenant == claims->end() || !tenant->is_string() || sub == claims->end() ||
      !sub->is_string() || !IsValidTenantId(tenant->get<std::string>()) ||
      sub->get<std::string>().empty()) {
    return Unauthenticated("TOKEN_INVALID", "the bearer token lacks a valid tenant or subject");
  }
  Principal p;
  p.tenant_id = tenant->get<std::string>();
  p.subject = sub->get<std::string>();
  p.expires = absl::FromUnixSeconds(exp->get<int64_t>());
  if (clock_.Now() >= p.expires) {
    return Unauthenticated("TOKEN_EXPIRED", "the bearer token has expired");
  }
  if (auto roles = claims->find("roles"); roles != claims->end()) {
    if (!roles->is_array()) {
      return Unauthenticated("TOKEN_INVALID", "the bearer token's roles must be a list");
    }
    for (const auto& r : *roles) {
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

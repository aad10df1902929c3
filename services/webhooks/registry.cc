#include "services/webhooks/registry.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"

namespace switchboard::webhooks {
namespace {

constexpr absl::Duration kHitTtl = absl::Seconds(30);
constexpr absl::Duration kMissTtl = absl::Seconds(5);
constexpr size_t kMaxCached = 100000;
constexpr char kColumns[] =
    "phone_number_id, waba_id, display_phone_number, app_id, calling_settings, create_time, "
    "update_time";

absl::Status Invalid(absl::string_view reason, absl::string_view message) {
  return core::InvalidArgument(reason, message);
}

std::string Digits(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (absl::ascii_isdigit(c)) out.push_back(c);
  }
  return out;
}

v1::PhoneNumber Row(const pg::Result& r, int i) {
  v1::PhoneNumber n;
  n.set_phone_number_id(std::string(r.Get(i, 0)));
  n.set_waba_id(std::string(r.Get(i, 1)));
  n.set_display_phone_number(std::string(r.Get(i, 2)));
  n.set_app_id(std::string(r.Get(i, 3)));
  n.mutable_calling_settings()->ParseFromString(r.GetBytes(i, 4));
  *n.mutable_create_time() = core::ToProto(r.GetTime(i, 5));
  *n.mutable_update_time() = core::ToProto(r.GetTime(i, 6));
  return n;
}

absl::Status NotFound(const std::string& id) {
  return core::Error(absl::StatusCode::kNotFound, "PHONE_NUMBER_NOT_FOUND",
                     "no such phone number in this tenant", {{"phone_number_id", id}});
}

}  // namespace

bool IsMetaId(absl::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

Registry::Registry(pg::Pool& pool, const core::Clock& clock) : pool_(pool), clock_(clock) {}

void Registry::Forget(const std::string& key) {
  absl::MutexLock lock(&mu_);
  cache_.erase(key);
}

absl::StatusOr<std::optional<NumberOwner>> Registry::ByPhoneNumberId(
    const std::string& phone_number_id) {
  absl::Time now = clock_.Now();
  std::string key = "n/" + phone_number_id;
  std::optional<Cached> stale;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (it->second.expires > now) return it->second.owner;
      stale = it->second;
    }
  }
  if (!IsMetaId(phone_number_id)) return std::nullopt;
  absl::StatusOr<pg::Result> r = pool_.Exec(
      "SELECT tenant_id, app_id FROM phone_numbers WHERE phone_number_id = $1", {phone_number_id});
  if (!r.ok()) {
    if (stale.has_value()) return stale->owner;  // better stale than a 5xx storm
    return r.status();
  }
  Cached fresh;
  if (r->rows() > 0) {
    fresh.owner = NumberOwner{.tenant_id = std::string(r->Get(0, 0)),
                              .app_id = std::string(r->Get(0, 1)),
                              .phone_number_id = phone_number_id};
  }
  fresh.expires = now + (fresh.owner.has_value() ? kHitTtl : kMissTtl);
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kMaxCached) cache_.clear();  // a flood of made-up ids; start over
  cache_[key] = fresh;
  return fresh.owner;
}

absl::StatusOr<std::optional<NumberOwner>> Registry::ByWaba(
    const std::string& waba_id, const std::string& display_phone_number) {
  absl::Time now = clock_.Now();
  std::string digits = Digits(display_phone_number);
  std::string key = absl::StrCat("w/", waba_id, "/", digits);
  std::optional<Cached> stale;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (it->second.expires > now) return it->second.owner;
      stale = it->second;
    }
  }
  if (!IsMetaId(waba_id)) return std::nullopt;
  absl::StatusOr<pg::Result> r = pool_.Exec(
      "SELECT tenant_id, app_id, phone_number_id, display_phone_number FROM phone_numbers "
      "WHERE waba_id = $1 ORDER BY phone_number_id",
      {waba_id});
  if (!r.ok()) {
    if (stale.has_value()) return stale->owner;
    return r.status();
  }
  Cached fresh;
  for (int i = 0; i < r->rows(); ++i) {
    NumberOwner owner{.tenant_id = std::string(r->Get(i, 0)),
                      .app_id = std::string(r->Get(i, 1)),
                      .phone_number_id = std::string(r->Get(i, 2))};
    if (!digits.empty() && Digits(r->Get(i, 3)) == digits) {
      fresh.owner = owner;
      break;
    }
    if (!fresh.owner.has_value()) {
      owner.phone_number_id.clear();  // the WABA's tenant, no particular number
      fresh.owner = owner;
    }
  }
  fresh.expires = now + (fresh.owner.has_value() ? kHitTtl : kMissTtl);
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kMaxCached) cache_.clear();
  cache_[key] = fresh;
  return fresh.owner;
}

absl::StatusOr<v1::PhoneNumber> Registry::Register(const std::string& tenant,
                                                   const v1::RegisterPhoneNumberRequest& req) {
  if (!IsMetaId(req.phone_number_id())) {
    return Invalid("INVALID_PHONE_NUMBER_ID", "phone_number_id must be Meta's numeric id");
  }
  if (!IsMetaId(req.waba_id())) {
    return Invalid("INVALID_WABA_ID", "waba_id must be Meta's numeric id");
  }
  std::string display_digits = Digits(req.display_phone_number());
  if (display_digits.size() < 6 || display_digits.size() > 15 ||
      req.display_phone_number().size() > 32) {
    return Invalid("INVALID_DISPLAY_PHONE_NUMBER",
                   "display_phone_number must be a phone number (6-15 digits)");
  }
  v1::PhoneNumber out;
  absl::Time now = clock_.Now();
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto earlier,
                     pg::Idempotency::Find(tx, tenant, req.request_id(), "RegisterPhoneNumber"));
    if (earlier.has_value()) {
      out.ParseFromString(*earlier);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(pg::Result owners, tx.Exec("SELECT DISTINCT tenant_id FROM phone_numbers "
                                                "WHERE waba_id = $1 AND tenant_id <> $2",
                                                {req.waba_id(), tenant}));
    if (owners.rows() > 0) {
      return core::Error(absl::StatusCode::kAlreadyExists, "WABA_REGISTERED_ELSEWHERE",
                         "this WhatsApp Business Account belongs to another tenant");
    }
    ASSIGN_OR_RETURN(
        pg::Result r,
        tx.Exec(absl::StrCat("INSERT INTO phone_numbers (phone_number_id, tenant_id, waba_id, "
                             "display_phone_number, app_id, create_time, update_time) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $6) "
                             "ON CONFLICT (phone_number_id) DO UPDATE SET waba_id = $3, "
                             "display_phone_number = $4, app_id = $5, update_time = $6 "
                             "WHERE phone_numbers.tenant_id = $2 RETURNING ",
                             kColumns),
                {req.phone_number_id(), tenant, req.waba_id(), req.display_phone_number(),
                 req.app_id(), now}));
    if (r.rows() == 0) {
      // Not for another tenant's eyes: which tenant it is stays unsaid.
      return core::Error(absl::StatusCode::kAlreadyExists, "PHONE_NUMBER_REGISTERED_ELSEWHERE",
                         "this phone number is registered to another tenant");
    }
    out = Row(r, 0);
    return pg::Idempotency::Remember(tx, tenant, req.request_id(), "RegisterPhoneNumber",
                                     out.SerializeAsString());
  }));
  Forget("n/" + req.phone_number_id());
  {
    absl::MutexLock lock(&mu_);
    // WABA lookups are keyed by display number too; drop them all (rare admin operation).
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (absl::StartsWith(it->first, "w/")) {
        cache_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  return out;
}

absl::StatusOr<Page> Registry::List(const std::string& tenant, int page_size,
                                    const std::string& page_token) {
  if (page_size < 0 || page_size > 500) {
    return Invalid("INVALID_PAGE_SIZE", "page_size must be 0-500");
  }
  if (page_size == 0) page_size = 100;
  std::string after;
  if (!page_token.empty()) {
    if (!absl::WebSafeBase64Unescape(page_token, &after) || !IsMetaId(after)) {
      return Invalid("INVALID_PAGE_TOKEN", "page_token is not one this service issued");
    }
  }
  ASSIGN_OR_RETURN(pg::Result r,
                   pool_.Exec(absl::StrCat("SELECT ", kColumns,
                                           " FROM phone_numbers WHERE tenant_id = $1 AND "
                                           "phone_number_id > $2 ORDER BY phone_number_id "
                                           "LIMIT $3"),
                              {tenant, after, page_size + 1}));
  Page page;
  for (int i = 0; i < r.rows() && i < page_size; ++i) page.numbers.push_back(Row(r, i));
  if (r.rows() > page_size) {
    page.next_page_token = absl::WebSafeBase64Escape(page.numbers.back().phone_number_id());
  }
  return page;
}

absl::StatusOr<v1::PhoneNumber> Registry::Get(const std::string& tenant,
                                              const std::string& phone_number_id) {
  if (!IsMetaId(phone_number_id)) {
    return Invalid("INVALID_PHONE_NUMBER_ID", "phone_number_id must be Meta's numeric id");
  }
  ASSIGN_OR_RETURN(pg::Result r,
                   pool_.Exec(absl::StrCat("SELECT ", kColumns,
                                           " FROM phone_numbers WHERE tenant_id = $1 AND "
                                           "phone_number_id = $2"),
                              {tenant, phone_number_id}));
  if (r.rows() == 0) return NotFound(phone_number_id);
  return Row(r, 0);
}

absl::Status Registry::Delete(const std::string& tenant, const std::string& phone_number_id,
                              const std::string& request_id) {
  if (!IsMetaId(phone_number_id)) {
    return Invalid("INVALID_PHONE_NUMBER_ID", "phone_number_id must be Meta's numeric id");
  }
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto earlier,
                     pg::Idempotency::Find(tx, tenant, request_id, "DeletePhoneNumber"));
    if (earlier.has_value()) return absl::OkStatus();
    RETURN_IF_ERROR(tx.Exec("DELETE FROM phone_numbers WHERE tenant_id = $1 AND "
                            "phone_number_id = $2",
                            {tenant, phone_number_id})
                        .status());
    return pg::Idempotency::Remember(tx, tenant, request_id, "DeletePhoneNumber", "");
  }));
  Forget("n/" + phone_number_id);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::PhoneNumber>> Registry::EarlierSettings(
    const std::string& tenant, const std::string& request_id) {
  std::optional<v1::PhoneNumber> out;
  if (request_id.empty()) return out;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto earlier,
                     pg::Idempotency::Find(tx, tenant, request_id, "UpdateCallingSettings"));
    if (earlier.has_value()) {
      out.emplace();
      out->ParseFromString(*earlier);
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<v1::PhoneNumber> Registry::SaveSettings(const std::string& tenant,
                                                       const std::string& phone_number_id,
                                                       const v1::CallingSettings& settings,
                                                       const std::string& request_id) {
  v1::PhoneNumber out;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(auto earlier,
                     pg::Idempotency::Find(tx, tenant, request_id, "UpdateCallingSettings"));
    if (earlier.has_value()) {
      out.ParseFromString(*earlier);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(
        pg::Result r,
        tx.Exec(absl::StrCat("UPDATE phone_numbers SET calling_settings = $3, update_time = $4 "
                             "WHERE tenant_id = $1 AND phone_number_id = $2 RETURNING ",
                             kColumns),
                {tenant, phone_number_id, pg::Param::Bytes(settings.SerializeAsString()),
                 clock_.Now()}));
    if (r.rows() == 0) return NotFound(phone_number_id);
    out = Row(r, 0);
    return pg::Idempotency::Remember(tx, tenant, request_id, "UpdateCallingSettings",
                                     out.SerializeAsString());
  }));
  return out;
}

}  // namespace switchboard::webhooks

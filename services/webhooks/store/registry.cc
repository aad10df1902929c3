#include "services/webhooks/store/registry.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "services/webhooks/rules/numbers.h"

namespace switchboard::webhooks {
namespace {

constexpr absl::Duration kHitTtl = absl::Seconds(30);
constexpr absl::Duration kMissTtl = absl::Seconds(5);
constexpr size_t kMaxCached = 100000;
constexpr char kColumns[] =
    "phone_number_id, waba_id, display_phone_number, app_id, calling_settings, create_time, "
    "update_time";

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

}  // namespace

Registry::Registry(pg::Pool& pool, const core::Clock& clock) : pool_(pool), clock_(clock) {}

absl::StatusOr<std::optional<NumberOwner>> Registry::Remembered(
    const std::string& key,
    const std::function<absl::StatusOr<std::optional<NumberOwner>>()>& load) {
  absl::Time now = clock_.Now();
  std::optional<Cached> stale;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (it->second.expires > now) return it->second.owner;
      stale = it->second;
    }
  }
  absl::StatusOr<std::optional<NumberOwner>> loaded = load();
  if (!loaded.ok()) {
    if (stale.has_value()) return stale->owner;
    return loaded.status();
  }
  Cached fresh{.owner = *std::move(loaded)};
  fresh.expires = now + (fresh.owner.has_value() ? kHitTtl : kMissTtl);
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kMaxCached) cache_.clear();  // a flood of made-up ids; start over
  cache_[key] = fresh;
  return fresh.owner;
}

absl::StatusOr<std::optional<NumberOwner>> Registry::ByPhoneNumberId(
    const std::string& phone_number_id) {
  // Never cached: an id that is not Meta's is answered without a query.
  if (!rules::IsMetaId(phone_number_id)) return std::nullopt;
  return Remembered("n/" + phone_number_id, [&]() -> absl::StatusOr<std::optional<NumberOwner>> {
    ASSIGN_OR_RETURN(
        pg::Result r,
        pool_.Exec("SELECT tenant_id, app_id FROM phone_numbers WHERE phone_number_id = $1",
                   {phone_number_id}));
    if (r.rows() == 0) return std::nullopt;
    return NumberOwner{.tenant_id = std::string(r.Get(0, 0)),
                       .app_id = std::string(r.Get(0, 1)),
                       .phone_number_id = phone_number_id};
  });
}

absl::StatusOr<std::optional<NumberOwner>> Registry::ByWaba(
    const std::string& waba_id, const std::string& display_phone_number) {
  if (!rules::IsMetaId(waba_id)) return std::nullopt;
  std::string digits = rules::Digits(display_phone_number);
  return Remembered(absl::StrCat("w/", waba_id, "/", digits),
                    [&]() -> absl::StatusOr<std::optional<NumberOwner>> {
                      ASSIGN_OR_RETURN(pg::Result r,
                                       pool_.Exec("SELECT tenant_id, app_id, phone_number_id, "
                                                  "display_phone_number FROM phone_numbers "
                                                  "WHERE waba_id = $1 ORDER BY phone_number_id",
                                                  {waba_id}));
                      std::optional<NumberOwner> found;
                      for (int i = 0; i < r.rows(); ++i) {
                        NumberOwner owner{.tenant_id = std::string(r.Get(i, 0)),
                                          .app_id = std::string(r.Get(i, 1)),
                                          .phone_number_id = std::string(r.Get(i, 2))};
                        if (!digits.empty() && rules::Digits(r.Get(i, 3)) == digits) return owner;
                        if (!found.has_value()) {
                          owner.phone_number_id.clear();  // the WABA's tenant, no particular number
                          found = owner;
                        }
                      }
                      return found;
                    });
}

absl::StatusOr<bool> Registry::WabaHeldByAnother(pg::Conn& tx, absl::string_view waba_id,
                                                 absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Result owners, tx.Exec("SELECT 1 FROM phone_numbers "
                                              "WHERE waba_id = $1 AND tenant_id <> $2 LIMIT 1",
                                              {waba_id, tenant}));
  return owners.rows() > 0;
}

absl::StatusOr<std::optional<v1::PhoneNumber>> Registry::Upsert(
    pg::Conn& tx, absl::string_view tenant, const v1::RegisterPhoneNumberRequest& req,
    absl::Time now) {
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
  if (r.rows() == 0) return std::nullopt;
  return Row(r, 0);
}

void Registry::Forget(const std::string& phone_number_id) {
  absl::MutexLock lock(&mu_);
  cache_.erase("n/" + phone_number_id);
  // WABA lookups are keyed by display number too; drop them all (a rare admin operation).
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (absl::StartsWith(it->first, "w/")) {
      cache_.erase(it++);
    } else {
      ++it;
    }
  }
}

absl::StatusOr<std::vector<v1::PhoneNumber>> Registry::List(absl::string_view tenant,
                                                            absl::string_view after_id, int limit) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool_.Exec(absl::StrCat("SELECT ", kColumns,
                                           " FROM phone_numbers WHERE tenant_id = $1 AND "
                                           "phone_number_id > $2 ORDER BY phone_number_id "
                                           "LIMIT $3"),
                              {tenant, after_id, limit}));
  std::vector<v1::PhoneNumber> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(Row(r, i));
  return out;
}

absl::StatusOr<std::optional<v1::PhoneNumber>> Registry::Get(absl::string_view tenant,
                                                             absl::string_view phone_number_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool_.Exec(absl::StrCat("SELECT ", kColumns,
                                           " FROM phone_numbers WHERE tenant_id = $1 AND "
                                           "phone_number_id = $2"),
                              {tenant, phone_number_id}));
  if (r.rows() == 0) return std::nullopt;
  return Row(r, 0);
}

absl::Status Registry::Delete(pg::Conn& tx, absl::string_view tenant,
                              absl::string_view phone_number_id) {
  return tx
      .Exec("DELETE FROM phone_numbers WHERE tenant_id = $1 AND phone_number_id = $2",
            {tenant, phone_number_id})
      .status();
}

absl::Status Registry::DeadLetter(absl::string_view tenant, absl::string_view event_id,
                                  absl::string_view kind, absl::string_view reason,
                                  const std::string& payload, absl::Time now) {
  return pool_
      .Exec(
          "INSERT INTO dead_letters (event_id, tenant_id, kind, reason, bytes, payload, "
          "receive_time) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
          {event_id, tenant, kind, reason, static_cast<int64_t>(payload.size()),
           pg::Param::Bytes(payload), now})
      .status();
}

absl::StatusOr<std::vector<v1::DeadLetter>> Registry::ListDeadLetters(
    absl::string_view tenant, const std::optional<api::Cursor>& after, int limit) {
  const std::string columns =
      "SELECT event_id, kind, reason, bytes, receive_time FROM dead_letters WHERE tenant_id = $1";
  const std::string order = " ORDER BY receive_time DESC, event_id DESC LIMIT ";
  ASSIGN_OR_RETURN(
      pg::Result r,
      after.has_value()
          ? pool_.Exec(
                absl::StrCat(columns, " AND (receive_time, event_id) < ($2, $3)", order, limit),
                {tenant, after->time, after->id})
          : pool_.Exec(absl::StrCat(columns, order, limit), {tenant}));
  std::vector<v1::DeadLetter> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    v1::DeadLetter d;
    d.set_event_id(std::string(r.Get(i, 0)));
    d.set_kind(std::string(r.Get(i, 1)));
    d.set_reason(std::string(r.Get(i, 2)));
    d.set_bytes(r.GetInt(i, 3));
    *d.mutable_receive_time() = core::ToProto(r.GetTime(i, 4));
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<std::optional<v1::PhoneNumber>> Registry::SaveSettings(
    pg::Conn& tx, absl::string_view tenant, absl::string_view phone_number_id,
    const v1::CallingSettings& settings, absl::Time now) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec(absl::StrCat("UPDATE phone_numbers SET calling_settings = $3, update_time = $4 "
                           "WHERE tenant_id = $1 AND phone_number_id = $2 RETURNING ",
                           kColumns),
              {tenant, phone_number_id, pg::Param::Bytes(settings.SerializeAsString()), now}));
  if (r.rows() == 0) return std::nullopt;
  return Row(r, 0);
}

}  // namespace switchboard::webhooks

#include "services/notifications/store/outbound.h"

#include "libs/core/status_macros.h"

namespace switchboard::notifications::store {

absl::Status TouchWindow(pg::Pool& pool, absl::string_view tenant, absl::string_view number,
                         absl::string_view contact, absl::Time at) {
  return pool
      .Exec(
          "INSERT INTO service_windows AS w (tenant_id, business_phone_number_id, contact_key, "
          "last_time) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, business_phone_number_id, "
          "contact_key) DO UPDATE SET last_time = greatest(w.last_time, $4)",
          {tenant, number, contact, at})
      .status();
}

absl::StatusOr<std::optional<absl::Time>> WindowOpened(pg::Pool& pool, absl::string_view tenant,
                                                       absl::string_view number,
                                                       absl::string_view contact) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool.Exec("SELECT last_time FROM service_windows WHERE tenant_id = $1 AND "
                             "business_phone_number_id = $2 AND contact_key = $3",
                             {tenant, number, contact}));
  if (r.rows() == 0) return std::nullopt;
  return r.GetTime(0, 0);
}

absl::StatusOr<bool> Take(pg::Pool& pool, const Taken& request, absl::Time now) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      pool.Exec("INSERT INTO outbound_messages (tenant_id, event_id, call_id, contact_key, state, "
                "create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $6) "
                "ON CONFLICT DO NOTHING RETURNING 1",
                {request.tenant, request.event_id, request.call_id, request.contact,
                 static_cast<int>(SendState::kSending), now}));
  return r.rows() == 1;
}

absl::Status Settle(pg::Pool& pool, const Taken& request, SendState state,
                    absl::string_view channel, absl::string_view meta_message_id,
                    absl::string_view reason, absl::Time now) {
  return pool
      .Exec(
          "UPDATE outbound_messages SET state = $3, channel = $4, meta_message_id = $5, "
          "reason = $6, update_time = $7 WHERE tenant_id = $1 AND event_id = $2",
          {request.tenant, request.event_id, static_cast<int>(state), channel, meta_message_id,
           reason, now})
      .status();
}

absl::Status Release(pg::Pool& pool, const Taken& request) {
  return pool
      .Exec("DELETE FROM outbound_messages WHERE tenant_id = $1 AND event_id = $2 AND state = $3",
            {request.tenant, request.event_id, static_cast<int>(SendState::kSending)})
      .status();
}

absl::StatusOr<int64_t> SettleLost(pg::Pool& pool, absl::Time before, absl::Time now) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool.Exec("UPDATE outbound_messages SET state = $1, reason = 'OUTCOME_LOST', "
                             "update_time = $3 WHERE state = $2 AND update_time < $4",
                             {static_cast<int>(SendState::kUnknown),
                              static_cast<int>(SendState::kSending), now, before}));
  return r.affected();
}

absl::StatusOr<std::optional<SendState>> StateOf(pg::Pool& pool, absl::string_view tenant,
                                                 absl::string_view event_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool.Exec("SELECT state FROM outbound_messages WHERE tenant_id = $1 AND "
                             "event_id = $2",
                             {tenant, event_id}));
  if (r.rows() == 0) return std::nullopt;
  return static_cast<SendState>(r.GetInt(0, 0));
}

}  // namespace switchboard::notifications::store

#include "services/eligibility/store/durable.h"

#include "libs/core/id.h"
#include "libs/core/status_macros.h"
#include "libs/pg/outbox.h"
#include "services/eligibility/store/names.h"

namespace switchboard::eligibility::store {
namespace {

constexpr char kColumns[] =
    "last_inbound_at, opted_out_at, declined_at, call_requested_at, offer_made_at, "
    "offer_accepted_at, long_term_consent_at, permission, permission_expires_at, "
    "permission_revoked, consecutive_unanswered, automation_state, permission_changed_at";

rules::ContactFacts FromRow(const pg::Result& r, int row) {
  rules::ContactFacts c;
  c.last_inbound_message = r.GetOptionalTime(row, 0);
  c.opted_out = r.GetOptionalTime(row, 1);
  c.declined = r.GetOptionalTime(row, 2);
  c.call_requested = r.GetOptionalTime(row, 3);
  c.offer_made = r.GetOptionalTime(row, 4);
  c.offer_accepted = r.GetOptionalTime(row, 5);
  c.long_term_consent = r.GetOptionalTime(row, 6);
  c.permission = ParsePermission(r.Get(row, 7));
  c.permission_expires = r.GetOptionalTime(row, 8);
  c.permission_revoked = r.GetBool(row, 9);
  c.consecutive_unanswered = static_cast<int>(r.GetInt(row, 10));
  c.automation_state = std::string(r.Get(row, 11));
  c.permission_changed = r.GetOptionalTime(row, 12);
  return c;
}

}  // namespace

absl::StatusOr<std::optional<rules::ContactFacts>> Durable::Load(const ContactRef& c) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool_.Exec(absl::StrCat("SELECT ", kColumns,
                                           " FROM contacts WHERE tenant_id = $1 AND "
                                           "business_number = $2 AND contact_key = $3"),
                              {c.tenant, c.business_number, c.contact_key}));
  if (r.rows() == 0) return std::optional<rules::ContactFacts>();
  return std::optional<rules::ContactFacts>(FromRow(r, 0));
}

absl::StatusOr<ApplyResult> Durable::Apply(const ContactRef& c, const Change& change) {
  ApplyResult result;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    result = ApplyResult();
    RETURN_IF_ERROR(tx.Exec("INSERT INTO contacts (tenant_id, business_number, contact_key, "
                            "updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                            {c.tenant, c.business_number, c.contact_key, clock_.Now()})
                        .status());
    ASSIGN_OR_RETURN(pg::Result row,
                     tx.Exec(absl::StrCat("SELECT ", kColumns,
                                          " FROM contacts WHERE tenant_id = $1 AND "
                                          "business_number = $2 AND contact_key = $3 FOR UPDATE"),
                             {c.tenant, c.business_number, c.contact_key}));
    result.facts = FromRow(row, 0);
    if (change.key != nullptr) {
      ASSIGN_OR_RETURN(result.earlier, pg::Idempotency::Find(tx, *change.key));
      if (result.earlier.has_value()) {
        result.duplicate = true;
        return absl::OkStatus();
      }
    }
    if (!change.request_id.empty()) {
      ASSIGN_OR_RETURN(pg::Result seen,
                       tx.Exec("SELECT 1 FROM consent_audit WHERE tenant_id = $1 AND "
                               "request_id = $2",
                               {c.tenant, change.request_id}));
      if (seen.rows() > 0) {
        result.duplicate = true;
        return absl::OkStatus();
      }
    }
    change.apply(result.facts);
    const rules::ContactFacts& f = result.facts;
    RETURN_IF_ERROR(
        tx.Exec("UPDATE contacts SET last_inbound_at = $4, opted_out_at = $5, declined_at = $6, "
                "call_requested_at = $7, offer_made_at = $8, offer_accepted_at = $9, "
                "long_term_consent_at = $10, permission = $11, permission_expires_at = $12, "
                "permission_revoked = $13, consecutive_unanswered = $14, automation_state = $15, "
                "updated_at = $16, permission_changed_at = $17 WHERE tenant_id = $1 AND "
                "business_number = $2 AND contact_key = $3",
                {c.tenant, c.business_number, c.contact_key, pg::Param(f.last_inbound_message),
                 pg::Param(f.opted_out), pg::Param(f.declined), pg::Param(f.call_requested),
                 pg::Param(f.offer_made), pg::Param(f.offer_accepted),
                 pg::Param(f.long_term_consent), PermissionName(f.permission),
                 pg::Param(f.permission_expires), f.permission_revoked, f.consecutive_unanswered,
                 f.automation_state, clock_.Now(), pg::Param(f.permission_changed)})
            .status());
    if (change.audit || !change.request_id.empty()) {
      RETURN_IF_ERROR(
          tx.Exec("INSERT INTO consent_audit (id, tenant_id, business_number, contact_key, "
                  "action, source, actor, occurred_at, detail, request_id) VALUES ($1, $2, $3, "
                  "$4, $5, $6, $7, $8, $9, $10)",
                  {core::NewId(clock_), c.tenant, c.business_number, c.contact_key, change.action,
                   change.source, change.actor, change.at, change.detail,
                   change.request_id.empty() ? pg::Param(std::nullopt)
                                             : pg::Param(change.request_id)})
              .status());
    }
    if (change.key != nullptr) {
      RETURN_IF_ERROR(
          pg::Idempotency::Remember(tx, *change.key, change.respond ? change.respond() : ""));
    }
    return absl::OkStatus();
  }));
  return result;
}

absl::Status Durable::Once(const pg::RequestKey& key, const std::function<absl::Status()>& change) {
  return pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> earlier, pg::Idempotency::Find(tx, key));
    if (earlier.has_value()) return absl::OkStatus();
    RETURN_IF_ERROR(change());
    return pg::Idempotency::Remember(tx, key, "");
  });
}

absl::Status Durable::Enqueue(absl::string_view topic, const kafka::Event& event) {
  absl::Status s =
      pool_.InTransaction([&](pg::Conn& tx) { return pg::Outbox::Enqueue(tx, topic, event); });
  if (s.code() == absl::StatusCode::kAlreadyExists) return absl::OkStatus();
  return s;
}

absl::StatusOr<std::string> Durable::LoadPolicy(absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool_.Exec("SELECT policy FROM tenant_policies WHERE tenant_id = $1", {tenant}));
  if (r.rows() == 0) return std::string();
  return r.GetBytes(0, 0);
}

absl::Status Durable::SavePolicy(absl::string_view tenant, const std::string& policy,
                                 absl::string_view actor, const pg::RequestKey& key) {
  return pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> earlier, pg::Idempotency::Find(tx, key));
    if (earlier.has_value()) return absl::OkStatus();
    RETURN_IF_ERROR(tx.Exec("INSERT INTO tenant_policies (tenant_id, policy, updated_at, "
                            "updated_by) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO "
                            "UPDATE SET policy = EXCLUDED.policy, updated_at = "
                            "EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by",
                            {tenant, pg::Param::Bytes(policy), clock_.Now(), actor})
                        .status());
    return pg::Idempotency::Remember(tx, key, "");
  });
}

absl::StatusOr<std::vector<AuditEntry>> Durable::ListAudit(absl::string_view tenant,
                                                           absl::string_view contact_key, int limit,
                                                           absl::string_view after_id) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      pool_.Exec("SELECT id, business_number, contact_key, action, source, actor, detail, "
                 "occurred_at FROM consent_audit WHERE tenant_id = $1 "
                 "AND ($2 = '' OR contact_key = $2) AND ($3 = '' OR id < $3) "
                 "ORDER BY id DESC LIMIT $4",
                 {tenant, contact_key, after_id, limit}));
  std::vector<AuditEntry> out;
  for (int i = 0; i < r.rows(); ++i) {
    AuditEntry e;
    e.id = std::string(r.Get(i, 0));
    e.contact = {std::string(tenant), std::string(r.Get(i, 1)), std::string(r.Get(i, 2))};
    e.action = std::string(r.Get(i, 3));
    e.source = std::string(r.Get(i, 4));
    e.actor = std::string(r.Get(i, 5));
    e.detail = std::string(r.Get(i, 6));
    e.occurred_at = r.GetTime(i, 7);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace switchboard::eligibility::store

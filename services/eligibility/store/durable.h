// The eligibility service's durable state in PostgreSQL (its own schema): each contact's
// consent facts and the audit trail of every change to them. Every query is scoped by tenant.
//
//   store::Durable durable(pool, clock);
//   ASSIGN_OR_RETURN(auto facts, durable.Apply(tenant, number, contact, change));
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/clock.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/idempotency.h"
#include "libs/pg/pg.h"
#include "services/eligibility/rules/eligibility.h"

namespace switchboard::eligibility::store {

struct ContactRef {
  std::string tenant;
  std::string business_number;
  std::string contact_key;
};

// A change to a contact's facts and how to audit it.
struct Change {
  std::function<void(rules::ContactFacts&)> apply;
  std::string action;      // e.g. OPTED_OUT, CONSENT_RECORDED
  std::string source;      // e.g. INBOUND_MESSAGE, AGENT, API, META_PERMISSION_REPLY
  std::string actor;       // the token's subject, or the event's source
  std::string detail;      // short, no message bodies
  std::string request_id;  // idempotency key; empty: none
  absl::Time at;
  bool audit = true;  // false for bookkeeping that is not a consent change (last message time)
  // The API request this change answers: a repeat of it changes nothing and gets the first
  // answer (ApplyResult::earlier), the same request_id with another body is REQUEST_ID_REUSED
  // (libs/pg/idempotency.h). `respond` gives the answer to remember, after `apply` ran.
  const pg::RequestKey* key = nullptr;
  std::function<std::string()> respond;
};

struct AuditEntry {
  std::string id;
  ContactRef contact;
  std::string action;
  std::string source;
  std::string actor;
  std::string detail;
  absl::Time occurred_at;
};

struct ApplyResult {
  rules::ContactFacts facts;
  bool duplicate = false;              // the request id was applied before: nothing changed now
  std::optional<std::string> earlier;  // the first answer to the same request (Change::key)
};

class Durable {
 public:
  Durable(pg::Pool& pool, const core::Clock& clock) : pool_(pool), clock_(clock) {}

  absl::StatusOr<std::optional<rules::ContactFacts>> Load(const ContactRef& contact);
  // Applies `change` (creating the contact if needed) and audits it, in one transaction.
  absl::StatusOr<ApplyResult> Apply(const ContactRef& contact, const Change& change);
  // Newest first; `contact_key` empty lists the whole tenant. `page_token` is the last id seen.
  // The tenant's stored policy (a serialized TenantPolicy), or "" when it never set one.
  absl::StatusOr<std::string> LoadPolicy(absl::string_view tenant);
  // Saves the policy once per request (`key`: a repeat changes nothing, a reused request_id
  // with another body is REQUEST_ID_REUSED).
  absl::Status SavePolicy(absl::string_view tenant, const std::string& policy,
                          absl::string_view actor, const pg::RequestKey& key);

  // Runs `change` (a write elsewhere, e.g. Redis) once per request: a repeat of the request runs
  // nothing, a reused request_id with another body is REQUEST_ID_REUSED.
  absl::Status Once(const pg::RequestKey& key, const std::function<absl::Status()>& change);

  // Queues an event in the schema's outbox (published by the relay). An event whose id is
  // already queued is not queued again.
  absl::Status Enqueue(absl::string_view topic, const kafka::Event& event);

  absl::StatusOr<std::vector<AuditEntry>> ListAudit(absl::string_view tenant,
                                                    absl::string_view contact_key, int limit,
                                                    absl::string_view after_id);

 private:
  pg::Pool& pool_;
  const core::Clock& clock_;
};

}  // namespace switchboard::eligibility::store

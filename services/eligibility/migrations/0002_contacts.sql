-- The durable copy of each contact's call-consent state (Redis holds a cache of it), per tenant
-- and business number, and the audit trail of every consent change: who, when, from where.
CREATE TABLE contacts (
  tenant_id              text NOT NULL,
  business_number        text NOT NULL,
  contact_key            text NOT NULL,
  last_inbound_at        timestamptz,
  opted_out_at           timestamptz,
  declined_at            timestamptz,
  call_requested_at      timestamptz,
  offer_made_at          timestamptz,
  offer_accepted_at      timestamptz,
  long_term_consent_at   timestamptz,
  permission             text NOT NULL DEFAULT 'NONE'
                         CHECK (permission IN ('NONE', 'TEMPORARY', 'PERMANENT')),
  permission_expires_at  timestamptz,
  permission_revoked     boolean NOT NULL DEFAULT false,
  consecutive_unanswered integer NOT NULL DEFAULT 0 CHECK (consecutive_unanswered >= 0),
  automation_state       text NOT NULL DEFAULT '',
  updated_at             timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, business_number, contact_key)
);

CREATE TABLE consent_audit (
  id              text PRIMARY KEY,  -- UUIDv7: sorts by time
  tenant_id       text NOT NULL,
  business_number text NOT NULL,
  contact_key     text NOT NULL,
  action          text NOT NULL,
  source          text NOT NULL,
  actor           text NOT NULL,
  occurred_at     timestamptz NOT NULL,
  detail          text NOT NULL DEFAULT '',
  request_id      text
);
CREATE INDEX consent_audit_by_contact ON consent_audit (tenant_id, contact_key, id DESC);
CREATE INDEX consent_audit_by_tenant ON consent_audit (tenant_id, id DESC);
-- A repeated request changes nothing: its first audit entry is the record that it happened.
CREATE UNIQUE INDEX consent_audit_request ON consent_audit (tenant_id, request_id)
  WHERE request_id IS NOT NULL;

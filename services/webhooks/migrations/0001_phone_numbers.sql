-- The webhooks edge's schema: the registry that maps Meta's business phone numbers (and their
-- WhatsApp Business Accounts) to tenants. Only the webhooks service reads or writes it.
COMMENT ON SCHEMA webhooks IS 'Owned by the webhooks edge: business phone number registry.';

CREATE TABLE phone_numbers (
  phone_number_id      text PRIMARY KEY,
  tenant_id            text NOT NULL,
  waba_id              text NOT NULL,
  display_phone_number text NOT NULL,
  -- The Meta app whose signed webhooks may speak for this number ('' = the default app).
  app_id               text NOT NULL DEFAULT '',
  -- switchboard.webhooks.v1.CallingSettings, serialized.
  calling_settings     bytea NOT NULL DEFAULT ''::bytea,
  create_time          timestamptz NOT NULL,
  update_time          timestamptz NOT NULL
);

CREATE INDEX phone_numbers_tenant_idx ON phone_numbers (tenant_id, phone_number_id);
CREATE INDEX phone_numbers_waba_idx ON phone_numbers (waba_id);

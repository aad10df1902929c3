-- Per-tenant settings of the calls service (v1.CallsSettings in record): time zone, language.
CREATE TABLE settings (
  tenant_id   text PRIMARY KEY,
  record      bytea NOT NULL,
  update_time timestamptz NOT NULL
);

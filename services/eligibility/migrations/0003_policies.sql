-- Each tenant's eligibility policy: only the fields the tenant set (a serialized
-- switchboard.eligibility.v1.TenantPolicy); everything else takes the product guide's default.
CREATE TABLE tenant_policies (
  tenant_id  text PRIMARY KEY,
  policy     bytea NOT NULL,
  updated_at timestamptz NOT NULL,
  updated_by text NOT NULL
);

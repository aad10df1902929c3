-- A tenant's routing settings (UpdateRoutingSettings); NULL takes the process's default.
CREATE TABLE settings (
  tenant_id text PRIMARY KEY,
  agent_cooldown_us bigint,
  presence_ttl_us bigint,
  max_unanswered_offers integer,
  update_time timestamptz NOT NULL
);

-- Rate plans: the tenant's plan as it set it (sparse; rules::Effective fills the defaults).
CREATE TABLE plans (
  tenant_id text PRIMARY KEY,
  record bytea NOT NULL,  -- switchboard.billing.v1.RatePlan
  update_time timestamptz NOT NULL
);

-- The append-only ledger: one row per rated call, purchase, adjustment or reversal. Rows are
-- never updated or deleted.
CREATE TABLE entries (
  tenant_id text NOT NULL,
  entry_id text NOT NULL,  -- time-ordered (UUIDv7)
  kind smallint NOT NULL,  -- UsageEntryKind
  month text NOT NULL,     -- "YYYY-MM" in the plan's zone
  call_id text NOT NULL DEFAULT '',
  minutes bigint NOT NULL,
  amount_micros bigint NOT NULL,
  currency text NOT NULL,
  record bytea NOT NULL,   -- switchboard.billing.v1.UsageEntry
  create_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, entry_id)
);
CREATE INDEX entries_month_idx ON entries (tenant_id, month, entry_id);
CREATE INDEX entries_call_idx ON entries (tenant_id, call_id) WHERE call_id <> '';

-- One row per call ever rated: the unique key that makes rating exactly once. Inserted in the
-- transaction of the call's first entry; `entry_id` follows corrections and refunds.
CREATE TABLE rated_calls (
  tenant_id text NOT NULL,
  call_id text NOT NULL,
  duration_us bigint NOT NULL,          -- the talk time first rated
  current_duration_us bigint NOT NULL,  -- the talk time its current entry rates
  entry_id text NOT NULL,       -- the call's current CALL entry
  refunded boolean NOT NULL DEFAULT false,
  rate_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, call_id)
);

-- A call that came again with another duration: kept aside for an operator, never rated again.
CREATE TABLE quarantine (
  tenant_id text NOT NULL,
  call_id text NOT NULL,
  duration_us bigint NOT NULL,        -- what came
  rated_duration_us bigint NOT NULL,  -- what the ledger has
  event_id text NOT NULL,             -- the first event that brought it
  occurrences bigint NOT NULL DEFAULT 1,
  settled boolean NOT NULL DEFAULT false,
  receive_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, call_id, duration_us)
);

-- Each tenant's months: the sums of the ledger for the month, and which alerts fired. Locked
-- by every change of the month, so thresholds crossed by concurrent calls alert once.
CREATE TABLE months (
  tenant_id text NOT NULL,
  month text NOT NULL,
  minutes_used bigint NOT NULL DEFAULT 0,
  purchased_minutes bigint NOT NULL DEFAULT 0,
  rated_calls bigint NOT NULL DEFAULT 0,
  call_cost_micros bigint NOT NULL DEFAULT 0,
  alerted smallint NOT NULL DEFAULT 1,    -- UsageLevel
  announced smallint NOT NULL DEFAULT 1,  -- UsageLevel
  update_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, month)
);

-- The sequence of each tenant's billing events (EventHeader.sequence).
CREATE TABLE tenants (
  tenant_id text PRIMARY KEY,
  sequence bigint NOT NULL DEFAULT 0
);

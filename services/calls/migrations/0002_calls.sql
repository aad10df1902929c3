-- Call records: the v1.Call snapshot (record) plus the columns the Calls page filters and
-- sorts on. One row per call; the state machine (lifecycle.h) decides every change.
CREATE TABLE calls (
  tenant_id                text NOT NULL,
  call_id                  text NOT NULL,
  meta_call_id             text,
  direction                smallint NOT NULL,
  state                    smallint NOT NULL,
  business_phone_number_id text NOT NULL,
  contact_key              text NOT NULL,
  offered_time             timestamptz,
  ended_time               timestamptz,
  sequence                 bigint NOT NULL DEFAULT 0,
  record                   bytea NOT NULL,
  create_time              timestamptz NOT NULL,
  update_time              timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, call_id)
);

-- Meta's call id finds the call for every webhook after the first.
CREATE UNIQUE INDEX calls_meta_call_idx ON calls (tenant_id, meta_call_id)
  WHERE meta_call_id IS NOT NULL;

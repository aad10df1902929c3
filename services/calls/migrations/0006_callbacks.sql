-- Scheduled callbacks (v1.Callback in record). state: 1 PENDING, 2 DUE, 3 COMPLETED,
-- 4 CANCELED (v1.CallbackState). A loop turns due PENDING rows into DUE and publishes
-- CallbackDue through the outbox in the same transaction.
CREATE TABLE callbacks (
  tenant_id         text NOT NULL,
  callback_id       text NOT NULL,
  state             smallint NOT NULL,
  assigned_agent_id text NOT NULL DEFAULT '',
  contact_key       text NOT NULL,
  due_time          timestamptz NOT NULL,
  sequence          bigint NOT NULL DEFAULT 0,
  record            bytea NOT NULL,
  create_time       timestamptz NOT NULL,
  update_time       timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, callback_id)
);

CREATE INDEX callbacks_list_idx ON callbacks (tenant_id, due_time, callback_id);
CREATE INDEX callbacks_pending_idx ON callbacks (due_time) WHERE state = 1;

-- Durable timers of live calls, written in the transaction that saves the call, so a restart
-- still fires them on time. At most one per call: kind 1 = ring timeout (inbound, OFFERED or
-- RINGING), 2 = unconfirmed outbound call (no answer nor terminate from Meta), 3 = hang-up
-- grace (EndCall sent, Meta's terminate awaited). Removed when the call leaves that state.
CREATE TABLE call_timers (
  tenant_id text NOT NULL,
  call_id   text NOT NULL,
  kind      smallint NOT NULL,
  due_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, call_id)
);

CREATE INDEX call_timers_due_idx ON call_timers (due_time);

-- Ring timeouts of inbound calls, written in the transaction that offers the call: a restart
-- while the call rings still ends it on time. Removed when the call stops ringing.
CREATE TABLE ring_timers (
  tenant_id text NOT NULL,
  call_id   text NOT NULL,
  due_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, call_id)
);

CREATE INDEX ring_timers_due_idx ON ring_timers (due_time);

-- Meta's webhooks for an outbound call that arrive before StartCall stored Meta's call id (the
-- connect carrying the user's SDP answer does not echo our call id). Applied, in order of
-- arrival, by the transaction that stores the id; rows nobody claims expire after a day.
CREATE TABLE parked_events (
  tenant_id    text NOT NULL,
  meta_call_id text NOT NULL,
  event_id     text NOT NULL,
  payload      bytea NOT NULL,
  event_time   timestamptz NOT NULL,
  park_time    timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, meta_call_id, event_id)
);

CREATE INDEX parked_events_time_idx ON parked_events (park_time);

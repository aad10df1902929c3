-- Internal notes on calls (v1.CallNote in record), listed per call and per contact.
CREATE TABLE notes (
  tenant_id   text NOT NULL,
  note_id     text NOT NULL,
  call_id     text NOT NULL,
  contact_key text NOT NULL,
  author      text NOT NULL,
  record      bytea NOT NULL,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, note_id)
);

CREATE INDEX notes_call_idx ON notes (tenant_id, call_id, create_time DESC, note_id DESC);
CREATE INDEX notes_contact_idx ON notes (tenant_id, contact_key, create_time DESC, note_id DESC);

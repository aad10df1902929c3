-- What cost analytics groups calls' entries by: the call's end, its direction and the contact's
-- region (copied from the record, which stays the source of truth).
ALTER TABLE entries ADD COLUMN ended_time timestamptz;
ALTER TABLE entries ADD COLUMN direction smallint NOT NULL DEFAULT 0;
ALTER TABLE entries ADD COLUMN region text NOT NULL DEFAULT '';
CREATE INDEX entries_ended_idx ON entries (tenant_id, ended_time) WHERE ended_time IS NOT NULL;

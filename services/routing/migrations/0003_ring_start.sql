-- When a call first rang (its first offer), for the wallboard's waits and time to answer.
ALTER TABLE rings ADD COLUMN start_time timestamptz;
CREATE INDEX rings_team_idx ON rings (tenant_id, team_id, update_time);

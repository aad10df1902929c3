-- When each month closes in its tenant's zone: the invoice sweep takes the rows whose time has
-- come, instead of looking at every open month (a plan's zone change moves it).
ALTER TABLE months ADD COLUMN close_time timestamptz;
UPDATE months SET close_time = (to_date(month, 'YYYY-MM') + interval '1 month')::timestamp
  AT TIME ZONE 'UTC';
ALTER TABLE months ALTER COLUMN close_time SET NOT NULL;
DROP INDEX months_open_idx;
CREATE INDEX months_close_idx ON months (close_time) WHERE NOT invoiced;

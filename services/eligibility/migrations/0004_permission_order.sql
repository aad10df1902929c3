-- Meta's call-permission facts (grant, automatic revoke, decline) arrive out of order: each is
-- applied only when it is newer than the last one applied, which this records.
ALTER TABLE contacts ADD COLUMN permission_changed_at timestamptz;

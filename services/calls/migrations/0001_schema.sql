-- The calls service's schema. Only the calls service reads or writes it (DESIGN §3).
COMMENT ON SCHEMA calls IS 'Owned by the calls service: call records, notes, transitions, scheduled callbacks.';

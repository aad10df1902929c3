-- The notifications service's schema. Only the notifications service reads or writes it (DESIGN §3).
COMMENT ON SCHEMA notifications IS 'Owned by the notifications service: the outbound message queue, subscriber streams.';

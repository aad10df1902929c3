-- The routing service's schema. Only the routing service reads or writes it (DESIGN §3).
COMMENT ON SCHEMA routing IS 'Owned by the routing service: agent call availability, team routing configuration, claims.';

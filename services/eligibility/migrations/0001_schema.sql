-- The eligibility service's schema. Only the eligibility service reads or writes it (DESIGN §3).
COMMENT ON SCHEMA eligibility IS 'Owned by the eligibility service: contact call-consent state, service windows, rate-limit counters, suspension state and quality rating per number.';

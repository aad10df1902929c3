-- The billing service's schema. Only the billing service reads or writes it (DESIGN §3).
COMMENT ON SCHEMA billing IS 'Owned by the billing service: rate plans, the usage ledger, monthly usage, top-ups, invoices.';

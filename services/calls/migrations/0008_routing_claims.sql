-- Who answers an inbound call is routing's claim now (ClaimCall, ADR 0015); the calls row's
-- own stand-in claim goes.
ALTER TABLE calls DROP COLUMN answer_claim_agent, DROP COLUMN answer_claim_time;

-- Call records: the v1.Call snapshot (record) plus the columns the Calls page filters, sorts,
-- searches and sums on, all derived from the record when it is saved. One row per call; the
-- state machine (lifecycle.h) decides every change.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE calls (
  tenant_id                text NOT NULL,
  call_id                  text NOT NULL,
  meta_call_id             text,
  -- StartCall's idempotency key (outbound calls only).
  request_id               text,
  direction                smallint NOT NULL,
  state                    smallint NOT NULL,
  business_phone_number_id text NOT NULL,
  contact_key              text NOT NULL,
  contact_name             text NOT NULL DEFAULT '',
  agent_id                 text NOT NULL DEFAULT '',
  -- query::SearchKey: folded name and the number's digits, for the contact search.
  search_text              text NOT NULL DEFAULT '',
  -- The history's sort key: Meta's offer time, else when the call was first seen.
  offered_time             timestamptz NOT NULL,
  answered_time            timestamptz,
  ended_time               timestamptz,
  duration_seconds         bigint NOT NULL DEFAULT 0,
  -- From billing's CallRated; NULL until rated.
  cost_micros              bigint,
  cost_currency            text,
  billed_minutes           bigint,
  sequence                 bigint NOT NULL DEFAULT 0,
  record                   bytea NOT NULL,
  -- AnswerCall's claim while Graph pre_accept/accept run: first answer wins.
  answer_claim_agent       text,
  answer_claim_time        timestamptz,
  -- RejectCall's free-text reason, kept for audit.
  reject_reason            text,
  create_time              timestamptz NOT NULL,
  update_time              timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, call_id)
);

-- Meta's call id finds the call for every webhook after the first.
CREATE UNIQUE INDEX calls_meta_call_idx ON calls (tenant_id, meta_call_id)
  WHERE meta_call_id IS NOT NULL;
-- A retried StartCall finds the call it placed.
CREATE UNIQUE INDEX calls_request_idx ON calls (tenant_id, request_id)
  WHERE request_id IS NOT NULL;
-- History, newest first, and its keyset pages; with a contact or an agent.
CREATE INDEX calls_history_idx ON calls (tenant_id, offered_time DESC, call_id DESC);
CREATE INDEX calls_contact_idx ON calls (tenant_id, contact_key, offered_time DESC, call_id DESC);
CREATE INDEX calls_agent_idx ON calls (tenant_id, agent_id, offered_time DESC, call_id DESC)
  WHERE agent_id <> '';
-- Substring search over names and numbers.
CREATE INDEX calls_search_idx ON calls USING gin (search_text gin_trgm_ops);

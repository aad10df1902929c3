-- Agents as routing sees them: the status each chose, apart from what the system does with them
-- (rules/availability.h decides; these columns only keep it). One row per agent ever seen.
CREATE TABLE agents (
  tenant_id           text NOT NULL,
  agent_id            text NOT NULL,
  -- routing.v1.Availability the agent chose: AVAILABLE, DND or OFFLINE.
  chosen              smallint NOT NULL,
  -- Empty when the agent chose; MAX_NO_ANSWER when routing moved the agent to DND.
  chosen_reason       text NOT NULL DEFAULT '',
  busy_call_id        text NOT NULL DEFAULT '',
  cooldown_end_time   timestamptz,
  last_call_end_time  timestamptz,
  last_seen_time      timestamptz,
  offered_call_id     text NOT NULL DEFAULT '',
  unanswered_offers   integer NOT NULL DEFAULT 0,
  -- What was last announced on routing.availability.v1, and its sequence.
  published           smallint NOT NULL,
  published_reason    text NOT NULL DEFAULT '',
  published_time      timestamptz,
  sequence            bigint NOT NULL DEFAULT 0,
  -- When the availability may change by itself (a cooldown ending, presence lapsing).
  due_time            timestamptz,
  PRIMARY KEY (tenant_id, agent_id)
);
CREATE INDEX agents_due_idx ON agents (due_time) WHERE due_time IS NOT NULL;

-- Teams: the whole routing.v1.Team as sent (team), and what lookups need as rows.
CREATE TABLE teams (
  tenant_id    text NOT NULL,
  team_id      text NOT NULL,
  team         bytea NOT NULL,
  update_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, team_id)
);
-- A business number belongs to at most one team.
CREATE TABLE team_numbers (
  tenant_id                text NOT NULL,
  business_phone_number_id text NOT NULL,
  team_id                  text NOT NULL,
  PRIMARY KEY (tenant_id, business_phone_number_id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams ON DELETE CASCADE
);
CREATE TABLE team_members (
  tenant_id  text NOT NULL,
  team_id    text NOT NULL,
  agent_id   text NOT NULL,
  PRIMARY KEY (tenant_id, team_id, agent_id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams ON DELETE CASCADE
);
CREATE INDEX team_members_agent_idx ON team_members (tenant_id, agent_id);

-- The agent each contact is assigned to in the inbox (sticky routing).
CREATE TABLE assignments (
  tenant_id    text NOT NULL,
  wa_id        text NOT NULL,
  agent_id     text NOT NULL,
  update_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, wa_id)
);

-- One row per inbound call routing has seen: who rings now, until when, and how it ended. The
-- ring deadline is durable: a restart after it passed still runs the step or fallback once.
CREATE TABLE rings (
  tenant_id                text NOT NULL,
  call_id                  text NOT NULL,
  -- 1 ringing, 2 claimed (an agent won), 3 finished (no winner, or the call ended).
  state                    smallint NOT NULL,
  round                    integer NOT NULL DEFAULT 0,
  team_id                  text NOT NULL DEFAULT '',
  routing_mode             smallint NOT NULL DEFAULT 0,
  -- Comma-separated agent ids (api::IsId: no commas): ringing now, and rung earlier this round.
  ringing                  text NOT NULL DEFAULT '',
  tried                    text NOT NULL DEFAULT '',
  -- The round's agents when an escalation names agents rather than a team; empty otherwise.
  named                    text NOT NULL DEFAULT '',
  round_start_time         timestamptz,
  round_deadline_time      timestamptz,
  -- The current step's deadline while ringing; NULL otherwise.
  due_time                 timestamptz,
  winner_agent_id          text NOT NULL DEFAULT '',
  fallback_action          smallint NOT NULL DEFAULT 0,
  -- For the alerts: events.v1.ContactRef, the number and how it displays.
  contact                  bytea NOT NULL,
  business_phone_number_id text NOT NULL,
  business_display_number  text NOT NULL DEFAULT '',
  -- CallOffer events published for the call (header.sequence).
  sequence                 bigint NOT NULL DEFAULT 0,
  update_time              timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, call_id)
);
CREATE INDEX rings_due_idx ON rings (due_time) WHERE state = 1;

-- The calls routing has applied an event of (calls.state.v1): events arrive at least once and
-- out of order, so one older than the last applied, or any after the call ended, changes nothing
-- (a terminate seen before the connect rings nobody; an agent is never Busy again for a call
-- that ended).
CREATE TABLE calls_seen (
  tenant_id    text NOT NULL,
  call_id      text NOT NULL,
  -- calls.v1.Call.sequence of the last event applied.
  sequence     bigint NOT NULL,
  ended        boolean NOT NULL,
  update_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, call_id)
);
CREATE INDEX calls_seen_ended_idx ON calls_seen (update_time) WHERE ended;

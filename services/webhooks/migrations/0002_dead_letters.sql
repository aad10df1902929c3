-- Webhook items the edge acknowledged but can never publish (an item larger than a Kafka
-- record may be): kept here for an operator instead of being refused to Meta for 7 days.
CREATE TABLE dead_letters (
  event_id     text PRIMARY KEY,  -- the item's de-dup id: one row however often Meta resends it
  tenant_id    text NOT NULL,
  kind         text NOT NULL,
  reason       text NOT NULL,
  bytes        integer NOT NULL,
  payload      bytea NOT NULL,    -- the serialized WhatsAppEvent
  receive_time timestamptz NOT NULL
);
CREATE INDEX dead_letters_by_tenant ON dead_letters (tenant_id, receive_time);

-- Each contact's 24 h customer-service window, by the last thing the contact did that opens it
-- (a message, a call to the business, an accepted business call): free text may be sent until
-- last_time + 24 h, a template after.
CREATE TABLE service_windows (
  tenant_id                text NOT NULL,
  business_phone_number_id text NOT NULL,
  contact_key              text NOT NULL,
  last_time                timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, business_phone_number_id, contact_key)
);

-- Every OutboundMessageRequested the sender took (whatsapp.outbound.v1), by its event id, so a
-- redelivered request is never sent twice. state: 1 sending (claimed, Graph asked or about to
-- be), 2 sent, 3 skipped (nothing to send: outside the window without a template), 4 unknown
-- (the Graph request's outcome was lost: never sent again, counted for an operator).
CREATE TABLE outbound_messages (
  tenant_id    text NOT NULL,
  event_id     text NOT NULL,
  call_id      text NOT NULL DEFAULT '',
  contact_key  text NOT NULL,
  state        smallint NOT NULL,
  channel      text NOT NULL DEFAULT '',
  meta_message_id text NOT NULL DEFAULT '',
  reason       text NOT NULL DEFAULT '',
  create_time  timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, event_id)
);

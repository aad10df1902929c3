-- Each tenant's WhatsApp notices to its admins (NoticeSettings): from which number, to whom,
-- for which alerts, and the template to use outside a recipient's service window. No row: no
-- notices.
CREATE TABLE notice_settings (
  tenant_id                text PRIMARY KEY,
  business_phone_number_id text NOT NULL,
  recipient_wa_ids         text[] NOT NULL,
  usage_alerts             boolean NOT NULL,
  suspension_alerts        boolean NOT NULL,
  template_name            text NOT NULL,
  template_language_code   text NOT NULL,
  update_time              timestamptz NOT NULL,
  updated_by               text NOT NULL
);

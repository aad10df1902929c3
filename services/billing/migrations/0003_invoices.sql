-- Invoices and credit notes: each an immutable snapshot (the Invoice message as issued), from
-- which the PDF, CSV and JSON are rendered.
CREATE TABLE invoices (
  tenant_id text NOT NULL,
  invoice_id text NOT NULL,  -- time-ordered (UUIDv7)
  kind smallint NOT NULL,    -- InvoiceKind
  number text NOT NULL,      -- gap-free per tenant and kind
  month text NOT NULL,
  record bytea NOT NULL,     -- switchboard.billing.v1.Invoice
  issue_time timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, invoice_id),
  UNIQUE (tenant_id, number)
);
-- One invoice per tenant and month.
CREATE UNIQUE INDEX invoices_month_idx ON invoices (tenant_id, month) WHERE kind = 1;

-- Which document billed each ledger entry: an entry is billed once, ever (the key).
CREATE TABLE invoice_items (
  tenant_id text NOT NULL,
  entry_id text NOT NULL,
  invoice_id text NOT NULL,
  PRIMARY KEY (tenant_id, entry_id)
);

ALTER TABLE months ADD COLUMN invoiced boolean NOT NULL DEFAULT false;
ALTER TABLE tenants ADD COLUMN invoices bigint NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN credit_notes bigint NOT NULL DEFAULT 0;
CREATE INDEX months_open_idx ON months (month) WHERE NOT invoiced;

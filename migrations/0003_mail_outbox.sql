-- Outgoing mail. Every message is written here first (inside the caller's transaction, so a
-- rolled-back action sends nothing), then a loop delivers it over SMTP with retries.
-- Bodies hold links and names: they live only in this encrypted database, never in logs.
-- status: queued (waiting or backing off) → sending (claimed; next_attempt_at is the lease end)
--         → sent | failed; dev = no SMTP configured, kept for the instance owner to read.
CREATE TABLE mail_outbox (
  id TEXT PRIMARY KEY,
  org_id TEXT,
  template TEXT NOT NULL,
  to_address TEXT NOT NULL,
  subject TEXT NOT NULL,
  text_body TEXT NOT NULL,
  html_body TEXT,
  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'dev')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at TEXT NOT NULL,
  -- SMTP error code, reply code and command only: never the server's free text, which can
  -- quote the recipient address.
  last_error TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT
) STRICT;
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);

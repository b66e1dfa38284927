-- Messages made from a template keep the template's parameters and are rendered when they are
-- sent (or shown in the dev outbox). A ticket mail stored rendered was about 2.3 KB of text,
-- HTML and calendar: one 4 KiB database page per registration, three quarters of the database
-- and of every WAL commit, kept for as long as outbox retention keeps the row.
-- A row holds either the rendered message (subject and text_body) or params, never both.
CREATE TABLE mail_outbox_new (
  id TEXT PRIMARY KEY,
  org_id TEXT,
  template TEXT NOT NULL,
  to_address TEXT NOT NULL,
  subject TEXT,
  text_body TEXT,
  html_body TEXT,
  params TEXT,
  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'dev')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at TEXT NOT NULL,
  -- SMTP error code, reply code and command only: never the server's free text, which can
  -- quote the recipient address.
  last_error TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT,
  attachments TEXT NOT NULL DEFAULT '[]',
  CHECK ((params IS NULL) = (subject IS NOT NULL AND text_body IS NOT NULL))
) STRICT;
INSERT INTO mail_outbox_new (id, org_id, template, to_address, subject, text_body, html_body, status, attempts, next_attempt_at, last_error, created_at, sent_at, attachments)
  SELECT id, org_id, template, to_address, subject, text_body, html_body, status, attempts, next_attempt_at, last_error, created_at, sent_at, attachments FROM mail_outbox;
DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_new RENAME TO mail_outbox;
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);

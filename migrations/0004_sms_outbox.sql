-- SMS as a second factor (TOTP stays the recommended one): phone numbers, one-time codes and the
-- outgoing SMS queue. Numbers are E.164 only ('+' then 7 to 15 digits, no leading zero); the
-- CHECKs repeat the application's rule so nothing else can slip in.

-- users.phone is set only once its owner proved they receive SMS on it (phone_verified_at).
ALTER TABLE users ADD COLUMN phone TEXT
  CHECK (phone IS NULL OR (phone GLOB '+[1-9]*' AND phone NOT GLOB '+*[^0-9]*' AND length(phone) BETWEEN 8 AND 16));
ALTER TABLE users ADD COLUMN phone_verified_at TEXT;
-- The number being enrolled, until its owner types the code we sent there.
ALTER TABLE users ADD COLUMN phone_pending TEXT
  CHECK (phone_pending IS NULL OR (phone_pending GLOB '+[1-9]*' AND phone_pending NOT GLOB '+*[^0-9]*' AND length(phone_pending) BETWEEN 8 AND 16));

-- One-time codes sent by SMS. Only SHA-256(user_id:purpose:code) is stored (see src/sms/service.ts
-- for why a fast hash is acceptable here); attempts counts wrong guesses at this code.
CREATE TABLE sms_codes (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose TEXT NOT NULL,
  code_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0)
) STRICT;
CREATE INDEX sms_codes_user ON sms_codes (user_id, purpose);

-- Outgoing SMS, written inside the caller's transaction and delivered by a loop with retries,
-- like mail_outbox. status: queued (waiting or backing off) → sending (claimed; next_attempt_at
-- is the lease end) → sent | failed; dev = no SMS provider configured, kept for the owner to read.
-- A row holds a phone number and a live code, so deleting the person deletes their messages.
CREATE TABLE sms_outbox (
  id TEXT PRIMARY KEY,
  user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
  purpose TEXT NOT NULL,
  to_number TEXT NOT NULL
    CHECK (to_number GLOB '+[1-9]*' AND to_number NOT GLOB '+*[^0-9]*' AND length(to_number) BETWEEN 8 AND 16),
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'dev')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at TEXT NOT NULL,
  -- HTTP status and the provider's numeric error code only: never the provider's text, which
  -- can quote the number or the message.
  last_error TEXT,
  -- The provider's message id (Twilio: SM…), to trace a delivery with the provider.
  provider_id TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT
) STRICT;
CREATE INDEX sms_outbox_due ON sms_outbox (status, next_attempt_at);
CREATE INDEX sms_outbox_user ON sms_outbox (user_id);

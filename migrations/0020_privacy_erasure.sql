-- Erasure of attendees' personal data (retention and data-subject requests).
-- An erased registration keeps only non-personal facts (status, checked in or not, timestamps
-- rounded to the day) so counts and statistics survive; erased_at says it was erased.
ALTER TABLE registrations ADD COLUMN erased_at TEXT;
-- The retention job looks only at registrations still holding personal data.
CREATE INDEX registrations_unerased ON registrations (org_id, event_id) WHERE erased_at IS NULL;
-- Erasure deletes the messages to the person: found by address, not by scanning the outboxes.
CREATE INDEX mail_outbox_to ON mail_outbox (org_id, to_address COLLATE NOCASE);
CREATE INDEX sms_outbox_to ON sms_outbox (to_number);

-- The erasure ledger: what was erased, when and why, with no personal data (the subject is an
-- HMAC pseudonym). This table is a copy for pages and audits; the copy a restore cannot roll
-- back is the encrypted file beside the keyring and the objects on every backup target
-- (src/privacy/ledger.ts). After a restore every entry is applied again.
-- fields: JSON array of field keys, or ["*"] for all personal data of the registrations.
CREATE TABLE erasure_ledger (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  event_id TEXT,
  at TEXT NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('retention', 'attendee-request', 'organizer-request')),
  -- JSON array of HMAC pseudonyms (one per registration, same order as registration_ids)
  subjects TEXT NOT NULL,
  key_id TEXT NOT NULL,
  registration_ids TEXT NOT NULL,
  fields TEXT NOT NULL,
  request_id TEXT
) STRICT;
CREATE INDEX erasure_ledger_org_at ON erasure_ledger (org_id, at);

-- Legal hold / legitimate interest: retention and person erasure skip a registration while a
-- hold is active (not released and its end date not reached).
CREATE TABLE registration_holds (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  registration_id TEXT NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
  reason TEXT NOT NULL,
  until TEXT NOT NULL,
  created_by TEXT,
  created_at TEXT NOT NULL,
  released_at TEXT,
  released_by TEXT
) STRICT;
CREATE INDEX registration_holds_reg ON registration_holds (org_id, registration_id);
CREATE INDEX registration_holds_active ON registration_holds (until) WHERE released_at IS NULL;

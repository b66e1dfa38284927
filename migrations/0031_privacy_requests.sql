-- Attendee self-service: single-use emailed links (only hashes stored) and the short session a
-- used link opens, scoped to one person (email) in one organization, or to one registration when
-- opened from that registration's manage link.
CREATE TABLE privacy_links (
  token_hash BLOB PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  email TEXT NOT NULL COLLATE NOCASE,
  registration_id TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('link', 'session')),
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX privacy_links_expiry ON privacy_links (expires_at);

-- Data-subject requests (GDPR Art. 15-17, 20): what was asked, when, by when, and when done.
-- The email is what the organizer needs to act; it is cleared once an erasure completes, and the
-- record keeps only the dates and the receipt (counts and kinds of data, no personal data).
CREATE TABLE privacy_requests (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('access', 'erasure', 'correction')),
  status TEXT NOT NULL CHECK (status IN ('open', 'completed')),
  channel TEXT NOT NULL CHECK (channel IN ('self-service', 'organizer')),
  email TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
  message TEXT NOT NULL DEFAULT '',
  received_at TEXT NOT NULL,
  deadline_at TEXT NOT NULL,
  completed_at TEXT,
  completed_by TEXT,
  outcome TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX privacy_requests_org ON privacy_requests (org_id, received_at);

-- Whether "who has seen my data" names staff members, or only their role.
ALTER TABLE organizations ADD COLUMN privacy_show_staff_names INTEGER NOT NULL DEFAULT 0;

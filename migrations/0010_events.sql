-- Events, their registration forms, access links and registrations (attendees).
CREATE TABLE events (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  slug TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  description_md TEXT NOT NULL DEFAULT '',
  starts_at TEXT NOT NULL,
  ends_at TEXT NOT NULL,
  timezone TEXT NOT NULL,
  venue TEXT NOT NULL DEFAULT '',
  online_url TEXT NOT NULL DEFAULT '',
  capacity INTEGER CHECK (capacity IS NULL OR capacity >= 0),
  registration_opens_at TEXT,
  registration_closes_at TEXT,
  waitlist_enabled INTEGER NOT NULL DEFAULT 0,
  duplicate_policy TEXT NOT NULL DEFAULT 'reject' CHECK (duplicate_policy IN ('allow', 'reject')),
  double_opt_in INTEGER NOT NULL DEFAULT 0,
  organizer_contact TEXT NOT NULL DEFAULT '',
  privacy_notice TEXT NOT NULL DEFAULT '',
  controller_contact TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'closed', 'archived')),
  access_mode TEXT NOT NULL DEFAULT 'public' CHECK (access_mode IN ('public', 'unlisted', 'passcode')),
  passcode_hash TEXT,
  passcode_expires_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX events_org ON events (org_id, starts_at);

-- Password-protected share links: several per event, each with its own password and expiry.
CREATE TABLE event_share_links (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  label TEXT NOT NULL,
  token_hash BLOB NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  uses INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX event_share_links_event ON event_share_links (org_id, event_id);

-- The registration form. 'email' is always present; 'name' is a default field that can be removed.
CREATE TABLE form_fields (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('short_text', 'long_text', 'email', 'phone', 'number', 'date', 'single_select', 'multi_select', 'checkbox', 'consent')),
  label TEXT NOT NULL,
  help TEXT NOT NULL DEFAULT '',
  required INTEGER NOT NULL DEFAULT 0,
  position INTEGER NOT NULL,
  options TEXT NOT NULL DEFAULT '[]',
  personal INTEGER NOT NULL DEFAULT 1,
  sensitive INTEGER NOT NULL DEFAULT 0,
  purpose TEXT NOT NULL DEFAULT '',
  consent_text TEXT NOT NULL DEFAULT '',
  builtin TEXT CHECK (builtin IN ('email', 'name')),
  created_at TEXT NOT NULL,
  UNIQUE (event_id, key)
) STRICT;
CREATE INDEX form_fields_event ON form_fields (org_id, event_id, position);

CREATE TABLE registrations (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  email TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL DEFAULT '',
  -- Answers keyed by field key; consent answers keep the consent text as shown.
  answers TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'waitlisted', 'cancelled')),
  attendee_code TEXT NOT NULL,
  -- Bumped to invalidate the ticket and manage links derived from the id (HMAC, token key).
  token_version INTEGER NOT NULL DEFAULT 1,
  checked_in_at TEXT,
  checked_in_by TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  confirmed_at TEXT,
  cancelled_at TEXT,
  UNIQUE (event_id, attendee_code)
) STRICT;
CREATE INDEX registrations_event_status ON registrations (org_id, event_id, status, created_at);
CREATE INDEX registrations_event_email ON registrations (event_id, email);

-- Tickets go out with a QR code and an .ics file.
ALTER TABLE mail_outbox ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';

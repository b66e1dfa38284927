-- Identity and access: users, sessions, second factors, organizations, memberships.
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  instance_role TEXT CHECK (instance_role IN ('owner', 'admin')),
  email_verified_at TEXT,
  totp_secret TEXT,
  totp_pending_secret TEXT,
  totp_enabled_at TEXT,
  totp_last_step INTEGER,
  disabled_at TEXT,
  disabled_by TEXT,
  password_changed_at TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;

-- Lucia-style sessions: the cookie holds `id.secret`; only SHA-256(secret) is stored.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  secret_hash BLOB NOT NULL,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  mfa_pending INTEGER NOT NULL DEFAULT 0,
  csrf_token TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  absolute_expires_at INTEGER NOT NULL,
  reauth_at INTEGER,
  ip TEXT,
  user_agent TEXT
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE recovery_codes (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash BLOB NOT NULL,
  used_at TEXT,
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Failed-attempt counters for passwords and second factors, per account and per IP.
CREATE TABLE auth_throttle (
  key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  last_failure_at INTEGER NOT NULL,
  next_allowed_at INTEGER NOT NULL,
  locked_until INTEGER
) STRICT;

-- Single-use emailed links (verify email, reset password, change email); only hashes stored.
CREATE TABLE email_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset', 'email_change')),
  token_hash BLOB NOT NULL UNIQUE,
  new_email TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
) STRICT;
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);

CREATE TABLE organizations (
  id TEXT PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  require_2fa INTEGER NOT NULL DEFAULT 0,
  ip_allowlist TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE memberships (
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'organizer', 'checkin', 'viewer')),
  -- JSON array of event ids for organizer/checkin limited to chosen events; NULL = all events.
  event_scope TEXT,
  disabled_at TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (org_id, user_id)
) STRICT;
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE invitations (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  email TEXT NOT NULL COLLATE NOCASE,
  role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'organizer', 'checkin', 'viewer')),
  event_scope TEXT,
  token_hash BLOB NOT NULL UNIQUE,
  invited_by TEXT NOT NULL REFERENCES users (id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  accepted_at INTEGER,
  revoked_at INTEGER
) STRICT;
CREATE INDEX invitations_org ON invitations (org_id);

CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  secret_hash BLOB NOT NULL,
  permissions TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at INTEGER
) STRICT;
CREATE INDEX api_tokens_org ON api_tokens (org_id);

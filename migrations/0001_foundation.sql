-- Instance-wide settings (key/value, JSON values).
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

-- One-time links printed on the console (first-owner setup). Only a SHA-256 of the token is kept.
CREATE TABLE setup_tokens (
  id TEXT PRIMARY KEY,
  token_hash BLOB NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT
) STRICT;

-- Tamper-evident audit log: every row carries an HMAC over the previous row's MAC and its own
-- content (audit-chain key from the keyring). Rows are never updated or deleted by the app.
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  org_id TEXT,
  actor_type TEXT NOT NULL CHECK (actor_type IN ('user', 'attendee', 'api_token', 'system')),
  actor_id TEXT,
  action TEXT NOT NULL,
  target_type TEXT,
  target_id TEXT,
  result TEXT NOT NULL CHECK (result IN ('success', 'failure', 'denied')),
  ip TEXT,
  user_agent TEXT,
  request_id TEXT,
  details TEXT NOT NULL DEFAULT '{}',
  key_id TEXT NOT NULL,
  prev_mac BLOB NOT NULL,
  mac BLOB NOT NULL
) STRICT;
CREATE INDEX audit_log_org_at ON audit_log (org_id, at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_actor ON audit_log (actor_type, actor_id, at);

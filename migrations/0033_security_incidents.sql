-- Personal-data breaches (GDPR Art. 33): what happened, what and whom it touched, and the
-- 72 hours from awareness within which the supervisory authority must be told.
CREATE TABLE security_incidents (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  title TEXT NOT NULL,
  what_happened TEXT NOT NULL DEFAULT '',
  affected_data TEXT NOT NULL DEFAULT '',
  affected_people INTEGER,
  computed_people INTEGER,
  alert_id INTEGER,
  aware_at INTEGER NOT NULL,
  declared_by TEXT,
  notified_at INTEGER,
  authority_notified_at INTEGER,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX security_incidents_org ON security_incidents (org_id, created_at);

-- Security alerts as records: shown on the organization's Security page (org_id NULL: instance
-- alerts for the instance owners). `mailed` is 0 for alerts folded into the next grouped mail.
CREATE TABLE security_alerts (
  id INTEGER PRIMARY KEY,
  org_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
  rule TEXT NOT NULL,
  key TEXT NOT NULL,
  title TEXT NOT NULL,
  lines TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL,
  mailed INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX security_alerts_org_rule ON security_alerts (org_id, rule, created_at);

-- Networks an administrator has signed in from, to notice a new one.
CREATE TABLE user_networks (
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  network TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  PRIMARY KEY (user_id, network)
) STRICT;

-- Per-organization alert thresholds (JSON; empty: the defaults).
ALTER TABLE organizations ADD COLUMN alert_thresholds TEXT NOT NULL DEFAULT '{}';

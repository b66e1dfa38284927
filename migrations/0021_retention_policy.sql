-- Retention policy chain, in days after the event ends: instance default (settings table,
-- key 'retention') → organization → event → field. NULL = inherit. The instance's allowed
-- minimum and maximum clamp every level when the policy is applied.
ALTER TABLE organizations ADD COLUMN retention_days INTEGER CHECK (retention_days IS NULL OR retention_days BETWEEN 0 AND 36500);
ALTER TABLE events ADD COLUMN retention_days INTEGER CHECK (retention_days IS NULL OR retention_days BETWEEN 0 AND 36500);
ALTER TABLE form_fields ADD COLUMN retention_days INTEGER CHECK (retention_days IS NULL OR retention_days BETWEEN 0 AND 36500);

-- Owners and admins are warned once per event before its data is erased.
CREATE TABLE retention_warnings (
  event_id TEXT PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  due_at TEXT NOT NULL,
  sent_at TEXT NOT NULL
) STRICT;

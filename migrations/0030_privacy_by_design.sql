-- Registration answers the same whether or not an address is already registered, unless the
-- organizer chooses to show the ticket on the confirmation page (which reveals it).
ALTER TABLE events ADD COLUMN show_ticket INTEGER NOT NULL DEFAULT 0;

-- The privacy notice as generated from the form (plus the organizer's text) when someone
-- registered. Many registrations share one version, so a version is stored once, keyed by the
-- hash of its content, and each registration points at the one it was shown.
CREATE TABLE privacy_notices (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX privacy_notices_event ON privacy_notices (org_id, event_id);
ALTER TABLE registrations ADD COLUMN notice_id TEXT REFERENCES privacy_notices (id);

-- Session lengths for members whose role reads attendee data (attendees.read), per organization.
-- The defaults are NIST SP 800-63B AAL2: 30 minutes idle, 12 hours in total. Everyone else keeps
-- the instance values; a person in several organizations gets the strictest (see src/orgs/session-policy.ts).
ALTER TABLE organizations ADD COLUMN session_idle_minutes INTEGER NOT NULL DEFAULT 30 CHECK (session_idle_minutes BETWEEN 5 AND 720);
ALTER TABLE organizations ADD COLUMN session_absolute_hours INTEGER NOT NULL DEFAULT 12 CHECK (session_absolute_hours BETWEEN 1 AND 168);

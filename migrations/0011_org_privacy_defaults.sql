-- What a new event's contact and privacy fields start with. Events copy these when they are
-- created and keep their own values afterwards, so changing a default never rewrites an event
-- whose attendees already registered under its notice.
ALTER TABLE organizations ADD COLUMN privacy_notice TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN controller_contact TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN organizer_contact TEXT NOT NULL DEFAULT '';

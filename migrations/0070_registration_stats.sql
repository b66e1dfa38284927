-- The organization dashboard lists the newest registrations across its events: without this index
-- that read sorts every registration the organization ever had. (Registrations per day use the
-- existing (org_id, event_id, status, created_at) index, one range per status.)
CREATE INDEX registrations_org_created ON registrations (org_id, created_at);
-- Check-in counts per event without reading every registration row: only checked-in rows are in it.
CREATE INDEX registrations_checked_in ON registrations (org_id, event_id) WHERE checked_in_at IS NOT NULL;

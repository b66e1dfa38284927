-- A person's registrations by address: within an event (the duplicate check of every
-- registration) and across the organization (self-service, erasure). The old (event_id, email)
-- index lost to (org_id, created_at), which the planner chose for "earliest registration of this
-- address" and then scanned every registration of the organization: quadratic in a rush. This one
-- index serves both lookups with equality on every column, so no second index is needed.
DROP INDEX registrations_event_email;
CREATE INDEX registrations_org_email ON registrations (org_id, email, event_id, created_at);

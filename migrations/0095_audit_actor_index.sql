-- Three indexes held the actor of every audit row: (actor_type, actor_id, at), (org_id, actor_id)
-- and (actor_id). An attendee's actor id is their registration's random id, so each one cost a
-- random leaf page per registration: 2.3 of the 7.1 pages a registration wrote. One stays. An
-- actor's rows are few next to an organization's, so "this actor in this organization" walks the
-- actor's rows and checks the organization (the audit search bench keeps p95 in its gate).
DROP INDEX audit_log_actor;
DROP INDEX audit_log_org_actor;

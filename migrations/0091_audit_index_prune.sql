-- audit_log_org (org_id) repeats the first column of audit_log_org_at (org_id, at), which serves
-- every query it could: one index fewer for every audit row (every registration writes one).
DROP INDEX audit_log_org;

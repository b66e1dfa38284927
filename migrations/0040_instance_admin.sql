-- Instance administration: when a person last signed in (shown on /admin/users), and suspended
-- organizations (members can no longer act; public pages say the organization is unavailable).
ALTER TABLE users ADD COLUMN last_sign_in_at TEXT;
ALTER TABLE organizations ADD COLUMN suspended_at TEXT;
ALTER TABLE organizations ADD COLUMN suspended_by TEXT;

-- Audit search (src/audit/search.ts). A person is found by the pseudonym writers put in
-- details.subject: a generated column makes it indexable without storing it twice, and keeps it
-- inside the MAC'd details. Every index ends in the rowid (seq), so a filter plus keyset
-- pagination ("seq < cursor ORDER BY seq DESC") walks one index range with no sort.
ALTER TABLE audit_log ADD COLUMN subject TEXT GENERATED ALWAYS AS (json_extract(details, '$.subject')) VIRTUAL;
CREATE INDEX audit_log_subject ON audit_log (subject) WHERE subject IS NOT NULL;
-- An organization's newest rows, and any seq range of them, with no sort (the unfiltered page).
CREATE INDEX audit_log_org ON audit_log (org_id);
CREATE INDEX audit_log_org_action ON audit_log (org_id, action);
CREATE INDEX audit_log_org_actor ON audit_log (org_id, actor_id);
CREATE INDEX audit_log_target ON audit_log (target_id, target_type) WHERE target_id IS NOT NULL;
CREATE INDEX audit_log_actor_id ON audit_log (actor_id) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_ip ON audit_log (ip) WHERE ip IS NOT NULL;
-- Time ranges become seq ranges through this one (rows are appended in time order).
CREATE INDEX audit_log_at ON audit_log (at);

-- Refusals of people outside an organization (and of non-admins on /admin): one chained audit row
-- per actor, route and hour (the first), and this counter for the rest, so another tenant's admin
-- probing URLs cannot flood an organization's log or the chain.
CREATE TABLE audit_denials (
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL,
  route TEXT NOT NULL,
  hour TEXT NOT NULL,
  target_org_id TEXT,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL,
  first_at TEXT NOT NULL,
  last_at TEXT NOT NULL,
  last_ip TEXT,
  PRIMARY KEY (actor_type, actor_id, route, hour)
) STRICT;
CREATE INDEX audit_denials_last ON audit_denials (last_at);

-- Results of `audit verify`, newest last: the audit page shows the latest, alerts fire on failure.
CREATE TABLE audit_chain_checks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'cli')),
  ok INTEGER NOT NULL,
  exit_code INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  findings TEXT NOT NULL DEFAULT '[]',
  warnings TEXT NOT NULL DEFAULT '[]'
) STRICT;

-- Retention removes the oldest audit rows. The checkpoint is what is left of them: the seq and
-- MAC of the last pruned row, signed with the audit key, so the chain still verifies from the
-- first kept row and nobody who can edit the database can pretend more rows were pruned.
CREATE TABLE audit_checkpoint (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  mac BLOB NOT NULL,
  last_at TEXT NOT NULL,
  pruned_at TEXT NOT NULL,
  pruned_total INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  sig BLOB NOT NULL
) STRICT;

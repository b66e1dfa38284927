import type { DB } from '../db/open.ts';
import { ACTIVE_HOLD, type ErasableRow } from './erasure-repo.ts';

/** An event whose registrations still hold personal data, with its org's retention default. */
export interface RetentionEventRow {
  id: string;
  org_id: string;
  org_slug: string;
  slug: string;
  title: string;
  ends_at: string;
  retention_days: number | null;
  org_retention_days: number | null;
  warned_at: string | null;
}

export interface FieldRetentionRow {
  key: string;
  label: string;
  retention_days: number;
}

const erasable = 'r.id, r.org_id, r.event_id, r.email, r.answers, r.erased_at';

/** SQL of the retention job and the policy chain. Tenant queries take the organization id. */
export function retentionRepo(db: DB) {
  const s = {
    eventsWithData: db.prepare(`SELECT e.id, e.org_id, o.slug AS org_slug, e.slug, e.title, e.ends_at, e.retention_days, o.retention_days AS org_retention_days, w.sent_at AS warned_at
      FROM events e JOIN organizations o ON o.id = e.org_id LEFT JOIN retention_warnings w ON w.event_id = e.id
      WHERE EXISTS (SELECT 1 FROM registrations r WHERE r.org_id = e.org_id AND r.event_id = e.id AND r.erased_at IS NULL)
      ORDER BY e.ends_at, e.id`),
    event: db.prepare(`SELECT e.id, e.org_id, o.slug AS org_slug, e.slug, e.title, e.ends_at, e.retention_days, o.retention_days AS org_retention_days, w.sent_at AS warned_at
      FROM events e JOIN organizations o ON o.id = e.org_id LEFT JOIN retention_warnings w ON w.event_id = e.id WHERE e.org_id = ? AND e.id = ?`),
    fields: db.prepare(`SELECT key, label, retention_days FROM form_fields
      WHERE org_id = ? AND event_id = ? AND retention_days IS NOT NULL AND builtin IS NULL ORDER BY position`),
    // No ORDER BY: any batch will do, and sorting what is left on every batch would make a long
    // purge quadratic. The partial index registrations_unerased hands over the rows still to do.
    dueBatch: db.prepare(`SELECT ${erasable} FROM registrations r WHERE r.org_id = ? AND r.event_id = ? AND r.erased_at IS NULL
      AND NOT EXISTS (${ACTIVE_HOLD}) LIMIT ?`),
    countDue: db.prepare(`SELECT count(*) AS n FROM registrations r WHERE r.org_id = ? AND r.event_id = ? AND r.erased_at IS NULL AND NOT EXISTS (${ACTIVE_HOLD})`),
    countHeld: db.prepare(`SELECT count(*) AS n FROM registrations r WHERE r.org_id = ? AND r.event_id = ? AND r.erased_at IS NULL AND EXISTS (${ACTIVE_HOLD})`),
    // A field purge leaves its rows unerased, so without a cursor each batch would scan (and parse
    // the answers of) every row done before it: quadratic. The rowid cursor walks the partial
    // index once.
    fieldBatch: db.prepare(`SELECT ${erasable}, r.rowid AS rid FROM registrations r WHERE r.org_id = ? AND r.event_id = ? AND r.erased_at IS NULL AND r.rowid > ?
      AND json_type(r.answers, '$."' || ? || '"') IS NOT NULL AND NOT EXISTS (${ACTIVE_HOLD}) ORDER BY r.rowid LIMIT ?`),
    countField: db.prepare(`SELECT count(*) AS n FROM registrations r WHERE r.org_id = ? AND r.event_id = ? AND r.erased_at IS NULL
      AND json_type(r.answers, '$."' || ? || '"') IS NOT NULL AND NOT EXISTS (${ACTIVE_HOLD})`),
    warn: db.prepare('INSERT OR IGNORE INTO retention_warnings (event_id, org_id, due_at, sent_at) VALUES (?, ?, ?, ?)'),
    setOrgDays: db.prepare('UPDATE organizations SET retention_days = ? WHERE id = ?'),
    setEventDays: db.prepare('UPDATE events SET retention_days = ? WHERE org_id = ? AND id = ?'),
    setFieldDays: db.prepare('UPDATE form_fields SET retention_days = ? WHERE org_id = ? AND event_id = ? AND key = ? AND builtin IS NULL'),
    orgDays: db.prepare('SELECT retention_days FROM organizations WHERE id = ?'),
    eventDays: db.prepare('SELECT retention_days FROM events WHERE org_id = ? AND id = ?'),
    allFields: db.prepare('SELECT key, label, retention_days FROM form_fields WHERE org_id = ? AND event_id = ? AND builtin IS NULL ORDER BY position'),
  };
  return {
    eventsWithData: () => s.eventsWithData.all() as RetentionEventRow[],
    event: (orgId: string, eventId: string) => s.event.get(orgId, eventId) as RetentionEventRow | undefined,
    fieldPolicies: (orgId: string, eventId: string) => s.fields.all(orgId, eventId) as FieldRetentionRow[],
    dueBatch: (orgId: string, eventId: string, nowIso: string, limit: number) => s.dueBatch.all(orgId, eventId, nowIso, limit) as ErasableRow[],
    countDue: (orgId: string, eventId: string, nowIso: string) => (s.countDue.get(orgId, eventId, nowIso) as { n: number }).n,
    countHeld: (orgId: string, eventId: string, nowIso: string) => (s.countHeld.get(orgId, eventId, nowIso) as { n: number }).n,
    /** The next batch after `after` (a rowid; 0 to start): pass the last row's `rid` back. */
    fieldBatch: (orgId: string, eventId: string, key: string, nowIso: string, after: number, limit: number) => s.fieldBatch.all(orgId, eventId, after, key, nowIso, limit) as (ErasableRow & { rid: number })[],
    countField: (orgId: string, eventId: string, key: string, nowIso: string) => (s.countField.get(orgId, eventId, key, nowIso) as { n: number }).n,
    /** true when this call recorded the warning (a second run finds it recorded). */
    recordWarning: (eventId: string, orgId: string, dueAt: string, sentAt: string) => s.warn.run(eventId, orgId, dueAt, sentAt).changes === 1,
    setOrgDays: (orgId: string, days: number | null) => s.setOrgDays.run(days, orgId).changes === 1,
    setEventDays: (orgId: string, eventId: string, days: number | null) => s.setEventDays.run(days, orgId, eventId).changes === 1,
    setFieldDays: (orgId: string, eventId: string, key: string, days: number | null) => s.setFieldDays.run(days, orgId, eventId, key).changes === 1,
    eventDays: (orgId: string, eventId: string) => (s.eventDays.get(orgId, eventId) as { retention_days: number | null } | undefined)?.retention_days ?? null,
    /** Every field that can have its own retention (name and email follow the registration). */
    allFields: (orgId: string, eventId: string) => s.allFields.all(orgId, eventId) as { key: string; label: string; retention_days: number | null }[],
    orgDays: (orgId: string) => (s.orgDays.get(orgId) as { retention_days: number | null } | undefined)?.retention_days ?? null,
  };
}
export type RetentionRepo = ReturnType<typeof retentionRepo>;

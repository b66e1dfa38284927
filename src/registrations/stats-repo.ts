import type { DB } from '../db/open.ts';
import type { LocalDay } from '../events/local-days.ts';
import type { RegistrationStatus } from './repo.ts';

/** A registration as the dashboard lists it: ids, state and time only, no personal data. */
export interface RecentRegistration {
  id: string;
  event_id: string;
  status: RegistrationStatus;
  created_at: string;
}

/**
 * Counting queries for dashboards. Tenant data: every statement takes the organization id, and
 * lists of event ids travel as one JSON array (json_each), so a page asks once, not once per event.
 */
export function statsRepo(db: DB) {
  const s = {
    // Both counts come from indexes alone: status from (org_id, event_id, status, …), check-ins from the partial index of checked-in rows.
    counts: db.prepare(`SELECT event_id, status, count(*) AS n FROM registrations
      WHERE org_id = ? AND event_id IN (SELECT value FROM json_each(?)) GROUP BY event_id, status`),
    checkedIn: db.prepare(`SELECT event_id, count(*) AS n FROM registrations
      WHERE org_id = ? AND event_id IN (SELECT value FROM json_each(?)) AND checked_in_at IS NOT NULL GROUP BY event_id`),
    // One index range per status and day on (org_id, event_id, status, created_at): days arrive as a JSON array of bounds.
    perDay: db.prepare(`SELECT d.value ->> 'day' AS day,
        (SELECT count(*) FROM registrations r WHERE r.org_id = ? AND r.event_id = ? AND r.status IN ('pending', 'confirmed', 'waitlisted', 'cancelled')
          AND r.created_at >= d.value ->> 'from' AND r.created_at < d.value ->> 'to') AS n
      FROM json_each(?) d ORDER BY d.key`),
    recent: db.prepare(`SELECT id, event_id, status, created_at FROM registrations
      WHERE org_id = ? AND event_id IN (SELECT value FROM json_each(?)) ORDER BY created_at DESC, id DESC LIMIT ?`),
  };
  return {
    counts: (orgId: string, eventIds: readonly string[]) => s.counts.all(orgId, JSON.stringify(eventIds)) as { event_id: string; status: RegistrationStatus; n: number }[],
    checkedIn: (orgId: string, eventIds: readonly string[]) => s.checkedIn.all(orgId, JSON.stringify(eventIds)) as { event_id: string; n: number }[],
    perDay: (orgId: string, eventId: string, days: readonly LocalDay[]) => s.perDay.all(orgId, eventId, JSON.stringify(days)) as { day: string; n: number }[],
    recent: (orgId: string, eventIds: readonly string[], limit: number) => s.recent.all(orgId, JSON.stringify(eventIds), limit) as RecentRegistration[],
  };
}

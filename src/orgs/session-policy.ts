import type { DB } from '../db/open.ts';
import { type OrgRole, orgRoles, roleHas } from './permissions.ts';

/**
 * How long a session may live, per person. Members whose role reads attendees' personal data
 * (`attendees.read`) get their organization's values, by default NIST SP 800-63B AAL2 (30 min
 * idle, 12 h in total); someone in several such organizations gets the strictest of them; the
 * instance values (--session-idle-minutes, --session-absolute-hours) are the ceiling for all.
 */
export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
}

export const AAL2_DEFAULTS = { idleMinutes: 30, absoluteHours: 12 } as const;
export const SESSION_POLICY_BOUNDS = { idleMinutes: [5, 720], absoluteHours: [1, 168] } as const;

/** The roles the stricter lengths apply to, from the permission table (no role names here). */
const attendeeRoles: OrgRole[] = orgRoles.filter((r) => roleHas(r, 'attendees.read'));

/** Returns the lookup the session service asks on each request: null when no organization tightens it. */
export function orgSessionLimits(db: DB): (userId: string) => SessionLimits | null {
  const stmt = db.prepare(
    `SELECT min(o.session_idle_minutes) AS idle, min(o.session_absolute_hours) AS absolute
       FROM memberships m JOIN organizations o ON o.id = m.org_id
      WHERE m.user_id = ? AND m.disabled_at IS NULL AND m.role IN (${attendeeRoles.map(() => '?').join(', ')})`,
  );
  return (userId) => {
    const row = stmt.get(userId, ...attendeeRoles) as { idle: number | null; absolute: number | null };
    return row.idle === null || row.absolute === null ? null : { idleMs: row.idle * 60_000, absoluteMs: row.absolute * 3_600_000 };
  };
}

import type { DB } from '../db/open.ts';
import { orgsRepo } from './repo.ts';

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

/** Returns the lookup the session service asks on each request: null when no organization tightens it. */
export function orgSessionLimits(db: DB): (userId: string) => SessionLimits | null {
  const repo = orgsRepo(db);
  return (userId) => {
    const row = repo.strictestSessionPolicy(userId);
    return row.idle === null || row.absolute === null ? null : { idleMs: row.idle * 60_000, absoluteMs: row.absolute * 3_600_000 };
  };
}

import type { DB } from '../db/open.ts';
import { localDays } from '../events/local-days.ts';
import type { EventRow } from '../events/repo.ts';
import type { Counts } from './attendees.ts';
import { type RecentRegistration, statsRepo } from './stats-repo.ts';

export type { RecentRegistration };
export type DayCount = { day: string; count: number };

/**
 * Numbers about an organization's registrations for its dashboards: seats, registrations per
 * day, the newest registrations. Plain counting queries today; the per-event seat counts sit
 * behind `counts()` so a maintained counter can replace the query without touching the pages.
 */
export class RegistrationStats {
  private readonly repo;

  constructor(private readonly d: { db: DB; now: () => number }) {
    this.repo = statsRepo(d.db);
  }

  /** Confirmed, waiting, pending, cancelled and checked-in counts of each of these events (zeros for none). */
  counts(orgId: string, eventIds: readonly string[]): Map<string, Counts> {
    const out = new Map<string, Counts>(eventIds.map((id) => [id, { confirmed: 0, waitlisted: 0, pending: 0, cancelled: 0, checkedIn: 0 }]));
    if (eventIds.length === 0) return out;
    for (const r of this.repo.counts(orgId, eventIds)) {
      const c = out.get(r.event_id);
      if (c) c[r.status] = r.n;
    }
    for (const r of this.repo.checkedIn(orgId, eventIds)) {
      const c = out.get(r.event_id);
      if (c) c.checkedIn = r.n;
    }
    return out;
  }

  /** One event's counts (the overview's big figures). */
  countsOf(e: Pick<EventRow, 'org_id' | 'id'>): Counts {
    return this.counts(e.org_id, [e.id]).get(e.id)!;
  }

  /**
   * Registrations received per calendar day in the event's time zone (all of them, including
   * ones cancelled later: a day's number does not change afterwards), for `days` days ending
   * with the day that contains `until` (default now).
   */
  perDay(e: Pick<EventRow, 'org_id' | 'id' | 'timezone'>, days: number, until: number = this.d.now()): DayCount[] {
    const n = Math.max(1, Math.min(366, Math.floor(days)));
    // Start a day early and trim: a 23- or 25-hour day near a DST change must not cost a day.
    const range = localDays(e.timezone, until - (n + 1) * 86_400_000, until).slice(-n);
    return this.repo.perDay(e.org_id, e.id, range).map((r) => ({ day: r.day, count: r.n }));
  }

  /**
   * Registrations per day over the event's registration period so far: from the day it was
   * created (at most `maxDays` back) to today, or to the day it ended.
   */
  perDayOfEvent(e: Pick<EventRow, 'org_id' | 'id' | 'timezone' | 'created_at' | 'ends_at'>, maxDays = 60): DayCount[] {
    const until = Math.min(this.d.now(), Date.parse(e.ends_at));
    const span = Math.ceil((until - Date.parse(e.created_at)) / 86_400_000) + 1;
    return this.perDay(e, Math.max(1, Math.min(maxDays, span)), until);
  }

  /** The newest registrations of these events: ids, status and time, no personal data. */
  recent(orgId: string, eventIds: readonly string[], limit = 10): RecentRegistration[] {
    return eventIds.length ? this.repo.recent(orgId, eventIds, limit) : [];
  }
}

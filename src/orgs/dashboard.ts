import type { EventRow } from '../events/repo.ts';
import type { Counts } from '../registrations/attendees.ts';
import type { DayCount, RecentRegistration } from '../registrations/stats.ts';
import { type OrgRole, roleHas } from './permissions.ts';
import type { InvitationRow, MembershipRow, OrgRow } from './repo.ts';

/** How far ahead "soon" looks for registration windows, and how many days a sparkline shows. */
export const SOON_MS = 7 * 86_400_000;
export const TREND_DAYS = 14;
const MAX_EVENTS = 12;
const RECENT = 8;

export type EventRef = Pick<EventRow, 'id' | 'title' | 'timezone'>;

/**
 * Something an organizer should look at. The dashboard words the kinds it knows; a later
 * capability (data requests, security alerts) adds items through an `AttentionSource` and brings
 * its own words and link.
 */
export type AttentionItem =
  | { kind: 'registration-opens'; event: EventRef; at: string }
  | { kind: 'registration-closes'; event: EventRef; at: string }
  | { kind: 'full-with-waitlist'; event: EventRef; waitlisted: number }
  | { kind: 'draft-starts-soon'; event: EventRef; at: string }
  | { kind: 'invitations'; open: number; expiringSoon: number }
  | { kind: 'other'; source: string; text: string; href: string };

/**
 * The seam for attention items owned by other capabilities: privacy (open data-access and
 * erasure requests with their deadlines) and audit (unacknowledged security alerts) plug in here
 * from the composition root. A source decides itself what the member's role may see.
 */
export type AttentionSource = (org: OrgRow, role: OrgRole) => Extract<AttentionItem, { kind: 'other' }>[];

export interface DashboardEvent {
  event: EventRow;
  phase: 'running' | 'upcoming';
  counts: Counts;
  trend: DayCount[];
}

export interface Dashboard {
  events: DashboardEvent[];
  /** More events than shown: the page links to the full list. */
  moreEvents: number;
  recent: (RecentRegistration & { event: EventRef })[];
  attention: AttentionItem[];
  /** No event at all yet: the page walks the organization to its first one. */
  firstSteps: boolean;
}

export interface DashboardDeps {
  events: { upcoming(org: OrgRow, membership: MembershipRow | null): EventRow[]; list(org: OrgRow, membership: MembershipRow | null): EventRow[]; hasEvents(org: OrgRow): boolean };
  stats: { counts(orgId: string, eventIds: readonly string[]): Map<string, Counts>; perDay(e: EventRow, days: number): DayCount[]; recent(orgId: string, eventIds: readonly string[], limit: number): RecentRegistration[] };
  invitations: (orgId: string) => InvitationRow[];
  sources: readonly AttentionSource[];
  now: () => number;
}

/** The organization's landing page: its coming events with their numbers, the newest registrations, and what needs a look. */
export class DashboardService {
  constructor(private readonly d: DashboardDeps) {}

  build(org: OrgRow, membership: MembershipRow): Dashboard {
    const now = this.d.now();
    const upcoming = this.d.events.upcoming(org, membership);
    const shown = upcoming.slice(0, MAX_EVENTS);
    const counts = this.d.stats.counts(org.id, upcoming.map((e) => e.id));
    const zero: Counts = { confirmed: 0, waitlisted: 0, pending: 0, cancelled: 0, checkedIn: 0 };
    const events = shown.map((e) => ({
      event: e,
      phase: Date.parse(e.starts_at) <= now ? ('running' as const) : ('upcoming' as const),
      counts: counts.get(e.id) ?? zero,
      trend: this.d.stats.perDay(e, TREND_DAYS),
    }));

    // Newest registrations of every event the member may see, past ones included.
    const all = this.d.events.list(org, membership);
    const byId = new Map(all.map((e) => [e.id, e]));
    const recent = this.d.stats.recent(org.id, all.map((e) => e.id), RECENT).map((r) => ({ ...r, event: byId.get(r.event_id)! }));

    return {
      events,
      moreEvents: upcoming.length - shown.length,
      recent,
      attention: [...this.eventAttention(upcoming, counts, now), ...this.invitationAttention(org, membership.role, now), ...this.d.sources.flatMap((s) => s(org, membership.role))],
      firstSteps: !this.d.events.hasEvents(org),
    };
  }

  private eventAttention(events: EventRow[], counts: Map<string, Counts>, now: number): AttentionItem[] {
    const soon = (at: string | null): at is string => at !== null && Date.parse(at) > now && Date.parse(at) - now <= SOON_MS;
    const out: AttentionItem[] = [];
    for (const e of events) {
      const ref = { id: e.id, title: e.title, timezone: e.timezone };
      if (e.status === 'published' && soon(e.registration_opens_at)) out.push({ kind: 'registration-opens', event: ref, at: e.registration_opens_at });
      if (e.status === 'published' && soon(e.registration_closes_at)) out.push({ kind: 'registration-closes', event: ref, at: e.registration_closes_at });
      if (e.status === 'draft' && soon(e.starts_at)) out.push({ kind: 'draft-starts-soon', event: ref, at: e.starts_at });
      const c = counts.get(e.id);
      if (c && e.capacity !== null && c.confirmed >= e.capacity && c.waitlisted > 0) out.push({ kind: 'full-with-waitlist', event: ref, waitlisted: c.waitlisted });
    }
    return out;
  }

  private invitationAttention(org: OrgRow, role: OrgRole, now: number): AttentionItem[] {
    if (!roleHas(role, 'members.read')) return [];
    const open = this.d.invitations(org.id);
    if (open.length === 0) return [];
    return [{ kind: 'invitations', open: open.length, expiringSoon: open.filter((i) => i.expires_at - now <= 2 * 86_400_000).length }];
  }
}

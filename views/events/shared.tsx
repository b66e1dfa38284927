/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow, EventStatus } from '../../src/events/repo.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';

export type EventCounts = { confirmed: number; waitlisted: number; pending: number; cancelled: number; checkedIn: number };

/** A stored instant as the event's wall clock, to the minute: what organizers typed in. */
export function localWhen(iso: string | null, tz: string): string {
  if (!iso) return '–';
  const f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  return `${f.format(new Date(iso)).replace(',', '')} (${tz})`;
}

export const statusLabels: Record<EventStatus, string> = { draft: 'Draft', published: 'Published', closed: 'Registration closed', archived: 'Archived' };

export const accessLabels: Record<EventRow['access_mode'], string> = { public: 'Public (listed on the organization page)', unlisted: 'Unlisted (only people with the link)', passcode: 'Passcode required' };

/**
 * The app shell (views/components/shell.tsx) draws the event's navigation on every page now.
 * Kept, drawing nothing, so a page written against the old in-page menu still compiles.
 */
export function EventNav(_: { org: OrgRow; role: OrgRole; e: Pick<EventRow, 'id' | 'title'> }) {
  return null;
}

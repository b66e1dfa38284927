/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow, EventStatus } from '../../src/events/repo.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { dateTimeIn } from '../../src/events/when.ts';

export type EventCounts = { confirmed: number; waitlisted: number; pending: number; cancelled: number; checkedIn: number };

/** A stored instant on the event's wall clock in words, the zone named: "Wed 20 Jan 2027, 09:00 CET". */
export function localWhen(iso: string | null, tz: string): string {
  return iso ? dateTimeIn(iso, tz) : '–';
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

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow, EventStatus } from '../../src/events/repo.ts';
import { dateTimeIn } from '../../src/events/when.ts';

export type EventCounts = { confirmed: number; waitlisted: number; pending: number; cancelled: number; checkedIn: number };

/** A stored instant on the event's wall clock in words, the zone named: "Wed 20 Jan 2027, 09:00 CET". */
export function localWhen(iso: string | null, tz: string): string {
  return iso ? dateTimeIn(iso, tz) : '–';
}

export const statusLabels: Record<EventStatus, string> = { draft: 'Draft', published: 'Published', closed: 'Registration closed', archived: 'Archived' };

export const accessLabels: Record<EventRow['access_mode'], string> = { public: 'Public (listed on the organization page)', unlisted: 'Unlisted (only people with the link)', passcode: 'Passcode required' };

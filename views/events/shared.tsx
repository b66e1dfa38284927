/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow, EventStatus } from '../../src/events/repo.ts';
import { type OrgRole, roleHas } from '../../src/orgs/permissions.ts';
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

/** The pages of one event; attendees and check-in only for roles that may open them. */
export function EventNav({ org, role, e }: { org: OrgRow; role: OrgRole; e: Pick<EventRow, 'id' | 'title'> }) {
  const base = `/orgs/${org.slug}/events/${e.id}`;
  const pages: { path: string; label: string; show: boolean }[] = [
    { path: '', label: 'Overview', show: true },
    { path: '/edit', label: 'Edit details', show: roleHas(role, 'events.write') },
    { path: '/form', label: 'Registration form', show: true },
    { path: '/share-links', label: 'Share links', show: roleHas(role, 'events.write') },
    { path: '/attendees', label: 'Attendees', show: roleHas(role, 'attendees.read') },
    { path: '/checkin', label: 'Check-in', show: roleHas(role, 'checkin.perform') },
  ];
  return (
    <nav aria-label={`Pages of ${e.title}`}>
      <ul>
        <li>
          <a href={`/orgs/${org.slug}/events`}>All events</a>
        </li>
        {pages
          .filter((p) => p.show)
          .map((p) => (
            <li>
              <a href={`${base}${p.path}`}>{p.label}</a>
            </li>
          ))}
      </ul>
    </nav>
  );
}

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow } from '../../src/events/repo.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { Empty, FlashBox, type FlashMsg } from '../components/flash.tsx';
import { type EventCounts, statusLabels } from './shared.tsx';
import { TableBox } from '../components/table.tsx';
import { dateRangeIn } from '../../src/events/when.ts';

export function EventsListPage(p: { org: OrgRow; role: OrgRole; rows: { e: EventRow; counts: EventCounts }[]; canCreate: boolean; scoped: boolean; flash?: FlashMsg | undefined }) {
  const base = `/orgs/${p.org.slug}/events`;
  return (
    <>
      <h1>Events of {p.org.name}</h1>
      <FlashBox flash={p.flash} />
      {p.scoped ? <p>Your access is limited to chosen events: only those are listed.</p> : null}
      {p.canCreate ? (
        <p>
          <a role="button" href={`${base}/new`}>
            New event
          </a>
        </p>
      ) : null}
      {p.rows.length === 0 ? (
        <Empty>
          <p>No events yet.</p>
          {p.canCreate ? <p>Create one with New event: it stays a draft, visible only here, until you publish it.</p> : null}
        </Empty>
      ) : (
        <TableBox label="Events">
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Starts</th>
              <th scope="col">Confirmed / capacity</th>
              <th scope="col">Waiting list</th>
            </tr>
          </thead>
          <tbody>
            {p.rows.map(({ e, counts }) => (
              <tr data-event={e.id}>
                <td>
                  <a href={`${base}/${e.id}`}>{e.title}</a>
                  <br />
                  <small>/e/{e.slug}</small>
                </td>
                <td data-testid="status">{statusLabels[e.status]}</td>
                <td>{dateRangeIn(e.starts_at, e.ends_at, e.timezone)}</td>
                <td data-testid="seats">
                  {counts.confirmed} / {e.capacity ?? 'unlimited'}
                </td>
                <td>{e.waitlist_enabled ? counts.waitlisted : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableBox>
      )}
    </>
  );
}

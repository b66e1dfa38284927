/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { AttentionItem, Dashboard, DashboardEvent } from '../../src/orgs/dashboard.ts';
import { type OrgRole, roleDescriptions, roleHas } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { RegistrationStatus } from '../../src/registrations/repo.ts';
import { Sparkline, dayPoints, formatNumber } from '../components/charts.tsx';
import { localWhen, statusLabels } from '../events/shared.tsx';

const regStatus: Record<RegistrationStatus, string> = { confirmed: 'confirmed', waitlisted: 'on the waiting list', pending: 'awaiting email confirmation', cancelled: 'cancelled' };

/** "3 hours ago": recent activity reads better relative to now than as a timestamp. */
export function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'} ago`;
  if (s < 60) return 'just now';
  if (s < 3600) return unit(Math.floor(s / 60), 'minute');
  if (s < 86_400) return unit(Math.floor(s / 3600), 'hour');
  return unit(Math.floor(s / 86_400), 'day');
}

function FirstSteps({ org, role }: { org: OrgRow; role: OrgRole }) {
  const base = `/orgs/${org.slug}`;
  if (!roleHas(role, 'events.write')) return <p data-testid="first-steps">This organization has no events yet. Its organizers and administrators create them; they will show up here.</p>;
  return (
    <article class="first-steps" data-testid="first-steps" aria-labelledby="first-steps-heading">
      <h2 id="first-steps-heading">Welcome: your first event in four steps</h2>
      <ol>
        <li>
          <strong>Create the event</strong>: its title, date, place and how many seats it has. It starts as a draft that nobody else sees.
        </li>
        <li>
          <strong>Build the registration form</strong>: email and name are there already; ask only what you need, and say why.
        </li>
        <li>
          <strong>Publish it and share the link</strong> (or its QR code) from the event's overview.
        </li>
        {roleHas(role, 'members.manage') ? (
          <li>
            <strong>
              <a href={`${base}/members`}>Invite your team</a>
            </strong>
            : co-organizers, and check-in staff for the door.
          </li>
        ) : (
          <li>
            <strong>Watch the registrations arrive</strong> here and on the event's overview.
          </li>
        )}
      </ol>
      <p>
        <a role="button" href={`${base}/events/new`}>
          Create your first event
        </a>
      </p>
    </article>
  );
}

function EventsTable({ org, rows, more }: { org: OrgRow; rows: DashboardEvent[]; more: number }) {
  const base = `/orgs/${org.slug}/events`;
  if (rows.length === 0) return <p>No events coming up. Past and archived events are in the <a href={base}>event list</a>.</p>;
  return (
    <>
      <div class="table-scroll" role="region" aria-label="Coming events" tabindex={0}>
        <table class="dashboard-events">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Seats taken</th>
              <th scope="col">Last 14 days</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ event: e, phase, counts, trend }) => (
              <tr data-event={e.id}>
                <td>
                  <a href={`${base}/${e.id}`}>{e.title}</a>{' '}
                  <span class={`status-badge status-${e.status}`} data-testid="dash-status">
                    {statusLabels[e.status]}
                  </span>
                  <br />
                  <small>{phase === 'running' ? `Running now, until ${localWhen(e.ends_at, e.timezone)}` : localWhen(e.starts_at, e.timezone)}</small>
                </td>
                <td data-testid="dash-seats">
                  {formatNumber(counts.confirmed)} / {e.capacity === null ? 'unlimited' : formatNumber(e.capacity)}
                  {counts.waitlisted ? (
                    <>
                      <br />
                      <small>{formatNumber(counts.waitlisted)} waiting</small>
                    </>
                  ) : null}
                </td>
                <td>
                  <Sparkline points={dayPoints(trend)} label={`Registrations for ${e.title}, last 14 days`} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {more > 0 ? (
        <p>
          <a href={base}>
            {more} more coming event{more === 1 ? '' : 's'} in the event list
          </a>
        </p>
      ) : null}
    </>
  );
}

function attentionLine(item: AttentionItem, org: OrgRow) {
  const ev = (id: string, suffix = '') => `/orgs/${org.slug}/events/${id}${suffix}`;
  switch (item.kind) {
    case 'registration-opens':
      return (
        <>
          Registration for <a href={ev(item.event.id)}>{item.event.title}</a> opens {localWhen(item.at, item.event.timezone)}.
        </>
      );
    case 'registration-closes':
      return (
        <>
          Registration for <a href={ev(item.event.id)}>{item.event.title}</a> closes {localWhen(item.at, item.event.timezone)}.
        </>
      );
    case 'draft-starts-soon':
      return (
        <>
          <a href={ev(item.event.id)}>{item.event.title}</a> starts {localWhen(item.at, item.event.timezone)} but is still a draft: nobody can register yet.
        </>
      );
    case 'full-with-waitlist':
      return (
        <>
          <a href={ev(item.event.id)}>{item.event.title}</a> is full, with {formatNumber(item.waitlisted)} {item.waitlisted === 1 ? 'person' : 'people'} on the waiting list. More seats would move them up in order.
        </>
      );
    case 'invitations':
      return (
        <>
          <a href={`/orgs/${org.slug}/members`}>
            {item.open} invitation{item.open === 1 ? '' : 's'} not accepted yet
          </a>
          {item.expiringSoon ? ` (${item.expiringSoon} expiring within two days)` : ''}.
        </>
      );
    case 'other':
      return <a href={item.href}>{item.text}</a>;
  }
}

export function OrgDashboard({ org, role, data, now, canReadAttendees }: { org: OrgRow; role: OrgRole; data: Dashboard; now: number; canReadAttendees: boolean }) {
  const events = `/orgs/${org.slug}/events`;
  return (
    <>
      <h1>{org.name}</h1>
      <p>
        Your role: <strong data-testid="my-role">{role}</strong> — {roleDescriptions[role]}
      </p>
      {data.firstSteps ? (
        <FirstSteps org={org} role={role} />
      ) : (
        <div class="dashboard">
          <section aria-labelledby="dash-events-heading" class="dashboard-wide">
            <h2 id="dash-events-heading">Coming up</h2>
            <EventsTable org={org} rows={data.events} more={data.moreEvents} />
            {roleHas(role, 'events.write') ? (
              <p>
                <a href={`${events}/new`}>New event</a> · <a href={events}>All events</a>
              </p>
            ) : null}
          </section>
          <section aria-labelledby="dash-attention-heading" data-testid="attention">
            <h2 id="dash-attention-heading">Needs attention</h2>
            {data.attention.length ? (
              <ul>
                {data.attention.map((a) => (
                  <li data-kind={a.kind}>{attentionLine(a, org)}</li>
                ))}
              </ul>
            ) : (
              <p>Nothing needs your attention.</p>
            )}
          </section>
          <section aria-labelledby="dash-recent-heading" data-testid="recent">
            <h2 id="dash-recent-heading">Newest registrations</h2>
            {data.recent.length ? (
              <ul>
                {data.recent.map((r) => (
                  <li data-registration={r.id}>
                    {canReadAttendees ? <a href={`${events}/${r.event_id}/attendees/${r.id}`}>A registration</a> : 'A registration'} for {r.event.title}, {regStatus[r.status]},{' '}
                    <time datetime={r.created_at}>{ago(r.created_at, now)}</time>
                  </li>
                ))}
              </ul>
            ) : (
              <p>No registrations yet.</p>
            )}
            <p>
              <small>Names are not shown here: opening a registration shows the person, and that is recorded in the audit log.</small>
            </p>
          </section>
        </div>
      )}
      <details>
        <summary>Organization policies</summary>
        <ul>
          <li>Two-factor authentication for members: {org.require_2fa ? 'required' : 'not required'}</li>
          <li>Staff network restriction: {org.ip_allowlist === '[]' ? 'none' : 'only allowed addresses'}</li>
        </ul>
      </details>
    </>
  );
}

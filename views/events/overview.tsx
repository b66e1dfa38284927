/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow } from '../../src/events/repo.ts';
import type { PasscodeState, StatusAction } from '../../src/events/service.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { ActionButton, Csrf, Field, type FormState } from '../components/form.tsx';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { PasscodeSection, passcodeText } from './access.tsx';
import type { EventSchedule } from '../../src/privacy/retention.ts';
import { RetentionSummary } from '../privacy/retention.tsx';
import { type EventCounts, EventNav, accessLabels, localWhen, statusLabels } from './shared.tsx';

const statusActionLabels: Record<StatusAction, { label: string; confirm?: string }> = {
  publish: { label: 'Publish' },
  close: { label: 'Close registration' },
  reopen: { label: 'Reopen registration' },
  archive: { label: 'Archive', confirm: 'Archive this event? Its public page goes offline.' },
};

export function EventDashboard(p: {
  csrf: string;
  org: OrgRow;
  role: OrgRole;
  e: EventRow;
  counts: EventCounts;
  publicUrl: string;
  canWrite: boolean;
  statusActions: StatusAction[];
  passcodeState: PasscodeState;
  /** when the attendees' personal data is erased (privacy/retention.ts) */
  retention?: EventSchedule | undefined;
  flash?: FlashMsg | undefined;
} & FormState) {
  const { e, errors = {}, values = {} } = p;
  const base = `/orgs/${p.org.slug}/events/${e.id}`;
  const { canWrite } = p;
  return (
    <>
      <h1>{e.title}</h1>
      <EventNav org={p.org} role={p.role} e={e} />
      <FlashBox flash={p.flash} />
      <article>
        <p>
          Status: <strong data-testid="event-status">{statusLabels[e.status]}</strong>
          <br />
          Starts {localWhen(e.starts_at, e.timezone)}, ends {localWhen(e.ends_at, e.timezone)}
          {e.venue ? (
            <>
              <br />
              Venue: {e.venue}
            </>
          ) : null}
          {e.online_url ? (
            <>
              <br />
              Online: {e.online_url}
            </>
          ) : null}
          <br />
          Access: {accessLabels[e.access_mode]}
          {e.access_mode === 'passcode' ? ` — passcode ${passcodeText(e, p.passcodeState)}` : ''}
        </p>
        <p>
          Public page: <a href={`/e/${e.slug}`}>{p.publicUrl}</a>
          <br />
          <small>{e.status === 'published' || e.status === 'closed' ? (e.access_mode === 'public' ? 'Listed on the organization page.' : 'Not listed: only people with the link (and the passcode, if any) can open it.') : 'Not visible to the public until published.'}</small>
        </p>
        {canWrite ? (
          <p>
            {p.statusActions.map((a) => (
              <ActionButton action={`${base}/status`} label={statusActionLabels[a].label} csrf={p.csrf} hidden={{ to: a }} confirm={statusActionLabels[a].confirm} variant={a === 'publish' || a === 'reopen' ? 'outline' : 'secondary'} />
            ))}
          </p>
        ) : null}
      </article>
      <RetentionSummary schedule={p.retention} settingsUrl={canWrite ? `${base}/retention` : undefined} />

      <h2>Registrations</h2>
      <table>
        <tbody>
          <tr>
            <th scope="row">Confirmed</th>
            <td data-testid="count-confirmed">
              {p.counts.confirmed} of {e.capacity ?? 'unlimited'}
            </td>
          </tr>
          <tr>
            <th scope="row">Waiting list</th>
            <td>{p.counts.waitlisted}</td>
          </tr>
          <tr>
            <th scope="row">Awaiting email confirmation</th>
            <td>{p.counts.pending}</td>
          </tr>
          <tr>
            <th scope="row">Cancelled</th>
            <td>{p.counts.cancelled}</td>
          </tr>
          <tr>
            <th scope="row">Checked in</th>
            <td>{p.counts.checkedIn}</td>
          </tr>
        </tbody>
      </table>

      {canWrite ? <PasscodeSection csrf={p.csrf} base={base} e={e} state={p.passcodeState} errors={errors} values={values} /> : null}

      {canWrite ? (
        <article id="delete">
          <h2>Delete this event</h2>
          <p>
            Deleting removes the event, its form, its share links and <strong>all its registrations</strong> for good. To archive it instead, use Archive. You may be asked for your password
            again.
          </p>
          <form method="post" action={`${base}/delete`}>
            <Csrf token={p.csrf} />
            <Field name="confirm_slug" label={`Type the event address (${e.slug}) to confirm`} value={values.confirm_slug} error={errors.confirm_slug} required autocomplete="off" />
            <button type="submit" class="contrast">
              Delete event and registrations
            </button>
          </form>
        </article>
      ) : null}
    </>
  );
}

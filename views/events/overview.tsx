/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { raw } from 'hono/html';
import type { EventRow } from '../../src/events/repo.ts';
import type { PasscodeState, StatusAction } from '../../src/events/service.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { DayCount } from '../../src/registrations/stats.ts';
import { BarChart, ProgressBar, dayPoints, formatNumber } from '../components/charts.tsx';
import { Csrf } from '../components/form.tsx';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { passcodeText } from './access.tsx';
import type { EventSchedule } from '../../src/privacy/retention.ts';
import { RetentionSummary } from '../privacy/retention.tsx';
import { type EventCounts, accessLabels, localWhen, statusLabels } from './shared.tsx';

const statusActionLabels: Record<StatusAction, { label: string; confirm?: string; help: string }> = {
  publish: { label: 'Publish', help: 'Opens the public page and, within the registration window, the form.' },
  close: { label: 'Close registration', help: 'The public page stays; nobody new can register.' },
  reopen: { label: 'Reopen registration', help: 'Publishes the event again and reopens the form.' },
  archive: { label: 'Archive', confirm: 'Archive this event? Its public page goes offline.', help: 'Takes the public page offline; the registrations are kept.' },
};

/** The one action the page leads with for each state; the others are secondary. */
const primaryAction: Record<EventRow['status'], StatusAction | undefined> = { draft: 'publish', published: undefined, closed: 'reopen', archived: undefined };

function Figure({ label, value, of, testid, note }: { label: string; value: number; of?: string | undefined; testid: string; note?: string | undefined }) {
  return (
    <div class="figure">
      <p class="figure-value" data-testid={testid}>
        {formatNumber(value)}
        {of ? <span class="figure-of"> of {of}</span> : null}
      </p>
      <p class="figure-label">{label}</p>
      {note ? <p class="figure-note">{note}</p> : null}
    </div>
  );
}

export function EventDashboard(p: {
  csrf: string;
  org: OrgRow;
  role: OrgRole;
  e: EventRow;
  counts: EventCounts;
  perDay: DayCount[];
  publicUrl: string;
  qrSvg: string;
  canWrite: boolean;
  statusActions: StatusAction[];
  passcodeState: PasscodeState;
  /** when the attendees' personal data is erased (privacy/retention.ts) */
  retention?: EventSchedule | undefined;
  flash?: FlashMsg | undefined;
}) {
  const { e, counts, canWrite } = p;
  const base = `/orgs/${p.org.slug}/events/${e.id}`;
  const visible = e.status === 'published' || e.status === 'closed';
  const needsPasscode = e.access_mode === 'passcode' && p.passcodeState !== 'set';
  const primary = primaryAction[e.status];
  return (
    <div class="event-overview">
      <h1>{e.title}</h1>
      <FlashBox flash={p.flash} />
      <p class="event-summary">
        <span class={`status-badge status-${e.status}`} data-testid="event-status">
          {statusLabels[e.status]}
        </span>{' '}
        {localWhen(e.starts_at, e.timezone)} – {localWhen(e.ends_at, e.timezone)}
        {e.venue ? <> · {e.venue}</> : null}
        {e.online_url ? <> · online</> : null}
      </p>

      <section aria-label="Numbers" class="no-print">
        <div class="figures">
          <Figure label="Confirmed" value={counts.confirmed} of={e.capacity === null ? 'unlimited' : formatNumber(e.capacity)} testid="count-confirmed" />
          <Figure label="Waiting list" value={counts.waitlisted} testid="count-waitlisted" note={e.waitlist_enabled ? undefined : 'Waiting list off'} />
          <Figure label="Checked in" value={counts.checkedIn} of={formatNumber(counts.confirmed)} testid="count-checked-in" />
        </div>
        <p class="figure-more">
          {formatNumber(counts.pending)} awaiting email confirmation · {formatNumber(counts.cancelled)} cancelled
        </p>
      </section>

      <section aria-labelledby="per-day-heading" class="no-print">
        <h2 id="per-day-heading">Registrations per day</h2>
        <BarChart id="per-day" points={dayPoints(p.perDay)} title={`Registrations per day (${e.timezone.replace(/_/g, ' ')})`} />
      </section>

      <section aria-labelledby="checkin-heading" class="no-print">
        <h2 id="checkin-heading">Check-in</h2>
        <ProgressBar id="checkin" value={counts.checkedIn} max={counts.confirmed} label="Checked in" unit="confirmed attendees checked in" />
        {e.capacity !== null ? <ProgressBar id="seats" value={counts.confirmed} max={e.capacity} label="Seats taken" unit="seats taken" /> : null}
      </section>

      <section aria-labelledby="public-heading" class="public-link">
        <h2 id="public-heading">Public page</h2>
        <p class="no-print">
          {visible ? (e.access_mode === 'public' ? 'Listed on the organization page.' : 'Not listed: only people with the link (and the passcode, if any) can open it.') : 'Not visible to the public until published.'}{' '}
          Access: {accessLabels[e.access_mode]}
          {e.access_mode === 'passcode' ? <> — passcode <span data-testid="overview-passcode">{passcodeText(e, p.passcodeState)}</span></> : null}.{' '}
          {canWrite ? <a href={`${base}/share-links`}>Manage access</a> : null}
        </p>
        <p class="copy-line">
          <a href={`/e/${e.slug}`} id="public-url" data-testid="public-url">
            {p.publicUrl}
          </a>{' '}
          <span class="no-print">
            <button type="button" class="secondary outline" data-copy="public-url" hidden>
              Copy link
            </button>{' '}
            <span class="copy-status" role="status"></span>
          </span>
        </p>
        <figure class="qr-print">
          <div class="qr" role="img" aria-label={`QR code that opens ${p.publicUrl}`}>
            {raw(p.qrSvg)}
          </div>
          <figcaption>
            Scan to open the event page. <span class="print-only">{p.publicUrl}</span>
            <button type="button" class="secondary outline no-print" data-print hidden>
              Print the QR code
            </button>
          </figcaption>
        </figure>
      </section>

      <RetentionSummary schedule={p.retention} settingsUrl={canWrite ? `${base}/retention` : undefined} />

      {canWrite ? (
        <section aria-labelledby="actions-heading" class="no-print">
          <h2 id="actions-heading">What next</h2>
          {needsPasscode && e.status === 'draft' ? (
            <p>
              This event needs a passcode before it can be published: <a href={`${base}/share-links#passcode`}>set it under Access</a>.
            </p>
          ) : null}
          <div class="event-actions">
            {p.statusActions.map((a) => (
              <div class="event-action">
                <form method="post" action={`${base}/status`} class="inline-action" data-confirm={statusActionLabels[a].confirm}>
                  <Csrf token={p.csrf} />
                  <input type="hidden" name="to" value={a} />
                  <button type="submit" class={a === primary ? undefined : 'secondary'}>
                    {statusActionLabels[a].label}
                  </button>
                </form>
                <small>{statusActionLabels[a].help}</small>
              </div>
            ))}
          </div>
          <p>
            <small>
              Change the details under <a href={`${base}/edit`}>Settings</a>; deleting the event is at the bottom of that page.
            </small>
          </p>
        </section>
      ) : null}
    </div>
  );
}

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow } from '../../src/events/repo.ts';
import { staticUrl } from '../../src/http/static.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { CheckinCardData } from '../../src/registrations/attendees.ts';
import { Flash, type FlashMsg } from '../components/flash.tsx';
import { Csrf } from '../components/form.tsx';
import { eventBase } from './shared.tsx';
import { At } from '../components/time.tsx';

export function CheckinCard({ org, event, card, csrf, q, message }: { org: OrgRow; event: EventRow; card: CheckinCardData; csrf: string; q: string; message?: FlashMsg | undefined }) {
  const base = `${eventBase(org, event)}/checkin/${card.id}`;
  const id = `reg-${card.id}`;
  const button = (action: string, label: string, variant?: string) => (
    // Synced on the counts element (see CheckinPage): a check-in aborts a counts poll in flight,
    // and several check-ins run one after the other instead of aborting each other.
    <form method="post" action={action} hx-post={action} hx-target={`#${id}`} hx-swap="outerHTML" hx-sync="#checkin-counts:queue all" class="checkin-action">
      <Csrf token={csrf} />
      <input type="hidden" name="q" value={q} />
      <button type="submit" class={variant}>
        {label}
      </button>
    </form>
  );
  return (
    <article id={id} class={`checkin-card ${card.checkedInAt ? 'is-in' : ''}`} data-status={card.status}>
      <header>
        <strong class="checkin-name">{card.name || '(no name)'}</strong> <code>{card.code}</code>
      </header>
      <p>
        Status: <strong>{card.status}</strong> · {card.checkedInAt ? <strong>
            Checked in <At t={card.checkedInAt} tz={event.timezone} />
          </strong> : 'Not checked in'}
      </p>
      {message ? <Flash kind={message.kind}>{message.text}</Flash> : null}
      {card.canUndo ? button(`${base}/undo`, 'Undo check-in', 'secondary') : card.canCheckIn ? button(base, 'Check in') : <p>Only confirmed registrations can be checked in.</p>}
    </article>
  );
}

export function CheckinResults({ org, event, results, csrf, q, message }: { org: OrgRow; event: EventRow; results: CheckinCardData[]; csrf: string; q: string; message?: { id: string; flash: FlashMsg } | undefined }) {
  if (!q) return <p>Type or scan an attendee code, a ticket, or a name.</p>;
  if (results.length === 0) return <Flash kind="error">No registration matches “{q}”.</Flash>;
  return (
    <>
      {results.map((card) => (
        <CheckinCard org={org} event={event} card={card} csrf={csrf} q={q} message={message?.id === card.id ? message.flash : undefined} />
      ))}
    </>
  );
}

export function CheckinCounts({ checkedIn, confirmed }: { checkedIn: number; confirmed: number }) {
  return (
    <>
      <strong data-testid="checked-in">{checkedIn}</strong> checked in of <strong>{confirmed}</strong> confirmed
    </>
  );
}

/** The counts again, for htmx to put in place after a check-in without waiting for the next poll. */
export function CheckinCountsOob(p: { checkedIn: number; confirmed: number }) {
  return (
    <span id="checkin-counts" hx-swap-oob="innerHTML">
      <CheckinCounts {...p} />
    </span>
  );
}

export function CheckinPage(p: { csrf: string; org: OrgRow; event: EventRow; canList: boolean; q: string; results: CheckinCardData[]; counts: { checkedIn: number; confirmed: number }; message?: { id: string; flash: FlashMsg } | undefined }) {
  const base = `${eventBase(p.org, p.event)}/checkin`;
  return (
    <>
      <h1>Check-in: {p.event.title}</h1>
      {/* A poll that left before a check-in could answer after it with the old count and overwrite
          the fresh one the check-in sent out-of-band. Polls and check-ins share this element's
          request queue: `abort` lets a check-in abort the poll in flight, and drops a poll while a
          check-in is in flight, so the counts on screen are never older than the last check-in. */}
      <p id="checkin-counts" class="checkin-counts" aria-live="polite" hx-get={`${base}/counts`} hx-trigger="every 10s" hx-swap="innerHTML" hx-sync="this:abort">
        <CheckinCounts {...p.counts} />
      </p>
      {/* POST: a typed name stays out of the address, the history and proxy logs. */}
      <form id="checkin-search" method="post" action={base} hx-post={`${base}/lookup`} hx-target="#checkin-results" hx-swap="innerHTML">
        <Csrf token={p.csrf} />
        <label for="checkin-q">Attendee code, ticket or name</label>
        <fieldset role="group">
          <input id="checkin-q" type="search" name="q" value={p.q} maxlength={200} autofocus autocomplete="off" autocapitalize="off" spellcheck={false} enterkeyhint="search" />
          <button type="submit">Find</button>
        </fieldset>
        <button type="button" id="checkin-camera" class="secondary" hidden>
          Scan ticket with camera
        </button>
        <p id="checkin-camera-status" role="status" hidden></p>
      </form>
      <video id="checkin-video" class="checkin-video" playsinline muted hidden></video>
      <div id="checkin-results" aria-live="polite">
        <CheckinResults org={p.org} event={p.event} results={p.results} csrf={p.csrf} q={p.q} message={p.message} />
      </div>
      <script src={staticUrl('checkin.js')} defer></script>
    </>
  );
}

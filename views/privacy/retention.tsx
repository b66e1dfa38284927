/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { HoldView } from '../../src/privacy/holds.ts';
import type { InstanceRetention } from '../../src/privacy/policy.ts';
import type { EventSchedule } from '../../src/privacy/retention.ts';
import { ActionButton, Csrf, Field, type FormState } from '../components/form.tsx';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';

const fromWords: Record<EventSchedule['from'], string> = {
  instance: "the instance's default",
  organization: "the organization's default",
  event: "this event's setting",
};

/** Under the public registration form: the dates, not the rule. */
export function ErasureDateNote({ schedule }: { schedule: EventSchedule | undefined }) {
  if (!schedule) return null;
  return (
    <p data-testid="erasure-date">
      <small>
        The personal data you give here is erased on <time datetime={schedule.eraseOn}>{schedule.eraseOn}</time>
        {schedule.fields.length ? <> ({schedule.fields.map((f, i) => <>{i ? '; ' : ''}{f.label}: <time datetime={f.eraseOn}>{f.eraseOn}</time></>)})</> : null}
        . Only counts without names are kept.
      </small>
    </p>
  );
}

/** On the organizer's event page. */
export function RetentionSummary({ schedule, settingsUrl }: { schedule: EventSchedule | undefined; settingsUrl?: string | undefined }) {
  if (!schedule) return null;
  return (
    <section aria-labelledby="retention-heading">
      <h2 id="retention-heading">Personal data</h2>
      <p data-testid="erasure-date">
        Attendees' personal data is erased on <strong><time datetime={schedule.eraseOn}>{schedule.eraseOn}</time></strong>: {schedule.days} days after the event ends ({fromWords[schedule.from]}). Registrations on legal hold are kept until their hold ends; counts stay.
      </p>
      {schedule.fields.length ? (
        <ul>
          {schedule.fields.map((f) => (
            <li>
              {f.label}: erased on <time datetime={f.eraseOn}>{f.eraseOn}</time> ({f.days} days)
            </li>
          ))}
        </ul>
      ) : null}
      {settingsUrl ? <p><a href={settingsUrl}>Change the retention of this event</a></p> : null}
    </section>
  );
}

export interface FieldPolicyView {
  key: string;
  label: string;
  days: number | null;
}

export function EventRetentionPage(p: { csrf: string; title: string; back: string; action: string; schedule: EventSchedule; eventDays: number | null; orgDays: number | null; policy: InstanceRetention; fields: FieldPolicyView[]; flash?: FlashMsg | undefined } & FormState) {
  const errors = p.errors ?? {};
  const values = p.values ?? {};
  const range = `Between ${p.policy.minDays} and ${p.policy.maxDays} days (the range this instance allows).`;
  return (
    <>
      <h1>Retention: {p.title}</h1>
      <p>
        <a href={p.back}>← Back to the event</a>
      </p>
      <FlashBox flash={p.flash} />
      <RetentionSummary schedule={p.schedule} />
      <form method="post" action={p.action}>
        <Csrf token={p.csrf} />
        <Field name="days" label="Days after the event ends" type="number" inputmode="numeric" value={values.days ?? (p.eventDays === null ? '' : String(p.eventDays))} error={errors.days} help={`Empty: the organization's default (${p.orgDays ?? `instance default, ${p.policy.defaultDays}`} days). ${range}`} />
        {p.fields.length ? <h2>Fields erased sooner</h2> : null}
        {p.fields.map((f) => (
          <Field name={`field_${f.key}`} label={f.label} type="number" inputmode="numeric" value={values[`field_${f.key}`] ?? (f.days === null ? '' : String(f.days))} error={errors[`field_${f.key}`]} help="Empty: with the rest of the registration. A field is never kept longer than the registration." />
        ))}
        <button type="submit">Save retention</button>
      </form>
    </>
  );
}

export interface OrgEventRetention {
  title: string;
  url: string;
  eraseOn: string;
}

export interface LedgerLine {
  at: string;
  reason: string;
  event: string;
  registrations: number;
  fields: string;
}

export function OrgRetentionPage(p: { csrf: string; orgName: string; action: string; orgDays: number | null; policy: InstanceRetention; events: OrgEventRetention[]; ledger: LedgerLine[]; flash?: FlashMsg | undefined } & FormState) {
  const errors = p.errors ?? {};
  const values = p.values ?? {};
  return (
    <>
      <h1>Retention and erasure</h1>
      <FlashBox flash={p.flash} />
      <p>
        Personal data of attendees is erased a number of days after each event ends: the event's own setting, else this organization's default, else the instance's ({p.policy.defaultDays} days). Owners and admins are emailed {p.policy.warnDays} days before, with a link to export.
      </p>
      <form method="post" action={p.action}>
        <Csrf token={p.csrf} />
        <Field name="days" label={`Default for ${p.orgName} (days after an event ends)`} type="number" inputmode="numeric" value={values.days ?? (p.orgDays === null ? '' : String(p.orgDays))} error={errors.days} help={`Empty: the instance default. Between ${p.policy.minDays} and ${p.policy.maxDays} days.`} />
        <button type="submit">Save default</button>
      </form>
      <h2>When each event's data goes</h2>
      {p.events.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Erased on</th>
            </tr>
          </thead>
          <tbody>
            {p.events.map((e) => (
              <tr>
                <td>
                  <a href={e.url}>{e.title}</a>
                </td>
                <td>
                  <time datetime={e.eraseOn}>{e.eraseOn}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>No event holds personal data.</p>
      )}
      <h2>Erasure ledger</h2>
      <p>
        <small>Every erasure, without personal data (people appear only as pseudonyms). It is also kept outside the database, so a restore from backup applies each erasure again.</small>
      </p>
      {p.ledger.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Why</th>
              <th scope="col">Event</th>
              <th scope="col">Registrations</th>
              <th scope="col">What</th>
            </tr>
          </thead>
          <tbody>
            {p.ledger.map((l) => (
              <tr>
                <td>{l.at}</td>
                <td>{l.reason}</td>
                <td>{l.event}</td>
                <td>{l.registrations}</td>
                <td>{l.fields}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>Nothing erased yet.</p>
      )}
    </>
  );
}

export function AdminRetentionPage(p: { csrf: string; policy: InstanceRetention; canEdit: boolean; flash?: FlashMsg | undefined } & FormState) {
  const errors = p.errors ?? {};
  const values = p.values ?? {};
  const v = (k: keyof InstanceRetention) => values[k] ?? String(p.policy[k]);
  return (
    <>
      <h1>Retention</h1>
      <FlashBox flash={p.flash} />
      <p>
        How long attendees' personal data is kept after an event ends. Organizations and events choose within the range set here; the retention job runs at start and hourly.
      </p>
      {p.canEdit ? (
        <form method="post" action="/admin/retention">
          <Csrf token={p.csrf} />
          <Field name="defaultDays" label="Default (days after an event ends)" type="number" inputmode="numeric" value={v('defaultDays')} error={errors.defaultDays} required />
          <Field name="minDays" label="Shortest allowed" type="number" inputmode="numeric" value={v('minDays')} error={errors.minDays} required />
          <Field name="maxDays" label="Longest allowed" type="number" inputmode="numeric" value={v('maxDays')} error={errors.maxDays} required />
          <Field name="warnDays" label="Warn owners and admins this many days before" type="number" inputmode="numeric" value={v('warnDays')} error={errors.warnDays} required />
          <button type="submit">Save</button>
        </form>
      ) : (
        <p>
          Default {p.policy.defaultDays} days, allowed {p.policy.minDays}–{p.policy.maxDays} days, warning {p.policy.warnDays} days before. Only instance owners change these.
        </p>
      )}
    </>
  );
}

/** On the attendee detail page: holds on this registration, and a form to place one. */
export function HoldsSection(p: { csrf: string; holds: HoldView[]; action: string; canWrite: boolean; erased: boolean }) {
  return (
    <article aria-labelledby="holds-heading">
      <h2 id="holds-heading">Legal hold</h2>
      <p>
        <small>A hold keeps this registration's data past its retention date and past an erasure request (for example during a dispute). The attendee sees the hold and its reason.</small>
      </p>
      {p.holds.length ? (
        <ul>
          {p.holds.map((h) => (
            <li>
              {h.active ? <strong>On hold</strong> : <span>Hold ended (was</span>} until <time datetime={h.until}>{h.until.slice(0, 10)}</time>
              {h.active ? '' : h.released_at ? `, released ${h.released_at.slice(0, 10)})` : ')'}: {h.reason}
              {h.active && p.canWrite ? <ActionButton action={`${p.action}/release`} label="Release hold" csrf={p.csrf} variant="outline" hidden={{ hold: h.id }} /> : null}
            </li>
          ))}
        </ul>
      ) : (
        <p>No hold.</p>
      )}
      {p.canWrite && !p.erased ? (
        <form method="post" action={p.action}>
          <Csrf token={p.csrf} />
          <Field name="reason" label="Reason" maxlength={500} required help="Why the data must be kept; shown to the attendee." />
          <Field name="until" label="Until (day)" type="date" required />
          <button type="submit" class="secondary">
            Place hold
          </button>
        </form>
      ) : null}
    </article>
  );
}

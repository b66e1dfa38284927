/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { raw } from 'hono/html';
import type { PrivacyNotice } from '../../src/privacy/notice.ts';
import { NoticeBlock } from '../privacy/notice.tsx';
import { fieldOptions } from '../../src/events/fields.ts';
import type { EventRow, FieldRow } from '../../src/events/repo.ts';
import { eventWhen as when } from '../../src/events/when.ts';
import { Flash } from '../components/flash.tsx';
import { Csrf, FieldError } from '../components/form.tsx';
import type { EventSchedule } from '../../src/privacy/retention.ts';
import { ErasureDateNote } from '../privacy/retention.tsx';


export type Values = Record<string, string | string[]>;

/**
 * The CSRF token in a public form. Anonymous visitors get none (their pages are shared bytes and
 * the browser's same-origin marking is their proof); a signed-in person's browser sends the
 * session cookie, so the server asks for the session's token, and the form must carry it.
 */
export const FormToken = ({ csrf }: { csrf?: string | undefined }) => (csrf ? <Csrf token={csrf} /> : null);


const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const plain = (html: string) => html.replace(/<[^>]*>/g, '').replace(/&(?:amp|lt|gt|quot|#39);/g, (m) => entities[m] ?? m).replace(/\s+/g, ' ').trim().toLowerCase();

/** The description without a first heading that only repeats the event's title (the page shows the title once). */
export function withoutRepeatedTitle(html: string, title: string): string {
  const m = /^\s*<h[1-6][^>]*>([\s\S]*?)<\/h[1-6]>\s*/.exec(html);
  return m && plain(m[1]!) === plain(title) ? html.slice(m[0].length) : html;
}

/** Title once, then when, where and seats in one card, then the description. The organization is named in the page header (views/components/org-brand.tsx). */
export function EventHeader({ e, descriptionHtml, seatsLeft }: { e: EventRow; descriptionHtml: string; seatsLeft?: number | null | undefined }) {
  return (
    <header class="event-head">
      <h1>{e.title}</h1>
      <section class="event-summary" aria-label="Date, place and seats">
        <dl>
          <dt>When</dt>
          <dd>{when(e)}</dd>
          {e.venue ? (
            <>
              <dt>Where</dt>
              <dd>{e.venue}</dd>
            </>
          ) : null}
          {e.online_url ? (
            <>
              <dt>Online</dt>
              <dd>
                <a href={e.online_url} rel="noopener noreferrer nofollow">
                  {e.online_url}
                </a>
              </dd>
            </>
          ) : null}
          {seatsLeft !== undefined && seatsLeft !== null ? (
            <>
              <dt>Seats</dt>
              <dd data-testid="seats-left">{seatsLeft > 0 ? `${seatsLeft} left` : e.waitlist_enabled ? 'Full: waiting list open' : 'Full'}</dd>
            </>
          ) : null}
        </dl>
        <a href={`/e/${e.slug}/event.ics`}>Add to calendar (.ics)</a>
      </section>
      <div class="description">{raw(withoutRepeatedTitle(descriptionHtml, e.title))}</div>
    </header>
  );
}

/**
 * One question with its own help and "Why we ask" lines, kept together in one block so each
 * note reads as belonging to the field above it, not the next one.
 */
function FieldInput(p: { f: FieldRow; value: string | string[] | undefined; error: string | undefined }) {
  return (
    <div class="field" data-field={p.f.key}>
      <FieldControl {...p} />
    </div>
  );
}

function FieldControl({ f, value, error }: { f: FieldRow; value: string | string[] | undefined; error: string | undefined }) {
  const id = `f-${f.key}`;
  const why = f.personal && f.purpose ? `Why we ask: ${f.purpose}` : '';
  const describedBy = [f.help ? `${id}-help` : '', why ? `${id}-why` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const v = Array.isArray(value) ? value : value === undefined ? [] : [value];
  const common = { id, name: f.key, required: f.required === 1, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': describedBy } as const;
  const extra = (
    <>
      {f.help ? <small id={`${id}-help`}>{f.help}</small> : null}
      {why ? <small id={`${id}-why`}>{why}</small> : null}
      <FieldError id={id} error={error} />
    </>
  );
  const label = `${f.label}${f.required ? '' : ' (optional)'}`;
  switch (f.type) {
    case 'long_text':
      return (
        <>
        <label for={id}>
          {label}
          <textarea {...common} rows={4} maxlength={5000}>
            {v[0] ?? ''}
          </textarea>
        </label>
        {extra}
        </>
      );
    case 'single_select':
      return (
        <>
        <label for={id}>
          {label}
          <select {...common}>
            <option value="">Choose…</option>
            {fieldOptions(f).map((o) => (
              <option value={o} selected={v[0] === o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        {extra}
        </>
      );
    case 'multi_select':
      return (
        <fieldset aria-describedby={describedBy}>
          <legend>{label}</legend>
          {fieldOptions(f).map((o, i) => (
            <label for={`${id}-${i}`}>
              <input type="checkbox" id={`${id}-${i}`} name={f.key} value={o} checked={v.includes(o)} />
              {o}
            </label>
          ))}
          {extra}
        </fieldset>
      );
    case 'checkbox':
    case 'consent':
      return (
        <fieldset>
          <label for={id}>
            <input type="checkbox" {...common} value="on" checked={v[0] === 'on'} />
            {f.type === 'consent' ? f.consent_text || f.label : label}
          </label>
          {extra}
        </fieldset>
      );
    default: {
      const type = { email: 'email', phone: 'tel', number: 'text', date: 'date', short_text: 'text' }[f.type] ?? 'text';
      const auto = f.builtin === 'email' ? 'email' : f.builtin === 'name' ? 'name' : f.type === 'phone' ? 'tel' : undefined;
      return (
        <>
        <label for={id}>
          {label}
          <input {...common} type={type} value={v[0] ?? ''} maxlength={f.type === 'email' ? 254 : 200} autocomplete={auto} inputmode={f.type === 'number' ? 'decimal' : undefined} />
        </label>
        {extra}
        </>
      );
    }
  }
}

export function RegistrationForm({ e, fields, action, values = {}, errors = {}, message, submit = 'Register', csrf, notice, privacyLink }: { e: EventRow; fields: FieldRow[]; action: string; values?: Values; errors?: Record<string, string>; message?: string | undefined; submit?: string; csrf?: string | undefined; notice?: PrivacyNotice | undefined; privacyLink?: string | undefined }) {
  const unknown = Object.entries(errors).filter(([k]) => !fields.some((f) => f.key === k));
  return (
    <form method="post" action={action} novalidate>
      <FormToken csrf={csrf} />
      {message ? <Flash kind="error">{message}</Flash> : null}
      {unknown.length ? <Flash kind="error">{unknown.map(([k, m]) => `${k}: ${m}`).join(' ')}</Flash> : null}
      {fields.map((f) => (
        <FieldInput f={f} value={values[f.key]} error={errors[f.key]} />
      ))}
      {notice ? (
        <NoticeBlock notice={notice} privacyLink={privacyLink} />
      ) : e.privacy_notice || e.controller_contact ? (
        <details>
          <summary>How we handle your data</summary>
          {e.privacy_notice ? <p>{e.privacy_notice}</p> : null}
          {e.controller_contact ? <p>Data controller: {e.controller_contact}</p> : null}
        </details>
      ) : null}
      <button type="submit">{submit}</button>
    </form>
  );
}

export function EventPage({ e, descriptionHtml, fields, seatsLeft, open, values, errors, message, csrf, erasure, notice, privacyLink }: { e: EventRow; descriptionHtml: string; fields: FieldRow[]; seatsLeft: number | null; open: { ok: true } | { ok: false; message: string }; values?: Values; errors?: Record<string, string>; message?: string | undefined; csrf?: string | undefined; erasure?: EventSchedule | undefined; notice?: PrivacyNotice | undefined; privacyLink?: string | undefined }) {
  return (
    <article class="event-page">
      <EventHeader e={e} descriptionHtml={descriptionHtml} seatsLeft={open.ok ? seatsLeft : null} />
      <section aria-labelledby="register-heading">
        <h2 id="register-heading">Registration</h2>
        {!open.ok ? (
          <p>{open.message}</p>
        ) : (
          <>
            {seatsLeft === 0 ? <p>{e.waitlist_enabled ? 'The event is full: you can join the waiting list.' : 'The event is full.'}</p> : null}
            {seatsLeft === 0 && !e.waitlist_enabled && !e.double_opt_in ? null : (
              <RegistrationForm e={e} fields={fields} action={`/e/${e.slug}/register`} values={values} errors={errors} message={message} submit={seatsLeft === 0 && e.waitlist_enabled ? 'Join the waiting list' : 'Register'} csrf={csrf} notice={notice} privacyLink={privacyLink} />
            )}
            <ErasureDateNote schedule={erasure} />
          </>
        )}
      </section>
      {e.organizer_contact ? (
        <footer>
          <small>Questions? Contact the organizer: {e.organizer_contact}</small>
        </footer>
      ) : null}
    </article>
  );
}

export function PasscodePage({ e, action, message, label = 'Event passcode', csrf }: { e: Pick<EventRow, 'title'>; action: string; message?: string | undefined; label?: string; csrf?: string | undefined }) {
  return (
    <article>
      <h1>{e.title}</h1>
      <p>This event is private. Enter the {label.toLowerCase()} you received to see it and register.</p>
      {message ? <Flash kind="error">{message}</Flash> : null}
      <form method="post" action={action}>
        <FormToken csrf={csrf} />
        <label for="f-passcode">
          {label}
          <input id="f-passcode" name="passcode" type="password" required maxlength={200} autocomplete="off" autofocus />
        </label>
        <button type="submit">Continue</button>
      </form>
    </article>
  );
}

export function OrgPublicPage({ name, events }: { name: string; events: EventRow[] }) {
  return (
    <article>
      <h1>{name}</h1>
      {events.length === 0 ? (
        <p>No public events right now.</p>
      ) : (
        <ul>
          {events.map((e) => (
            <li>
              <a href={`/e/${e.slug}`}>{e.title}</a> — {when(e)}
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

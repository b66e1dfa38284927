/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow, FieldRow } from '../../src/events/repo.ts';
import type { FieldErrors } from '../../src/http/forms.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { RegistrationRow } from '../../src/registrations/repo.ts';
import { Flash, FlashBox, type FlashMsg } from '../components/flash.tsx';
import { ActionButton, Csrf } from '../components/form.tsx';
import { AnswerInput, formValuesOf } from './answers.tsx';
import { eventBase, parseAnswersJson, shown } from './shared.tsx';
import { At } from '../components/time.tsx';

export interface DetailProps {
  csrf: string;
  org: OrgRow;
  event: EventRow;
  fields: FieldRow[];
  reg: RegistrationRow;
  reveal: boolean;
  canWrite: boolean;
  flash?: FlashMsg | undefined;
  errors?: FieldErrors | undefined;
  values?: Record<string, string | string[]> | undefined;
}

export function AttendeeDetailPage(p: DetailProps) {
  const base = eventBase(p.org, p.event);
  const self = `${base}/attendees/${p.reg.id}`;
  const answers = parseAnswersJson(p.reg);
  const r = p.reg;
  const hasSensitive = p.fields.some((f) => f.sensitive && !f.builtin);
  const values = p.values ?? formValuesOf(p.fields, r);
  const errors = p.errors ?? {};
  const unknown = Object.entries(errors).filter(([k]) => !p.fields.some((f) => f.key === k));
  return (
    <>
      <h1>{r.name || r.email}</h1>
      <p>
        <a href={`${base}/attendees`}>← All attendees</a>
      </p>
      <FlashBox flash={p.flash} />
      <article>
        <dl class="attendee-facts">
          <dt>Attendee code</dt>
          <dd>
            <code>{r.attendee_code}</code>
          </dd>
          <dt>Status</dt>
          <dd data-testid="status">{r.status}</dd>
          <dt>Registered</dt>
          <dd>
            <At t={r.created_at} tz={p.event.timezone} />
          </dd>
          {r.confirmed_at ? (
            <>
              <dt>Confirmed</dt>
              <dd>
                <At t={r.confirmed_at} tz={p.event.timezone} />
              </dd>
            </>
          ) : null}
          {r.cancelled_at ? (
            <>
              <dt>Cancelled</dt>
              <dd>
                <At t={r.cancelled_at} tz={p.event.timezone} />
              </dd>
            </>
          ) : null}
          <dt>Checked in</dt>
          <dd>
            <At t={r.checked_in_at} tz={p.event.timezone} empty="no" />
          </dd>
        </dl>
        <h2>Answers</h2>
        <table>
          <tbody>
            {p.fields.map((f) => (
              <tr data-field={f.key}>
                <th scope="row">
                  {f.label}
                  {f.sensitive ? <small> (sensitive)</small> : null}
                </th>
                <td class={f.sensitive && !p.reveal ? 'masked' : undefined}>{shown(f, r, answers, p.reveal)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {hasSensitive && !p.reveal ? (
          <p>
            <a href={`${self}?reveal=1`} role="button" class="secondary">
              Reveal sensitive answers
            </a>{' '}
            <small>Revealing is recorded in the audit log.</small>
          </p>
        ) : null}
        {p.reveal ? (
          <p>
            <small>Sensitive answers are shown; this was recorded in the audit log.</small> <a href={self}>Hide them</a>
          </p>
        ) : null}
      </article>
      {p.canWrite ? (
        <>
          <article>
            <h2>Edit answers</h2>
            {unknown.length > 0 ? <Flash kind="error">{unknown.map(([k, m]) => `${k}: ${m}`).join(' ')}</Flash> : null}
            <form method="post" action={p.reveal ? `${self}?reveal=1` : self}>
              <Csrf token={p.csrf} />
              {p.reveal ? null : <input type="hidden" name="_keep_sensitive" value="1" />}
              {p.fields.map((f) => (
                <AnswerInput f={f} value={values[f.key]} error={errors[f.key]} masked={!!f.sensitive && !p.reveal && !f.builtin} />
              ))}
              <button type="submit">Save changes</button>
            </form>
          </article>
          <article>
            <h2>Actions</h2>
            <ActionButton action={`${self}/resend`} label={r.status === 'confirmed' ? 'Resend ticket email' : 'Resend status email'} csrf={p.csrf} />
            {r.status !== 'cancelled' ? <ActionButton action={`${self}/cancel`} label="Cancel registration" csrf={p.csrf} variant="contrast" confirm={`Cancel the registration of ${r.name || r.email}? They receive an email.`} /> : null}
          </article>
        </>
      ) : null}
    </>
  );
}

// ---- bulk message ---------------------------------------------------------------------------------

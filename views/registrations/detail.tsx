/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { EventRow, FieldRow } from '../../src/events/repo.ts';
import type { FieldErrors } from '../../src/http/forms.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { RegistrationRow } from '../../src/registrations/repo.ts';
import { Flash, FlashBox, type FlashMsg } from '../components/flash.tsx';
import { ActionButton, Csrf } from '../components/form.tsx';
import { AnswerInput, formValuesOf } from './answers.tsx';
import { answerText } from '../../src/events/fields.ts';
import { revealReasons } from '../../src/registrations/attendees.ts';
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
  /** "who accessed this attendee's data" (views/audit/accesses.tsx), for roles that read the audit log */
  accesses?: Child;
  /** the legal-hold section (privacy capability) */
  holds?: Child;
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
  const consents = p.fields.filter((f) => f.type === 'consent');
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
          <form method="post" action={`${self}/reveal`} class="reveal-form">
            <Csrf token={p.csrf} />
            <label for="reveal-reason">
              Why do you need to see the sensitive answers?
              <select id="reveal-reason" name="reason" required>
                <option value="">Choose a reason…</option>
                {Object.entries(revealReasons)
                  .filter(([k]) => k !== 'editing')
                  .map(([k, label]) => (
                    <option value={k}>{label}</option>
                  ))}
              </select>
            </label>
            <button type="submit" class="secondary">
              Reveal sensitive answers
            </button>{' '}
            <small>Revealing is recorded in the audit log with your reason, and the attendee can see that staff read their record.</small>
          </form>
        ) : null}
        {p.reveal ? (
          <p>
            <small>Sensitive answers are shown; this was recorded in the audit log.</small> <a href={self}>Hide them</a>
          </p>
        ) : null}
      </article>
      {consents.length > 0 ? (
        <article>
          <h2>Consent</h2>
          <p>
            <small>Consent is the attendee's alone: staff cannot give it. If the attendee asks you to withdraw a consent, do it here; the record says that staff did it at their request, who and when.</small>
          </p>
          <ul>
            {consents.map((f) => {
              const v = answers[f.key];
              const given = typeof v === 'object' && !Array.isArray(v) && v.accepted;
              return (
                <li data-consent={f.key}>
                  {f.label}: {v === undefined ? 'not given' : answerText(v)}
                  {given && p.canWrite ? <ActionButton action={`${self}/withdraw-consent`} hidden={{ field: f.key }} label="Withdraw at the attendee's request" csrf={p.csrf} confirm="Withdraw this consent? Only do this when the attendee asked for it." /> : null}
                </li>
              );
            })}
          </ul>
        </article>
      ) : null}
      {p.canWrite ? (
        <>
          <article>
            <h2>Edit answers</h2>
            {unknown.length > 0 ? <Flash kind="error">{unknown.map(([k, m]) => `${k}: ${m}`).join(' ')}</Flash> : null}
            <form method="post" action={self}>
              <Csrf token={p.csrf} />
              {p.reveal ? <input type="hidden" name="_revealed" value="1" /> : <input type="hidden" name="_keep_sensitive" value="1" />}
              {p.fields.filter((f) => f.type !== 'consent').map((f) => (
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
      {p.accesses ?? null}
      {p.holds ?? null}
    </>
  );
}

// ---- bulk message ---------------------------------------------------------------------------------

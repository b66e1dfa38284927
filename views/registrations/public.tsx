/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type AnswerValue, type Answers, answerText } from '../../src/events/fields.ts';
import type { EventRow, FieldRow } from '../../src/events/repo.ts';
import { eventWhen as when } from '../../src/events/when.ts';
import type { RegistrationRow } from '../../src/registrations/repo.ts';
import { Flash } from '../components/flash.tsx';
import { FormToken, RegistrationForm, type Values } from '../events/public.tsx';

export function TicketBlock({ reg, qrSrc }: { reg: RegistrationRow; qrSrc: string }) {
  return (
    <section aria-labelledby="ticket-heading">
      <h2 id="ticket-heading">Your ticket</h2>
      <p>
        Attendee code: <strong data-testid="attendee-code">{reg.attendee_code}</strong>
      </p>
      <div class="qr">
        <img src={qrSrc} alt={`Ticket QR code for attendee code ${reg.attendee_code}`} width="220" height="220" />
      </div>
      <p>Show this QR code, or tell your attendee code, at the entrance.</p>
    </section>
  );
}

const statusText: Record<RegistrationRow['status'], string> = {
  confirmed: 'Your seat is confirmed.',
  waitlisted: 'You are on the waiting list. If a seat frees up you get it automatically and we email you your ticket.',
  pending: 'Please confirm your registration with the link we emailed you. Your seat is held only once you confirm.',
  cancelled: 'This registration is cancelled.',
};

export function ConfirmationPage({ e, reg, qrSrc, manageUrl }: { e: EventRow; reg: RegistrationRow; qrSrc: string | null; manageUrl: string }) {
  return (
    <article>
      <h1>{reg.status === 'confirmed' ? 'You are registered' : reg.status === 'waitlisted' ? 'You are on the waiting list' : 'Almost done'}</h1>
      <p>
        <strong>{e.title}</strong> — {when(e)}
      </p>
      <Flash kind="ok">{statusText[reg.status]} We also sent this to {reg.email}.</Flash>
      {qrSrc ? <TicketBlock reg={reg} qrSrc={qrSrc} /> : null}
      <p>
        <a href={`/e/${e.slug}/event.ics`}>Add to calendar (.ics)</a>
      </p>
      <p>
        Your personal link to see, change or cancel this registration (keep it private):
        <br />
        <a href={manageUrl} data-testid="manage-link">
          Manage my registration
        </a>
      </p>
    </article>
  );
}

/**
 * What every registration answers when tickets are not shown on the page: the same for a new
 * address and one already registered, whatever the registration's status.
 */
export function SentPage({ e }: { e: EventRow }) {
  return (
    <article>
      <h1>Thank you</h1>
      <p>
        <strong>{e.title}</strong> — {when(e)}
      </p>
      <Flash kind="ok">Thanks — we have sent your ticket to this address. If the event asks you to confirm, or you are on the waiting list, the email says so.</Flash>
      <p>Your attendee code and your personal link to see, change or cancel the registration are in that email. If nothing arrives within a few minutes, look in your spam folder.</p>
      <p>
        <a href={`/e/${e.slug}/event.ics`}>Add to calendar (.ics)</a>
      </p>
    </article>
  );
}

export function ManagePage({ e, reg, fields, qr, action, values, errors, message, notice, csrf }: { e: EventRow; reg: RegistrationRow; fields: FieldRow[]; qr: string | null; action: string; values: Values; errors?: Record<string, string>; message?: string | undefined; notice?: string | undefined; csrf?: string | undefined }) {
  const editable = fields.filter((f) => f.builtin !== 'email');
  const answers = JSON.parse(reg.answers) as Answers;
  return (
    <article>
      <h1>Your registration</h1>
      <p>
        <strong>{e.title}</strong> — {when(e)}
      </p>
      {notice ? <Flash kind="ok">{notice}</Flash> : null}
      <p>{statusText[reg.status]}</p>
      {qr && reg.status === 'confirmed' ? <TicketBlock reg={reg} qrSrc={qr} /> : null}
      <section aria-labelledby="data-heading">
        <h2 id="data-heading">Your data</h2>
        <dl>
          <dt>Email address</dt>
          <dd>{reg.email}</dd>
          {fields
            .filter((f) => !f.builtin)
            .map((f) => (
              <>
                <dt>{f.label}</dt>
                <dd>{answerText(answers[f.key] as AnswerValue | undefined) || '—'}</dd>
              </>
            ))}
        </dl>
        <p>
          <a href={`${action}/privacy`}>Your data and privacy: download it, see who has read it, or ask for a correction or erasure</a>
        </p>
      </section>
      {reg.status !== 'cancelled' ? (
        <>
          <details open={!!message}>
            <summary>Change my answers</summary>
            <RegistrationForm e={e} fields={editable} action={action} values={values} errors={errors} message={message} submit="Save changes" csrf={csrf} />
          </details>
          <form method="post" action={`${action}/cancel`} class="inline-action" data-confirm="Cancel your registration? Your seat goes to the next person.">
            <FormToken csrf={csrf} />
            <button type="submit" class="contrast">
              Cancel my registration
            </button>
          </form>
        </>
      ) : null}
    </article>
  );
}

export function ConfirmEmailPage({ e, action, csrf }: { e: EventRow; action: string; csrf?: string | undefined }) {
  return (
    <article>
      <h1>Confirm your registration</h1>
      <p>
        Confirm your registration for <strong>{e.title}</strong>.
      </p>
      <form method="post" action={action}>
        <FormToken csrf={csrf} />
        <button type="submit">Confirm my registration</button>
      </form>
    </article>
  );
}

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { EventRow } from '../../src/events/repo.ts';
import type { FieldErrors } from '../../src/http/forms.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { FlashBox, type FlashMsg } from '../components/flash.tsx';
import { Csrf, FieldError } from '../components/form.tsx';
import { type ListState, eventBase, listQuery } from './shared.tsx';

export function MessagePage(p: {
  csrf: string;
  org: OrgRow;
  event: EventRow;
  state: ListState;
  filterSummary: string;
  recipients: number;
  flash?: FlashMsg | undefined;
  errors?: FieldErrors | undefined;
  values?: Record<string, string> | undefined;
}) {
  const base = eventBase(p.org, p.event);
  const errors = p.errors ?? {};
  const values = p.values ?? {};
  const s = p.state;
  return (
    <>
      <h1>Message attendees of {p.event.title}</h1>
      <p>
        <a href={`${base}/attendees${listQuery(s)}`}>← Back to the list</a>
      </p>
      <FlashBox flash={p.flash} />
      <p data-testid="recipients">
        Recipients: <strong>{p.recipients}</strong> attendee{p.recipients === 1 ? '' : 's'} ({p.filterSummary}). Cancelled registrations are left out unless you filtered on them.
      </p>
      <form method="post" action={`${base}/attendees/message`}>
        <Csrf token={p.csrf} />
        <input type="hidden" name="q" value={s.q} />
        <input type="hidden" name="status" value={s.status} />
        <input type="hidden" name="checked" value={s.checked} />
        <input type="hidden" name="answer" value={s.answer} />
        <label for="m-subject">
          Subject
          <input id="m-subject" name="subject" value={values.subject} required maxlength={200} aria-invalid={errors.subject ? 'true' : undefined} aria-describedby={errors.subject ? 'm-subject-error' : undefined} />
          <FieldError id="m-subject" error={errors.subject} />
        </label>
        <label for="m-body">
          Message
          <textarea id="m-body" name="body" rows={8} required maxlength={5000} aria-invalid={errors.body ? 'true' : undefined} aria-describedby={errors.body ? 'm-body-error m-body-help' : 'm-body-help'}>
            {values.body ?? ''}
          </textarea>
          <small id="m-body-help">Plain text. Each attendee also gets their personal link to manage the registration. One message per event per minute.</small>
          <FieldError id="m-body" error={errors.body} />
        </label>
        <button type="submit" disabled={p.recipients === 0}>
          Send to {p.recipients} attendee{p.recipients === 1 ? '' : 's'}
        </button>
      </form>
    </>
  );
}

// ---- check-in -------------------------------------------------------------------------------------

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type AnswerValue, type Answers, answerText, fieldOptions } from '../src/events/fields.ts';
import type { EventRow, FieldRow, RegistrationRow, RegistrationStatus } from '../src/events/repo.ts';
import type { FieldErrors } from '../src/http/forms.ts';
import { staticUrl } from '../src/http/static.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { ActionButton, Csrf, FieldError, Flash, FlashBox } from './components.tsx';
import { type FlashMsg, when } from './orgs.tsx';

/** What sensitive answers look like wherever their value must not appear. */
export const MASK = '•••';

export const statuses: readonly RegistrationStatus[] = ['confirmed', 'waitlisted', 'pending', 'cancelled'];

/** The attendee list's filter as it travels in the query string (and in hidden fields). */
export interface ListState {
  q: string;
  status: '' | RegistrationStatus;
  checked: '' | 'yes' | 'no';
  /** `fieldKey:value`, for select and checkbox fields. */
  answer: string;
}

export interface Counts {
  confirmed: number;
  waitlisted: number;
  pending: number;
  cancelled: number;
  checkedIn: number;
  capacity: number | null;
}

export interface AnswerFilterGroup {
  label: string;
  options: { value: string; label: string }[];
}

/** Query string for the list (page 1 is implied); empty values are left out to keep URLs short. */
export function listQuery(s: ListState, page = 1): string {
  const p = new URLSearchParams();
  if (s.q) p.set('q', s.q);
  if (s.status) p.set('status', s.status);
  if (s.checked) p.set('checked', s.checked);
  if (s.answer) p.set('answer', s.answer);
  if (page > 1) p.set('page', String(page));
  const out = p.toString();
  return out ? `?${out}` : '';
}

export const eventBase = (org: OrgRow, e: EventRow) => `/orgs/${org.slug}/events/${e.id}`;


function EventNav({ org, event, canList, current }: { org: OrgRow; event: EventRow; canList: boolean; current: 'attendees' | 'checkin' | 'detail' | 'message' }) {
  const base = eventBase(org, event);
  return (
    <nav aria-label={`${event.title} pages`}>
      <ul>
        <li>
          <a href={base}>{event.title}</a>
        </li>
        {canList ? (
          <li>
            <a href={`${base}/attendees`} aria-current={current === 'attendees' ? 'page' : undefined}>
              Attendees
            </a>
          </li>
        ) : null}
        <li>
          <a href={`${base}/checkin`} aria-current={current === 'checkin' ? 'page' : undefined}>
            Check-in
          </a>
        </li>
      </ul>
    </nav>
  );
}

function CountsLine({ counts }: { counts: Counts }) {
  return (
    <p class="attendee-counts" data-testid="counts">
      <strong>{counts.confirmed}</strong> confirmed{counts.capacity !== null ? ` of ${counts.capacity} seats` : ''} · <strong>{counts.waitlisted}</strong> waitlisted · <strong>{counts.pending}</strong> awaiting
      email confirmation · <strong>{counts.cancelled}</strong> cancelled · <strong>{counts.checkedIn}</strong> checked in
    </p>
  );
}

/** Answer as shown to staff: sensitive fields masked unless the page was explicitly revealed. */
function shown(f: FieldRow, reg: RegistrationRow, answers: Answers, reveal: boolean): string {
  if (f.builtin === 'email') return reg.email;
  if (f.builtin === 'name') return reg.name;
  if (f.sensitive && !reveal) return MASK;
  return answerText(answers[f.key]);
}

function parseAnswersJson(reg: RegistrationRow): Answers {
  try {
    return JSON.parse(reg.answers) as Answers;
  } catch {
    return {};
  }
}

// ---- list -----------------------------------------------------------------------------------------

export interface ResultsProps {
  org: OrgRow;
  event: EventRow;
  fields: FieldRow[];
  rows: RegistrationRow[];
  total: number;
  page: number;
  pageSize: number;
  state: ListState;
  canWrite: boolean;
}

/** The part of the list page that htmx replaces when the filter or page changes. */
export function AttendeeResults(p: ResultsProps) {
  const base = eventBase(p.org, p.event);
  const listUrl = `${base}/attendees`;
  const pages = Math.max(1, Math.ceil(p.total / p.pageSize));
  const extra = p.fields.filter((f) => !f.builtin);
  const hasName = p.fields.some((f) => f.builtin === 'name');
  const first = p.total === 0 ? 0 : (p.page - 1) * p.pageSize + 1;
  const last = Math.min(p.total, p.page * p.pageSize);
  const pageLink = (n: number, label: string, rel: string) => (
    <a href={`${listUrl}${listQuery(p.state, n)}`} hx-get={`${listUrl}${listQuery(p.state, n)}`} hx-target="#attendee-results" hx-swap="innerHTML" hx-push-url="true" rel={rel}>
      {label}
    </a>
  );
  return (
    <>
      <p data-testid="result-summary">
        {p.total === 0 ? 'No attendee matches.' : `Showing ${first}–${last} of ${p.total} matching attendee${p.total === 1 ? '' : 's'}.`}
        {p.canWrite && p.total > 0 ? (
          <>
            {' '}
            <a href={`${base}/attendees/message${listQuery(p.state)}`}>Message these attendees</a>
          </>
        ) : null}
      </p>
      {p.rows.length > 0 ? (
        <div class="overflow-auto">
          <table class="striped attendee-table">
            <thead>
              <tr>
                {hasName ? <th scope="col">Name</th> : null}
                <th scope="col">Email</th>
                <th scope="col">Code</th>
                <th scope="col">Status</th>
                <th scope="col">Checked in</th>
                {extra.map((f) => (
                  <th scope="col">
                    {f.label}
                    {f.sensitive ? <small> (sensitive)</small> : null}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {p.rows.map((r) => {
                const answers = parseAnswersJson(r);
                const link = <a href={`${base}/attendees/${r.id}`}>{r.name || r.attendee_code}</a>;
                return (
                  <tr data-reg={r.id}>
                    {hasName ? <td>{link}</td> : null}
                    <td>{hasName ? r.email : <a href={`${base}/attendees/${r.id}`}>{r.email}</a>}</td>
                    <td>
                      <code>{r.attendee_code}</code>
                    </td>
                    <td>{r.status}</td>
                    <td>{r.checked_in_at ? when(r.checked_in_at) : 'no'}</td>
                    {extra.map((f) => (
                      <td class={f.sensitive ? 'masked' : undefined}>{shown(f, r, answers, false)}</td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {pages > 1 ? (
        <nav aria-label="Pages" class="pager">
          <ul>
            <li>{p.page > 1 ? pageLink(p.page - 1, '← Previous', 'prev') : null}</li>
            <li>
              Page {p.page} of {pages}
            </li>
            <li>{p.page < pages ? pageLink(p.page + 1, 'Next →', 'next') : null}</li>
          </ul>
        </nav>
      ) : null}
    </>
  );
}

export interface ListPageProps extends ResultsProps {
  csrf: string;
  counts: Counts;
  answerFilters: AnswerFilterGroup[];
  canExport: boolean;
  flash?: FlashMsg | undefined;
}

export function AttendeesPage(p: ListPageProps) {
  const base = eventBase(p.org, p.event);
  const listUrl = `${base}/attendees`;
  const s = p.state;
  return (
    <>
      <h1>Attendees of {p.event.title}</h1>
      <EventNav org={p.org} event={p.event} canList current="attendees" />
      <FlashBox flash={p.flash} />
      <CountsLine counts={p.counts} />
      <form method="get" action={listUrl} hx-get={listUrl} hx-target="#attendee-results" hx-swap="innerHTML" hx-push-url="true" hx-trigger="submit, input changed delay:300ms" class="attendee-filter">
        <label for="f-q">
          Search
          <input id="f-q" type="search" name="q" value={s.q} maxlength={100} placeholder="Name, email or attendee code" />
        </label>
        <div class="grid">
          <label for="f-status">
            Status
            <select id="f-status" name="status">
              <option value="" selected={s.status === ''}>
                Any
              </option>
              {statuses.map((st) => (
                <option value={st} selected={s.status === st}>
                  {st}
                </option>
              ))}
            </select>
          </label>
          <label for="f-checked">
            Checked in
            <select id="f-checked" name="checked">
              <option value="" selected={s.checked === ''}>
                Any
              </option>
              <option value="yes" selected={s.checked === 'yes'}>
                Checked in
              </option>
              <option value="no" selected={s.checked === 'no'}>
                Not checked in
              </option>
            </select>
          </label>
          {p.answerFilters.length > 0 ? (
            <label for="f-answer">
              Answer
              <select id="f-answer" name="answer">
                <option value="" selected={s.answer === ''}>
                  Any
                </option>
                {p.answerFilters.map((g) => (
                  <optgroup label={g.label}>
                    {g.options.map((o) => (
                      <option value={o.value} selected={s.answer === o.value}>
                        {o.label}
                      </option>
                    ))}
                  </optgroup>
                ))}
              </select>
            </label>
          ) : null}
        </div>
        <button type="submit">Apply</button>
      </form>
      <div id="attendee-results" aria-live="polite">
        <AttendeeResults {...p} />
      </div>
      {p.canExport ? <ExportForm org={p.org} event={p.event} fields={p.fields} /> : null}
    </>
  );
}

function ExportForm({ org, event, fields }: { org: OrgRow; event: EventRow; fields: FieldRow[] }) {
  const base = `${eventBase(org, event)}/attendees`;
  return (
    <article>
      <h2>Export</h2>
      <form method="get" action={`${base}/export.csv`}>
        <input type="hidden" name="choose" value="1" />
        <fieldset>
          <legend>Fields to include (attendee code, status and dates are always included)</legend>
          {fields.map((f) => (
            <label for={`x-${f.key}`}>
              <input id={`x-${f.key}`} type="checkbox" name="fields" value={f.key} checked={!f.sensitive} />
              {f.label}
              {f.sensitive ? ' (sensitive: exported only when ticked, and the export is recorded as including it)' : null}
            </label>
          ))}
        </fieldset>
        <label for="x-status">
          Status
          <select id="x-status" name="status">
            <option value="">All</option>
            {statuses.map((st) => (
              <option value={st}>{st}</option>
            ))}
          </select>
        </label>
        <small>Every export is recorded in the audit log. Files may hold personal data: store them safely and delete them when done.</small>
        <div class="grid">
          <button type="submit">Download CSV</button>
          <button type="submit" class="secondary" formaction={`${base}/export.json`}>
            Download JSON
          </button>
        </div>
      </form>
    </article>
  );
}

// ---- detail ---------------------------------------------------------------------------------------

/** Raw form values for a stored registration, so the edit form starts from what is stored. */
export function formValuesOf(fields: FieldRow[], reg: RegistrationRow): Record<string, string | string[]> {
  const answers = parseAnswersJson(reg);
  const out: Record<string, string | string[]> = {};
  for (const f of fields) {
    if (f.builtin === 'email') out[f.key] = reg.email;
    else if (f.builtin === 'name') out[f.key] = reg.name;
    else {
      const v = formValue(answers[f.key]);
      if (v !== undefined) out[f.key] = v;
    }
  }
  return out;
}

function formValue(v: AnswerValue | undefined): string | string[] | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return 'on';
  if (Array.isArray(v)) return v;
  if (typeof v === 'object') return v.accepted ? 'on' : undefined;
  return String(v);
}

const inputTypes: Partial<Record<FieldRow['type'], string>> = { email: 'email', phone: 'tel', number: 'text', date: 'date', short_text: 'text' };

function AnswerInput({ f, value, error, masked }: { f: FieldRow; value: string | string[] | undefined; error?: string | undefined; masked: boolean }) {
  const id = `a-${f.key}`;
  const describedBy = error ? `${id}-error` : undefined;
  const err = <FieldError id={id} error={error} />;
  const label = (
    <>
      {f.label}
      {f.required ? ' *' : ''}
      {f.sensitive ? <small> (sensitive)</small> : null}
    </>
  );
  if (masked) {
    return (
      <div class="masked-field">
        <p>
          {label}: <span class="masked">{MASK}</span> <small>Reveal sensitive answers to change this field.</small>
        </p>
        {err}
      </div>
    );
  }
  const single = Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
  const many = Array.isArray(value) ? value : value ? [value] : [];
  switch (f.type) {
    case 'long_text':
      return (
        <label for={id}>
          {label}
          <textarea id={id} name={f.key} rows={3} maxlength={5000} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy}>
            {single}
          </textarea>
          {err}
        </label>
      );
    case 'single_select':
      return (
        <label for={id}>
          {label}
          <select id={id} name={f.key} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy}>
            <option value="">—</option>
            {fieldOptions(f).map((o) => (
              <option value={o} selected={o === single}>
                {o}
              </option>
            ))}
          </select>
          {err}
        </label>
      );
    case 'multi_select':
      return (
        <fieldset aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy}>
          <legend>{label}</legend>
          {fieldOptions(f).map((o, i) => (
            <label for={`${id}-${i}`}>
              <input id={`${id}-${i}`} type="checkbox" name={f.key} value={o} checked={many.includes(o)} />
              {o}
            </label>
          ))}
          {err}
        </fieldset>
      );
    case 'checkbox':
    case 'consent':
      return (
        <label for={id}>
          <input id={id} type="checkbox" name={f.key} value="on" checked={single === 'on'} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy} />
          {label}
          {f.type === 'consent' && f.consent_text ? <small> {f.consent_text}</small> : null}
          {err}
        </label>
      );
    default:
      return (
        <label for={id}>
          {label}
          <input id={id} type={inputTypes[f.type] ?? 'text'} name={f.key} value={single} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy} inputmode={f.type === 'number' ? 'decimal' : undefined} />
          {err}
        </label>
      );
  }
}

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
      <EventNav org={p.org} event={p.event} canList current="detail" />
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
          <dd>{when(r.created_at)}</dd>
          {r.confirmed_at ? (
            <>
              <dt>Confirmed</dt>
              <dd>{when(r.confirmed_at)}</dd>
            </>
          ) : null}
          {r.cancelled_at ? (
            <>
              <dt>Cancelled</dt>
              <dd>{when(r.cancelled_at)}</dd>
            </>
          ) : null}
          <dt>Checked in</dt>
          <dd>{r.checked_in_at ? when(r.checked_in_at) : 'no'}</dd>
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
      <EventNav org={p.org} event={p.event} canList current="message" />
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

/** What the check-in desk sees of a registration: no email, no answers. */
export interface CheckinCardData {
  id: string;
  name: string;
  code: string;
  status: RegistrationStatus;
  checkedInAt: string | null;
}

export const checkinCard = (r: RegistrationRow): CheckinCardData => ({ id: r.id, name: r.name, code: r.attendee_code, status: r.status, checkedInAt: r.checked_in_at });

export function CheckinCard({ org, event, card, csrf, q, message }: { org: OrgRow; event: EventRow; card: CheckinCardData; csrf: string; q: string; message?: FlashMsg | undefined }) {
  const base = `${eventBase(org, event)}/checkin/${card.id}`;
  const id = `reg-${card.id}`;
  const button = (action: string, label: string, variant?: string) => (
    <form method="post" action={action} hx-post={action} hx-target={`#${id}`} hx-swap="outerHTML" class="checkin-action">
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
        Status: <strong>{card.status}</strong> · {card.checkedInAt ? <strong>Checked in {when(card.checkedInAt)}</strong> : 'Not checked in'}
      </p>
      {message ? <Flash kind={message.kind}>{message.text}</Flash> : null}
      {card.checkedInAt ? button(`${base}/undo`, 'Undo check-in', 'secondary') : card.status === 'confirmed' ? button(base, 'Check in') : <p>Only confirmed registrations can be checked in.</p>}
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
      <EventNav org={p.org} event={p.event} canList={p.canList} current="checkin" />
      <p id="checkin-counts" class="checkin-counts" aria-live="polite" hx-get={`${base}/counts`} hx-trigger="every 10s" hx-swap="innerHTML">
        <CheckinCounts {...p.counts} />
      </p>
      <form id="checkin-search" method="get" action={base} hx-get={`${base}/lookup`} hx-target="#checkin-results" hx-swap="innerHTML">
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

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { raw } from 'hono/html';
import { fieldOptions, fieldTypes } from '../src/events/fields.ts';
import type { EventRow, EventStatus, FieldRow, FieldType, ShareLinkRow } from '../src/events/repo.ts';
import type { FieldErrors } from '../src/http/forms.ts';
import { type OrgRole, roleHas } from '../src/orgs/permissions.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { ActionButton, Csrf, Field, FieldError, Flash, FlashBox } from './components.tsx';
import type { FlashMsg } from './components.tsx';
import { OrgNav } from './orgs.tsx';
import { RegistrationForm } from './public.tsx';

type FormState = { errors?: FieldErrors | undefined; values?: Record<string, string> | undefined };
export type EventCounts = { confirmed: number; waitlisted: number; pending: number; cancelled: number; checkedIn: number };

/** A stored instant as the event's wall clock, to the minute: what organizers typed in. */
export function localWhen(iso: string | null, tz: string): string {
  if (!iso) return '–';
  const f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
  return `${f.format(new Date(iso)).replace(',', '')} (${tz})`;
}

const statusLabels: Record<EventStatus, string> = { draft: 'Draft', published: 'Published', closed: 'Registration closed', archived: 'Archived' };
const accessLabels: Record<EventRow['access_mode'], string> = { public: 'Public (listed on the organization page)', unlisted: 'Unlisted (only people with the link)', passcode: 'Passcode required' };



const describedBy = (id: string, help: boolean, error: string | undefined) => [help ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;

function TextArea(p: { name: string; label: string; value?: string | undefined; error?: string | undefined; help?: string; rows?: number; maxlength?: number; required?: boolean; extra?: Record<string, string> }) {
  const id = `f-${p.name}`;
  return (
    <label for={id}>
      {p.label}
      <textarea id={id} name={p.name} rows={p.rows ?? 4} maxlength={p.maxlength} required={p.required} aria-invalid={p.error ? 'true' : undefined} aria-describedby={describedBy(id, !!p.help, p.error)} {...(p.extra ?? {})}>
        {p.value ?? ''}
      </textarea>
      {p.help ? <small id={`${id}-help`}>{p.help}</small> : null}
      <FieldError id={id} error={p.error} />
    </label>
  );
}

function Select(p: { name: string; label: string; options: readonly (readonly [string, string])[]; selected?: string | undefined; error?: string | undefined; help?: string }) {
  const id = `f-${p.name}`;
  // The select sits outside its label so the chosen option does not become part of the label's name.
  return (
    <>
      <label for={id}>{p.label}</label>
      <select id={id} name={p.name} aria-invalid={p.error ? 'true' : undefined} aria-describedby={describedBy(id, !!p.help, p.error)}>
        {p.options.map(([v, text]) => (
          <option value={v} selected={v === p.selected}>
            {text}
          </option>
        ))}
      </select>
      {p.help ? <small id={`${id}-help`}>{p.help}</small> : null}
      <FieldError id={id} error={p.error} />
    </>
  );
}

function Check(p: { name: string; label: string; checked: boolean; help?: string; error?: string | undefined; disabled?: boolean }) {
  const id = `f-${p.name}`;
  return (
    <label for={id}>
      <input id={id} type="checkbox" name={p.name} value="on" checked={p.checked} disabled={p.disabled} aria-describedby={describedBy(id, !!p.help, p.error)} />
      {/* A span between the box and the help keeps Pico's "input + small" pull-up rule off the help. */}
      <span>{p.label}</span>
      {p.help ? (
        <>
          <br />
          <small id={`${id}-help`}>{p.help}</small>
        </>
      ) : null}
      {p.error ? <br /> : null}
      <FieldError id={id} error={p.error} />
    </label>
  );
}

/** The pages of one event; attendees and check-in only for roles that may open them. */
export function EventNav({ org, role, e }: { org: OrgRow; role: OrgRole; e: Pick<EventRow, 'id' | 'title'> }) {
  const base = `/orgs/${org.slug}/events/${e.id}`;
  const pages: { path: string; label: string; show: boolean }[] = [
    { path: '', label: 'Overview', show: true },
    { path: '/edit', label: 'Edit details', show: roleHas(role, 'events.write') },
    { path: '/form', label: 'Registration form', show: true },
    { path: '/share-links', label: 'Share links', show: roleHas(role, 'events.write') },
    { path: '/attendees', label: 'Attendees', show: roleHas(role, 'attendees.read') },
    { path: '/checkin', label: 'Check-in', show: roleHas(role, 'checkin.perform') },
  ];
  return (
    <nav aria-label={`Pages of ${e.title}`}>
      <ul>
        <li>
          <a href={`/orgs/${org.slug}/events`}>All events</a>
        </li>
        {pages
          .filter((p) => p.show)
          .map((p) => (
            <li>
              <a href={`${base}${p.path}`}>{p.label}</a>
            </li>
          ))}
      </ul>
    </nav>
  );
}

// ---- list ------------------------------------------------------------------------------------------

export function EventsListPage(p: { org: OrgRow; role: OrgRole; rows: { e: EventRow; counts: EventCounts }[]; canCreate: boolean; scoped: boolean; flash?: FlashMsg | undefined }) {
  const base = `/orgs/${p.org.slug}/events`;
  return (
    <>
      <h1>Events of {p.org.name}</h1>
      <OrgNav org={p.org} role={p.role} />
      <FlashBox flash={p.flash} />
      {p.scoped ? <p>Your access is limited to chosen events: only those are listed.</p> : null}
      {p.canCreate ? (
        <p>
          <a role="button" href={`${base}/new`}>
            New event
          </a>
        </p>
      ) : null}
      {p.rows.length === 0 ? (
        <p>No events yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Starts</th>
              <th scope="col">Confirmed / capacity</th>
              <th scope="col">Waiting list</th>
            </tr>
          </thead>
          <tbody>
            {p.rows.map(({ e, counts }) => (
              <tr data-event={e.id}>
                <td>
                  <a href={`${base}/${e.id}`}>{e.title}</a>
                  <br />
                  <small>/e/{e.slug}</small>
                </td>
                <td data-testid="status">{statusLabels[e.status]}</td>
                <td>{localWhen(e.starts_at, e.timezone)}</td>
                <td data-testid="seats">
                  {counts.confirmed} / {e.capacity ?? 'unlimited'}
                </td>
                <td>{e.waitlist_enabled ? counts.waitlisted : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

// ---- create / edit ---------------------------------------------------------------------------------

export function DescriptionPreview({ html }: { html: string }) {
  return (
    <div id="description-preview" class="description-preview" aria-live="polite">
      {html ? raw(html) : <p>(Nothing to preview yet.)</p>}
    </div>
  );
}

export function EventFormPage(p: {
  csrf: string;
  org: OrgRow;
  role: OrgRole;
  e?: EventRow | undefined;
  action: string;
  previewUrl: string;
  previewHtml: string;
  timeZones: readonly string[];
  flash?: FlashMsg | undefined;
} & FormState) {
  const { errors = {}, values = {} } = p;
  const tz = values.timezone ?? 'UTC';
  const zones = p.timeZones.includes(tz) ? p.timeZones : [tz, ...p.timeZones];
  return (
    <>
      <h1>{p.e ? `Edit ${p.e.title}` : 'New event'}</h1>
      {p.e ? <EventNav org={p.org} role={p.role} e={p.e} /> : <OrgNav org={p.org} role={p.role} />}
      <FlashBox flash={p.flash} />
      {Object.keys(errors).length ? <Flash kind="error">Nothing was saved: please correct the marked fields.</Flash> : null}
      <form method="post" action={p.action} novalidate>
        <Csrf token={p.csrf} />
        <fieldset>
          <legend>About the event</legend>
          <Field name="title" label="Title" value={values.title} error={errors.title} required maxlength={200} />
          <Field
            name="slug"
            label="Address of the public page"
            value={values.slug}
            error={errors.slug}
            required
            minlength={3}
            maxlength={60}
            pattern="[a-z0-9][a-z0-9\-]{1,58}[a-z0-9]"
            help="The event is reached at /e/<address>. 3–60 lowercase letters, digits and hyphens, not starting or ending with a hyphen."
          />
          <TextArea
            name="description_md"
            label="Description (Markdown)"
            value={values.description_md}
            error={errors.description_md}
            rows={8}
            maxlength={20000}
            help="Headings (#), **bold**, *italic*, lists and links. HTML is shown as text, not run."
            extra={{ 'hx-post': p.previewUrl, 'hx-trigger': 'input changed delay:600ms', 'hx-target': '#description-preview', 'hx-swap': 'outerHTML' }}
          />
          <details open={values.intent === 'preview' ? true : undefined}>
            <summary>Preview of the description</summary>
            <DescriptionPreview html={p.previewHtml} />
          </details>
        </fieldset>
        <fieldset>
          <legend>When and where</legend>
          <Field name="starts_at" label="Starts" type="datetime-local" value={values.starts_at} error={errors.starts_at} required />
          <Field name="ends_at" label="Ends" type="datetime-local" value={values.ends_at} error={errors.ends_at} required />
          <Select
            name="timezone"
            label="Time zone"
            options={zones.map((z) => [z, z.replace(/_/g, ' ')] as const)}
            selected={tz}
            error={errors.timezone}
            help="Start, end and registration times are in this zone. A time skipped by a daylight-saving change is moved forward by the change (02:30 becomes 03:30); a time that happens twice means the first one."
          />
          <Field name="venue" label="Venue (optional)" value={values.venue} error={errors.venue} maxlength={300} help="Address or room. Leave empty for online-only events." />
          <Field name="online_url" label="Online link (optional)" type="url" value={values.online_url} error={errors.online_url} maxlength={500} help="A full http:// or https:// address." />
        </fieldset>
        <fieldset>
          <legend>Registration</legend>
          <Field name="capacity" label="Capacity (optional)" type="number" inputmode="numeric" value={values.capacity} error={errors.capacity} help="Confirmed seats. Leave empty for unlimited." />
          <Field name="registration_opens_at" label="Registration opens (optional)" type="datetime-local" value={values.registration_opens_at} error={errors.registration_opens_at} help="Empty: as soon as the event is published." />
          <Field name="registration_closes_at" label="Registration closes (optional)" type="datetime-local" value={values.registration_closes_at} error={errors.registration_closes_at} help="Empty: until you close it." />
          <Check name="waitlist_enabled" label="Waiting list when full" checked={values.waitlist_enabled === 'on'} error={errors.waitlist_enabled} help="Freed seats go to the waiting list in order." />
          <Select
            name="duplicate_policy"
            label="Same email address registering twice"
            options={[
              ['reject', 'Refuse, with a clear message'],
              ['allow', 'Allow (e.g. one person registering several people)'],
            ]}
            selected={values.duplicate_policy ?? 'reject'}
            error={errors.duplicate_policy}
          />
          <Check name="double_opt_in" label="Double opt-in" checked={values.double_opt_in === 'on'} error={errors.double_opt_in} help="Attendees confirm their email address before the seat is held." />
          <Select
            name="access_mode"
            label="Who can see the event"
            options={[
              ['public', accessLabels.public],
              ['unlisted', accessLabels.unlisted],
              ['passcode', accessLabels.passcode],
            ]}
            selected={values.access_mode ?? 'public'}
            error={errors.access_mode}
            help="For a passcode event, set the passcode on the event's overview page before publishing. Share links work for passcode events."
          />
        </fieldset>
        <fieldset>
          <legend>Contact and privacy</legend>
          <p>
            <small>
              These are shown on the public event page and next to the registration form.
              {p.e ? null : " They start with the organization's defaults for new events (Settings). The event keeps its own copy: later changes to those defaults do not change it."}
            </small>
          </p>
          <Field name="organizer_contact" label="Organizer contact (optional)" value={values.organizer_contact} error={errors.organizer_contact} maxlength={300} help="An email address or phone number for questions. Shown on the public page." />
          <TextArea name="privacy_notice" label="Privacy notice (optional)" value={values.privacy_notice} error={errors.privacy_notice} rows={4} maxlength={5000} help="How attendees' data is used and how long it is kept. Shown on the public page under the form." />
          <TextArea name="controller_contact" label="Data controller contact (optional)" value={values.controller_contact} error={errors.controller_contact} rows={2} maxlength={1000} help="Who is responsible for the data (name and address). Shown on the public page under the form." />
        </fieldset>
        {/* Save comes first: it is the button Enter presses. */}
        <button type="submit" name="intent" value="save">
          {p.e ? 'Save changes' : 'Create event'}
        </button>
        <button type="submit" name="intent" value="preview" class="secondary" formnovalidate>
          Preview the description (does not save)
        </button>
      </form>
    </>
  );
}

// ---- overview ----------------------------------------------------------------------------------------

const transitions: { to: 'publish' | 'close' | 'reopen' | 'archive'; from: EventStatus[]; label: string; confirm?: string }[] = [
  { to: 'publish', from: ['draft'], label: 'Publish' },
  { to: 'close', from: ['published'], label: 'Close registration' },
  { to: 'reopen', from: ['closed', 'archived'], label: 'Reopen registration' },
  { to: 'archive', from: ['draft', 'published', 'closed'], label: 'Archive', confirm: 'Archive this event? Its public page goes offline.' },
];
export const statusTransitions = transitions;

export function EventDashboard(p: {
  csrf: string;
  org: OrgRow;
  role: OrgRole;
  e: EventRow;
  counts: EventCounts;
  publicUrl: string;
  now: number;
  flash?: FlashMsg | undefined;
} & FormState) {
  const { e, errors = {}, values = {} } = p;
  const base = `/orgs/${p.org.slug}/events/${e.id}`;
  const canWrite = roleHas(p.role, 'events.write');
  const passcodeState = !e.passcode_hash ? 'not set' : e.passcode_expires_at && Date.parse(e.passcode_expires_at) <= p.now ? `expired ${localWhen(e.passcode_expires_at, e.timezone)}` : e.passcode_expires_at ? `set, valid until ${localWhen(e.passcode_expires_at, e.timezone)}` : 'set, no expiry';
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
          {e.access_mode === 'passcode' ? ` — passcode ${passcodeState}` : ''}
        </p>
        <p>
          Public page: <a href={`/e/${e.slug}`}>{p.publicUrl}</a>
          <br />
          <small>{e.status === 'published' || e.status === 'closed' ? (e.access_mode === 'public' ? 'Listed on the organization page.' : 'Not listed: only people with the link (and the passcode, if any) can open it.') : 'Not visible to the public until published.'}</small>
        </p>
        {canWrite ? (
          <p>
            {transitions
              .filter((t) => t.from.includes(e.status))
              .map((t) => (
                <ActionButton action={`${base}/status`} label={t.label} csrf={p.csrf} hidden={{ to: t.to }} confirm={t.confirm} variant={t.to === 'publish' || t.to === 'reopen' ? 'outline' : 'secondary'} />
              ))}
          </p>
        ) : null}
      </article>

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

      {canWrite ? (
        <article id="passcode">
          <h2>Event passcode</h2>
          <p>
            {e.access_mode === 'passcode'
              ? 'Visitors must enter this passcode to see the event and register.'
              : 'The passcode is only asked for when the access mode is "Passcode required" (change it under Edit details).'}{' '}
            Current passcode: <strong data-testid="passcode-state">{passcodeState}</strong>.
          </p>
          <form method="post" action={`${base}/passcode`}>
            <Csrf token={p.csrf} />
            <Field name="passcode" label={e.passcode_hash ? 'New passcode' : 'Passcode'} type="password" error={errors.passcode} required minlength={6} maxlength={200} autocomplete="new-password" help="At least 6 characters. Share it with your invitees; it is stored only as a hash." />
            <Field name="expires_at" label="Valid until (optional)" type="datetime-local" value={values.expires_at} error={errors.expires_at} help={`In the event's time zone (${e.timezone}). Empty: until removed.`} />
            <button type="submit">{e.passcode_hash ? 'Change passcode' : 'Set passcode'}</button>
          </form>
          {e.passcode_hash ? <ActionButton action={`${base}/passcode/remove`} label="Remove passcode" csrf={p.csrf} confirm="Remove the passcode? Nobody can open a passcode event until a new one is set." /> : null}
        </article>
      ) : null}

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

// ---- share links ---------------------------------------------------------------------------------------

export function ShareLinksPage(p: {
  csrf: string;
  org: OrgRow;
  role: OrgRole;
  e: EventRow;
  links: ShareLinkRow[];
  now: number;
  created?: { label: string; url: string } | undefined;
  flash?: FlashMsg | undefined;
} & FormState) {
  const { e, errors = {}, values = {} } = p;
  const base = `/orgs/${p.org.slug}/events/${e.id}/share-links`;
  const statusOf = (l: ShareLinkRow) => (l.revoked_at ? 'revoked' : l.expires_at && Date.parse(l.expires_at) <= p.now ? 'expired' : 'active');
  return (
    <>
      <h1>Share links of {e.title}</h1>
      <EventNav org={p.org} role={p.role} e={e} />
      <FlashBox flash={p.flash} />
      {e.access_mode !== 'passcode' ? (
        <Flash kind="error">This event is not protected: anyone with its address can open it, so share links add nothing. Set the access mode to "Passcode required" to use them.</Flash>
      ) : null}
      {p.created ? (
        <article>
          <h2>Share link "{p.created.label}" created</h2>
          <Flash kind="ok">Copy the link now: it is shown only this once. Send the password separately.</Flash>
          <p>
            <code class="token" data-testid="new-share-link">
              {p.created.url}
            </code>
          </p>
        </article>
      ) : null}
      {p.links.length === 0 ? (
        <p>No share links yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Uses</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {p.links.map((l) => (
              <tr data-link={l.id}>
                <td>{l.label}</td>
                <td>{localWhen(l.created_at, e.timezone)}</td>
                <td>{l.expires_at ? localWhen(l.expires_at, e.timezone) : 'never'}</td>
                <td>{l.uses}</td>
                <td>{statusOf(l)}</td>
                <td>{statusOf(l) === 'revoked' ? null : <ActionButton action={`${base}/${l.id}/revoke`} label="Revoke" csrf={p.csrf} confirm={`Revoke the share link ${l.label}?`} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <article>
        <h2>Create a share link</h2>
        <p>Each link has its own password. Whoever opens the link and types the password can see the event and register. Every use is counted and audited.</p>
        <form method="post" action={base}>
          <Csrf token={p.csrf} />
          <Field name="label" label="Label" value={values.label} error={errors.label} required maxlength={80} help="Who the link is for, e.g. 'Partner university'." />
          <Field name="password" label="Password" type="password" error={errors.password} required minlength={8} maxlength={256} autocomplete="new-password" help="At least 8 characters." />
          <Field name="expires_at" label="Valid until (optional)" type="datetime-local" value={values.expires_at} error={errors.expires_at} help={`In the event's time zone (${e.timezone}). Empty: until revoked.`} />
          <button type="submit">Create share link</button>
        </form>
      </article>
    </>
  );
}

// ---- registration form builder -----------------------------------------------------------------------

const typeOptions = (Object.entries(fieldTypes) as [FieldType, string][]).map(([k, v]) => [k, v] as const);
const yes = (v: number) => (v ? 'yes' : '–');

/** The list of fields with move/remove; htmx swaps just this element, plain forms reload the page. */
export function FieldList(p: { csrf: string; base: string; fields: FieldRow[]; canWrite: boolean; flash?: FlashMsg | undefined }) {
  const target = { 'hx-target': '#field-list', 'hx-swap': 'outerHTML' };
  return (
    <section id="field-list" aria-live="polite">
      <FlashBox flash={p.flash} />
      <table>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Field</th>
            <th scope="col">Type</th>
            <th scope="col">Required</th>
            <th scope="col">Personal</th>
            <th scope="col">Sensitive</th>
            <th scope="col">Purpose</th>
            {p.canWrite ? (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {p.fields.map((f, i) => (
            <tr data-field={f.key}>
              <td>{i + 1}</td>
              <td>
                {f.label}
                {f.builtin === 'email' ? (
                  <>
                    <br />
                    <small>Always collected: the ticket goes here.</small>
                  </>
                ) : null}
                {fieldOptions(f).length ? (
                  <>
                    <br />
                    <small>{fieldOptions(f).join(' · ')}</small>
                  </>
                ) : null}
              </td>
              <td>{fieldTypes[f.type]}</td>
              <td>{yes(f.required)}</td>
              <td>{yes(f.personal)}</td>
              <td>{yes(f.sensitive)}</td>
              <td>{f.purpose || '–'}</td>
              {p.canWrite ? (
                <td>
                  {i > 0 ? (
                    <form method="post" action={`${p.base}/${f.id}/move`} class="inline-action" hx-post={`${p.base}/${f.id}/move`} {...target}>
                      <Csrf token={p.csrf} />
                      <input type="hidden" name="direction" value="up" />
                      <button type="submit" class="secondary" aria-label={`Move ${f.label} up`}>
                        ↑
                      </button>
                    </form>
                  ) : null}
                  {i < p.fields.length - 1 ? (
                    <form method="post" action={`${p.base}/${f.id}/move`} class="inline-action" hx-post={`${p.base}/${f.id}/move`} {...target}>
                      <Csrf token={p.csrf} />
                      <input type="hidden" name="direction" value="down" />
                      <button type="submit" class="secondary" aria-label={`Move ${f.label} down`}>
                        ↓
                      </button>
                    </form>
                  ) : null}
                  <a href={`${p.base}/${f.id}`}>Edit</a>
                  {f.builtin === 'email' ? null : (
                    <form method="post" action={`${p.base}/${f.id}/remove`} class="inline-action" hx-post={`${p.base}/${f.id}/remove`} hx-confirm={`Remove the field ${f.label}? Answers already given stay with the registrations.`} {...target}>
                      <Csrf token={p.csrf} />
                      <button type="submit" class="secondary">
                        Remove
                      </button>
                    </form>
                  )}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Shared by "add" and "edit": the type can only be chosen when adding. */
function FieldEditor(p: { csrf: string; action: string; field?: FieldRow | undefined; submit: string } & FormState) {
  const { errors = {}, values = {} } = p;
  const builtinEmail = p.field?.builtin === 'email';
  return (
    <form method="post" action={p.action} novalidate>
      <Csrf token={p.csrf} />
      {p.field ? (
        <p>
          Type: <strong>{fieldTypes[p.field.type]}</strong>
        </p>
      ) : (
        <Select name="type" label="Type" options={typeOptions} selected={values.type ?? 'short_text'} error={errors.type} />
      )}
      <Field name="label" label="Label" value={values.label} error={errors.label} required maxlength={200} help={p.field ? undefined : 'The question as attendees see it.'} />
      <Field name="help" label="Help text (optional)" value={values.help} error={errors.help} maxlength={500} />
      {!p.field || p.field.type === 'single_select' || p.field.type === 'multi_select' ? (
        <TextArea name="options" label={p.field ? 'Options, one per line' : 'Options, one per line (choice fields only)'} value={values.options} error={errors.options} rows={4} maxlength={5000} help="At least two. Up to 50 options of at most 200 characters." />
      ) : null}
      {!p.field || p.field.type === 'consent' ? (
        <TextArea name="consent_text" label={p.field ? 'Consent text' : 'Consent text (consent fields only)'} value={values.consent_text} error={errors.consent_text} rows={3} maxlength={2000} help="What the attendee agrees to. It is stored with each answer exactly as shown." />
      ) : null}
      <Check name="required" label="Required" checked={builtinEmail || values.required === 'on'} disabled={builtinEmail} error={errors.required} />
      <Check name="personal" label="Personal data" checked={builtinEmail || values.personal === 'on'} disabled={builtinEmail} error={errors.personal} help="About an identifiable person. Shown with its purpose on the form." />
      <Check name="sensitive" label="Sensitive" checked={values.sensitive === 'on'} error={errors.sensitive} help="Health, beliefs and the like: masked in lists and left out of exports unless chosen." />
      <Field name="purpose" label="Purpose (why you ask)" value={values.purpose} error={errors.purpose} maxlength={300} help="Shown to attendees next to personal fields." />
      <button type="submit">{p.submit}</button>
    </form>
  );
}

export function FormBuilderPage(p: { csrf: string; org: OrgRow; role: OrgRole; e: EventRow; fields: FieldRow[]; flash?: FlashMsg | undefined } & FormState) {
  const base = `/orgs/${p.org.slug}/events/${p.e.id}/form/fields`;
  const canWrite = roleHas(p.role, 'events.write');
  return (
    <>
      <h1>Registration form of {p.e.title}</h1>
      <EventNav org={p.org} role={p.role} e={p.e} />
      <p>Ask only for what the event needs. The email address is always collected; everything else is up to you.</p>
      <FieldList csrf={p.csrf} base={base} fields={p.fields} canWrite={canWrite} flash={p.flash} />
      {canWrite ? (
        <article>
          <h2>Add a field</h2>
          {p.errors && Object.keys(p.errors).length ? <Flash kind="error">The field was not added: please correct the marked entries.</Flash> : null}
          <FieldEditor csrf={p.csrf} action={base} submit="Add field" errors={p.errors} values={p.values ?? { personal: 'on' }} />
        </article>
      ) : null}
      <article>
        <h2>Preview</h2>
        <p>
          <small>How attendees see the form (the buttons do nothing here).</small>
        </p>
        <fieldset disabled class="form-preview">
          <RegistrationForm e={p.e} fields={p.fields} action={`/e/${p.e.slug}/register`} />
        </fieldset>
      </article>
    </>
  );
}

export function FieldEditPage(p: { csrf: string; org: OrgRow; role: OrgRole; e: EventRow; field: FieldRow } & FormState) {
  const base = `/orgs/${p.org.slug}/events/${p.e.id}/form/fields`;
  return (
    <>
      <h1>Edit field "{p.field.label}"</h1>
      <EventNav org={p.org} role={p.role} e={p.e} />
      {p.errors && Object.keys(p.errors).length ? <Flash kind="error">Nothing was saved: please correct the marked entries.</Flash> : null}
      <FieldEditor csrf={p.csrf} action={`${base}/${p.field.id}`} field={p.field} submit="Save field" errors={p.errors} values={p.values} />
      <p>
        <a href={`/orgs/${p.org.slug}/events/${p.e.id}/form`}>Back to the form</a>
      </p>
    </>
  );
}

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { raw } from 'hono/html';
import type { EventRow } from '../../src/events/repo.ts';
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import { Check, Csrf, Field, type FormState, Select, TextArea } from '../components/form.tsx';
import { Flash, FlashBox, type FlashMsg } from '../components/flash.tsx';
import { accessLabels } from './shared.tsx';

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
  /** Deleting, offered at the bottom of an existing event's settings, apart from the form. */
  danger?: { action: string; slug: string; error?: string | undefined } | undefined;
} & FormState) {
  const { errors = {}, values = {} } = p;
  const tz = values.timezone ?? 'UTC';
  const zones = p.timeZones.includes(tz) ? p.timeZones : [tz, ...p.timeZones];
  return (
    <>
      <h1>{p.e ? `Edit ${p.e.title}` : 'New event'}</h1>
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
        <fieldset class="two-col">
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
        <fieldset class="two-col">
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
          <Check
            name="show_ticket"
            label="Show the ticket on the confirmation page"
            checked={values.show_ticket === 'on'}
            error={errors.show_ticket}
            help="Convenient, but it reveals whether an address is already registered: anyone who types someone's email address can then tell whether that person signed up. Off: the page always says the ticket was emailed, and the ticket, code and personal link travel only by email."
          />
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
            help="For a passcode event, set the passcode under Access before publishing. Share links work for passcode events."
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
        <div class="form-actions">
          <button type="submit" name="intent" value="save">
            {p.e ? 'Save changes' : 'Create event'}
          </button>
          <button type="submit" name="intent" value="preview" class="secondary outline" formnovalidate>
            Preview the description (does not save)
          </button>
        </div>
      </form>
      {p.danger ? <DangerZone csrf={p.csrf} {...p.danger} /> : null}
    </>
  );
}

/** Deleting an event, set apart from everything else on the page: it cannot be undone. */
function DangerZone(p: { csrf: string; action: string; slug: string; error?: string | undefined }) {
  return (
    <section id="delete" class="danger-zone" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Danger zone: delete this event</h2>
      <p>
        Deleting removes the event, its form, its share links and <strong>all its registrations</strong> for good. To take it offline and keep the registrations, archive it on the overview
        instead. You may be asked for your password again.
      </p>
      <form method="post" action={p.action}>
        <Csrf token={p.csrf} />
        <Field name="confirm_slug" label={`Type the event address (${p.slug}) to confirm`} error={p.error} required autocomplete="off" />
        <button type="submit" class="contrast">
          Delete event and registrations
        </button>
      </form>
    </section>
  );
}

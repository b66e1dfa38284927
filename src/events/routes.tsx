/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { ShareLinksPage } from '../../views/events/access.tsx';
import { DescriptionPreview, EventFormPage } from '../../views/events/edit.tsx';
import { FieldEditPage, FieldList, FormBuilderPage } from '../../views/events/form-builder.tsx';
import { EventsListPage } from '../../views/events/list.tsx';
import { EventDashboard } from '../../views/events/overview.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import { isHtmx, routes } from '../http/route-permissions.ts';
import { errorResponse } from '../http/error-page.tsx';
import { CONTROL_CHARS, type FieldErrors, parseForm } from '../http/forms.ts';
import { auditCtx, guard } from '../http/guard.ts';
import { requireRecentAuth } from '../http/reauth.ts';
import { render } from '../http/render.tsx';
import type { AppEnv } from '../http/types.ts';
import { type OrgRole, roleHas } from '../orgs/permissions.ts';
import { fieldTypes, selectTypes } from './fields.ts';
import { loadEvent } from './load.ts';
import { renderMarkdown } from './markdown.ts';
import type { EventRow, FieldRow, FieldType } from './repo.ts';
import type { EventInput, FieldInput, StatusAction } from './service.ts';
import { type LocalTimeKind, isTimeZone, parseLocal, resolveLocal, timeZones, utcToZoned } from './zoned-time.ts';

type C = Context<AppEnv>;
type Values = Record<string, string>;

// ---- input rules -------------------------------------------------------------------------------------

/** Multi-line text keeps newlines and tabs; other control characters are refused. */
const MULTILINE_BAD = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const bad = 'Contains characters that are not allowed.';
const text = (max: number) => z.string().trim().min(1, 'Required.').max(max, `At most ${max} characters.`).refine((v) => !CONTROL_CHARS.test(v), bad);
const line = (max: number) => z.string().trim().max(max, `At most ${max} characters.`).refine((v) => !CONTROL_CHARS.test(v), bad).default('');
const multiline = (max: number) =>
  z
    .string()
    .transform((v) => v.replace(/\r\n?/g, '\n').trim())
    .pipe(z.string().max(max, `At most ${max} characters.`).refine((v) => !MULTILINE_BAD.test(v), bad))
    .default('');
const checkbox = z.literal('on', 'Invalid value.').optional().transform((v) => v === 'on');
const localTime = z.string().trim().min(1, 'Required.').refine((v) => parseLocal(v) !== undefined, 'Enter a date and time (YYYY-MM-DD HH:MM).');
const optionalLocal = z.string().trim().refine((v) => v === '' || parseLocal(v) !== undefined, 'Enter a date and time (YYYY-MM-DD HH:MM), or leave it empty.').default('');

const eventSlug = z
  .string()
  .trim()
  .regex(/^[a-z0-9](?:[a-z0-9-]{1,58}[a-z0-9])$/, '3–60 lowercase letters, digits and hyphens, not starting or ending with a hyphen.');

const httpUrl = z
  .string()
  .trim()
  .max(500, 'At most 500 characters.')
  .refine((v) => {
    if (v === '') return true;
    try {
      const u = new URL(v);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'Enter a full address starting with https:// or http://.')
  .default('');

const capacity = z
  .string()
  .trim()
  .default('')
  .refine((v) => v === '' || (/^\d{1,7}$/.test(v) && Number(v) >= 1 && Number(v) <= 1_000_000), 'Enter a whole number from 1 to 1,000,000, or leave it empty for unlimited.')
  .transform((v) => (v === '' ? null : Number(v)));

const eventSchema = z.object({
  title: text(200),
  slug: eventSlug,
  description_md: multiline(20_000),
  starts_at: localTime,
  ends_at: localTime,
  timezone: z.string().refine(isTimeZone, 'Choose a time zone from the list.'),
  venue: line(300),
  online_url: httpUrl,
  capacity,
  registration_opens_at: optionalLocal,
  registration_closes_at: optionalLocal,
  waitlist_enabled: checkbox,
  duplicate_policy: z.enum(['allow', 'reject'], 'Choose one of the options.').default('reject'),
  double_opt_in: checkbox,
  organizer_contact: line(300),
  privacy_notice: multiline(5000),
  controller_contact: multiline(1000),
  access_mode: z.enum(['public', 'unlisted', 'passcode'], 'Choose one of the options.').default('public'),
});

const timeFields = ['starts_at', 'ends_at', 'registration_opens_at', 'registration_closes_at'] as const;
type TimeField = (typeof timeFields)[number];
const timeLabels: Record<TimeField, string> = { starts_at: 'start', ends_at: 'end', registration_opens_at: 'registration opening', registration_closes_at: 'registration closing' };

/**
 * The local times of the form, read in its time zone, and the rules between them (end after
 * start, closing after opening). Runs on raw values too, so these errors show up together with
 * every other one.
 */
function resolveTimes(v: Partial<Record<TimeField | 'timezone', string>>): { utc: Partial<Record<TimeField, string>>; kinds: Partial<Record<TimeField, LocalTimeKind>>; errors: FieldErrors } {
  const utc: Partial<Record<TimeField, string>> = {};
  const kinds: Partial<Record<TimeField, LocalTimeKind>> = {};
  const errors: FieldErrors = {};
  const tz = v.timezone ?? '';
  if (!isTimeZone(tz)) return { utc, kinds, errors };
  for (const f of timeFields) {
    const local = (v[f] ?? '').trim();
    if (local && parseLocal(local) !== undefined) {
      const r = resolveLocal(local, tz);
      utc[f] = r.utc;
      kinds[f] = r.kind;
    }
  }
  if (utc.starts_at && utc.ends_at && Date.parse(utc.ends_at) <= Date.parse(utc.starts_at)) errors.ends_at = 'The end must be after the start.';
  if (utc.registration_opens_at && utc.registration_closes_at && Date.parse(utc.registration_closes_at) <= Date.parse(utc.registration_opens_at)) {
    errors.registration_closes_at = 'Registration must close after it opens.';
  }
  return { utc, kinds, errors };
}

/** Parsed form data back as form values (checkboxes as 'on'), to show the form again. */
const asValues = (d: Record<string, unknown>): Values => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? 'on' : '') : String(v ?? '')]));

/** Reads the event form: either a complete EventInput, or errors per field with the input kept. */
async function readEventForm(c: C): Promise<{ ok: true; input: EventInput; dst: string[]; intent: string; values: Values } | { ok: false; errors: FieldErrors; values: Values; intent: string }> {
  const form = await parseForm(c, eventSchema.extend({ intent: z.string().optional() }));
  if (!form.ok) {
    const times = resolveTimes(form.values);
    return { ok: false, errors: { ...times.errors, ...form.errors }, values: form.values, intent: form.values.intent ?? 'save' };
  }
  const d = form.data;
  const values = asValues(d);
  const times = resolveTimes(d);
  if (Object.keys(times.errors).length) return { ok: false, errors: times.errors, values, intent: d.intent ?? 'save' };
  const input: EventInput = {
    slug: d.slug,
    title: d.title,
    description_md: d.description_md,
    starts_at: times.utc.starts_at as string,
    ends_at: times.utc.ends_at as string,
    timezone: d.timezone,
    venue: d.venue,
    online_url: d.online_url,
    capacity: d.capacity,
    registration_opens_at: times.utc.registration_opens_at ?? null,
    registration_closes_at: times.utc.registration_closes_at ?? null,
    waitlist_enabled: d.waitlist_enabled,
    duplicate_policy: d.duplicate_policy,
    double_opt_in: d.double_opt_in,
    organizer_contact: d.organizer_contact,
    privacy_notice: d.privacy_notice,
    controller_contact: d.controller_contact,
    access_mode: d.access_mode,
  };
  const dst = timeFields.filter((f) => times.kinds[f] === 'skipped' || times.kinds[f] === 'ambiguous').map((f) => `${f}.${times.kinds[f]}`);
  return { ok: true, input, dst, intent: d.intent ?? 'save', values };
}

/** An event as the edit form shows it: stored instants back in the event's wall clock. */
function valuesOf(e: EventRow): Values {
  const local = (t: string | null) => (t ? utcToZoned(t, e.timezone) : '');
  return {
    title: e.title,
    slug: e.slug,
    description_md: e.description_md,
    starts_at: local(e.starts_at),
    ends_at: local(e.ends_at),
    timezone: e.timezone,
    venue: e.venue,
    online_url: e.online_url,
    capacity: e.capacity === null ? '' : String(e.capacity),
    registration_opens_at: local(e.registration_opens_at),
    registration_closes_at: local(e.registration_closes_at),
    waitlist_enabled: e.waitlist_enabled ? 'on' : '',
    duplicate_policy: e.duplicate_policy,
    double_opt_in: e.double_opt_in ? 'on' : '',
    organizer_contact: e.organizer_contact,
    privacy_notice: e.privacy_notice,
    controller_contact: e.controller_contact,
    access_mode: e.access_mode,
  };
}

function defaultZone(): string {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return tz && isTimeZone(tz) ? tz : 'UTC';
}

/** Future expiry in the event's zone (passcodes, share links); empty means none. */
function expirySchema(e: EventRow, now: number) {
  return optionalLocal.transform((v, ctx) => {
    if (v === '') return null;
    const utc = resolveLocal(v, e.timezone).utc;
    if (Date.parse(utc) <= now) {
      ctx.addIssue({ code: 'custom', message: 'Choose a time in the future, or leave it empty.' });
      return z.NEVER;
    }
    return utc;
  });
}

const fieldTypeNames = Object.keys(fieldTypes) as [FieldType, ...FieldType[]];
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const fieldSchema = z.object({
  label: text(200),
  help: line(500),
  required: checkbox,
  options: z.string().max(5000, 'At most 5000 characters.').default(''),
  personal: checkbox,
  sensitive: checkbox,
  purpose: line(300),
  consent_text: multiline(2000),
});

/** One option per line: trimmed, empty lines dropped, duplicates and overlong ones refused. */
function parseOptions(raw: string): { ok: true; options: string[] } | { ok: false; message: string } {
  const options = raw
    .split(/\r?\n/)
    .map((o) => o.trim())
    .filter((o) => o !== '');
  if (options.some((o) => o.length > 200)) return { ok: false, message: 'Each option can have at most 200 characters.' };
  if (options.some((o) => CONTROL_CHARS.test(o))) return { ok: false, message: bad };
  if (new Set(options).size !== options.length) return { ok: false, message: 'Each option may appear only once.' };
  if (options.length > 50) return { ok: false, message: 'At most 50 options.' };
  return { ok: true, options };
}

/** Field input for the service, or errors; the option and consent rules depend on the type. */
function fieldInput(type: FieldType, d: z.output<typeof fieldSchema>): { ok: true; input: FieldInput } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  let options: string[] = [];
  if (selectTypes.includes(type)) {
    const o = parseOptions(d.options);
    if (!o.ok) errors.options = o.message;
    else if (o.options.length < 2) errors.options = 'A choice field needs at least two options, one per line.';
    else options = o.options;
  }
  if (type === 'consent' && d.consent_text === '') errors.consent_text = 'Write what the attendee consents to.';
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    input: {
      type,
      label: d.label,
      help: d.help,
      required: d.required,
      options,
      // Sensitive data is personal data by definition.
      personal: d.personal || d.sensitive,
      sensitive: d.sensitive,
      purpose: d.purpose,
      consent_text: type === 'consent' ? d.consent_text : '',
    },
  };
}

const fieldValues = (f: FieldRow): Values => ({
  label: f.label,
  help: f.help,
  required: f.required ? 'on' : '',
  options: (JSON.parse(f.options) as string[]).join('\n'),
  personal: f.personal ? 'on' : '',
  sensitive: f.sensitive ? 'on' : '',
  purpose: f.purpose,
  consent_text: f.consent_text,
});

// ---- flashes ---------------------------------------------------------------------------------------------

const eventFlashes: Record<string, string> = {
  created: 'Event created as a draft. Add the registration form fields, then publish it.',
  saved: 'Changes saved.',
  published: 'Event published.',
  closed: 'Registration closed.',
  reopened: 'Registration reopened: the event is published again.',
  archived: 'Event archived: its public page is offline.',
  'passcode-set': 'Passcode saved.',
  'passcode-removed': 'Passcode removed. Nobody can open this event while its access mode requires a passcode.',
};

function dstNotes(c: C, e: EventRow): string[] {
  const raw = c.req.query('dst') ?? '';
  const out: string[] = [];
  for (const item of raw.split(',')) {
    const [field, kind] = item.split('.') as [TimeField, string];
    if (!timeFields.includes(field)) continue;
    const at = e[field];
    if (!at) continue;
    const shown = utcToZoned(at, e.timezone).replace('T', ' ');
    if (kind === 'skipped') out.push(`The ${timeLabels[field]} time you entered does not exist in ${e.timezone} that day (the clocks move forward); it was moved forward by the change, to ${shown}.`);
    if (kind === 'ambiguous') out.push(`The ${timeLabels[field]} time ${shown} happens twice in ${e.timezone} that day (the clocks go back); the first one, before the change, was used.`);
  }
  return out;
}

function flashOf(c: C, e?: EventRow): FlashMsg | undefined {
  const key = c.req.query('done') ?? '';
  let text = eventFlashes[key];
  if (!text) return undefined;
  const promoted = Number(c.req.query('promoted') ?? 0);
  if (key === 'saved' && Number.isInteger(promoted) && promoted > 0) text += ` ${promoted} ${promoted === 1 ? 'person' : 'people'} moved from the waiting list to confirmed.`;
  const notes = e ? dstNotes(c, e) : [];
  return { kind: 'ok', text: [text, ...notes].join(' ') };
}

function roleOf(c: C): OrgRole {
  const m = c.get('membership');
  if (!m) throw new Error('org route without membership');
  return m.role;
}

/** The flash key each status change redirects with. */
const statusDone: Record<StatusAction, string> = { publish: 'published', close: 'closed', reopen: 'reopened', archive: 'archived' };

/** The organizer's event pages: list, create/edit, status, passcode, share links, form builder. */
export function eventAdminRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = routes(app, guard);
  const read = { kind: 'org', permission: 'events.read' } as const;
  const write = { kind: 'org', permission: 'events.write' } as const;
  const eventsUrl = (c: C) => `/orgs/${c.get('org').slug}/events`;
  const eventUrl = (c: C, e: EventRow) => `${eventsUrl(c)}/${e.id}`;

  // ---- list and create -------------------------------------------------------------------------------

  r.get('/orgs/:orgSlug/events', read, (c) => {
    const ctx = c.get('app');
    const org = c.get('org');
    const membership = c.get('membership');
    const rows = ctx.events.list(org, membership).map((e) => ({ e, counts: ctx.attendees.counts(e) }));
    const scoped = !!membership?.event_scope;
    const flash = c.req.query('done') === 'deleted' ? ({ kind: 'ok', text: 'Event deleted, with all its registrations.' } as const) : undefined;
    return render(c, `Events · ${org.name}`, <EventsListPage org={org} role={roleOf(c)} rows={rows} canCreate={!scoped && roleHas(roleOf(c), 'events.write')} scoped={scoped} flash={flash} />);
  });

  const formPage = (c: C, p: { e?: EventRow; values: Values; errors?: FieldErrors; flash?: FlashMsg }, status: ContentfulStatusCode = 200) => {
    const org = c.get('org');
    const action = p.e ? `${eventUrl(c, p.e)}/edit` : eventsUrl(c);
    return render(
      c,
      p.e ? `Edit ${p.e.title}` : 'New event',
      <EventFormPage
        csrf={c.get('csrfToken')}
        org={org}
        role={roleOf(c)}
        e={p.e}
        action={action}
        previewUrl={`${eventsUrl(c)}/markdown-preview`}
        previewHtml={renderMarkdown(p.values.description_md ?? '')}
        timeZones={timeZones}
        values={p.values}
        errors={p.errors}
        flash={p.flash}
      />,
      status,
    );
  };

  /** A member limited to chosen events cannot add events: the new one would be outside their reach. */
  const scopedRefusal = (c: C) =>
    c.get('membership')?.event_scope ? errorResponse(c, 403, 'Not allowed', 'Your access is limited to chosen events, so you cannot create new ones. Ask an administrator of the organization.') : null;

  r.get('/orgs/:orgSlug/events/new', write, (c) => {
    const refused = scopedRefusal(c);
    if (refused) return refused;
    // The organization's defaults are copied into the form: the event stores its own values from here on.
    const { organizer_contact, privacy_notice, controller_contact } = c.get('org');
    return formPage(c, { values: { timezone: defaultZone(), duplicate_policy: 'reject', access_mode: 'public', organizer_contact, privacy_notice, controller_contact } });
  });

  r.post('/orgs/:orgSlug/events/markdown-preview', write, async (c) => {
    const form = await parseForm(c, z.object({ description_md: multiline(20_000) }));
    const html = form.ok ? renderMarkdown(form.data.description_md) : '';
    return c.html(<DescriptionPreview html={html} />, form.ok ? 200 : 400);
  });

  r.post('/orgs/:orgSlug/events', write, async (c) => {
    const refused = scopedRefusal(c);
    if (refused) return refused;
    const org = c.get('org');
    const form = await readEventForm(c);
    if (form.intent === 'preview') return formPage(c, { values: form.values });
    if (!form.ok) return formPage(c, { values: form.values, errors: form.errors }, 400);
    const res = c.get('app').events.create(org, form.input, auditCtx(c, org.id));
    if (!res.ok) return formPage(c, { values: form.values, errors: { slug: res.message } }, 409);
    const dst = form.dst.length ? `&dst=${form.dst.join(',')}` : '';
    return c.redirect(`${eventUrl(c, res.event)}?done=created${dst}`, 303);
  });

  // ---- one event -----------------------------------------------------------------------------------------

  const dashboard = (c: C, e: EventRow, extra: { flash?: FlashMsg; errors?: FieldErrors; values?: Values } = {}, status: ContentfulStatusCode = 200) => {
    const ctx = c.get('app');
    return render(
      c,
      e.title,
      <EventDashboard
        csrf={c.get('csrfToken')}
        org={c.get('org')}
        role={roleOf(c)}
        e={e}
        counts={ctx.attendees.counts(e)}
        publicUrl={`${ctx.baseUrl()}/e/${e.slug}`}
        canWrite={roleHas(roleOf(c), 'events.write')}
        statusActions={ctx.events.statusActions(e)}
        passcodeState={ctx.events.passcodeState(e)}
        flash={extra.flash ?? flashOf(c, e)}
        errors={extra.errors}
        values={extra.values}
      />,
      status,
    );
  };

  r.get('/orgs/:orgSlug/events/:eventId', read, (c) => {
    const l = loadEvent(c);
    return 'response' in l ? l.response : dashboard(c, l.event);
  });

  r.get('/orgs/:orgSlug/events/:eventId/edit', write, (c) => {
    const l = loadEvent(c);
    return 'response' in l ? l.response : formPage(c, { e: l.event, values: valuesOf(l.event) });
  });

  r.post('/orgs/:orgSlug/events/:eventId/edit', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const ctx = c.get('app');
    const org = c.get('org');
    const form = await readEventForm(c);
    if (form.intent === 'preview') return formPage(c, { e, values: form.values });
    if (!form.ok) return formPage(c, { e, values: form.values, errors: form.errors }, 400);
    // A published event switched to "passcode" without one would lock everybody out at once.
    if (form.input.access_mode === 'passcode' && !e.passcode_hash && (e.status === 'published' || e.status === 'closed')) {
      return formPage(c, { e, values: form.values, errors: { access_mode: 'Set a passcode on the overview page first: this event is public now and would become unreachable.' } }, 409);
    }
    const res = ctx.events.update(org, e, form.input, auditCtx(c, org.id));
    if (!res.ok) return formPage(c, { e, values: form.values, errors: { slug: res.message } }, 409);
    // More seats (or unlimited) go to the waiting list first, in order.
    const raised = form.input.capacity === null ? e.capacity !== null : e.capacity !== null && form.input.capacity > e.capacity;
    const promoted = raised ? ctx.registrations.promoteWaitlist(e, auditCtx(c, org.id)) : 0;
    const query = [`done=saved`, promoted ? `promoted=${promoted}` : '', form.dst.length ? `dst=${form.dst.join(',')}` : ''].filter(Boolean).join('&');
    return c.redirect(`${eventUrl(c, e)}?${query}`, 303);
  });

  r.post('/orgs/:orgSlug/events/:eventId/status', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const org = c.get('org');
    const form = await parseForm(c, z.object({ to: z.enum(['publish', 'close', 'reopen', 'archive'], 'Unknown action.') }));
    if (!form.ok) return dashboard(c, e, { flash: { kind: 'error', text: 'Unknown status change.' } }, 400);
    const res = c.get('app').events.changeStatus(org, e, form.data.to, auditCtx(c, org.id));
    if (!res.ok) return dashboard(c, e, { flash: { kind: 'error', text: res.message } }, 409);
    return c.redirect(`${eventUrl(c, e)}?done=${statusDone[form.data.to]}`, 303);
  });

  r.post('/orgs/:orgSlug/events/:eventId/delete', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    // Deleting throws away attendees' registrations: ask for the password again first.
    const redirect = requireRecentAuth(c, `${eventUrl(c, e)}#delete`);
    if (redirect) return redirect;
    const org = c.get('org');
    const form = await parseForm(c, z.object({ confirm_slug: z.string().trim().max(100).default('') }));
    if (!form.ok || form.data.confirm_slug !== e.slug) {
      return dashboard(c, e, { errors: { confirm_slug: `Type ${e.slug} exactly to confirm.` }, flash: { kind: 'error', text: 'The event was not deleted.' } }, 400);
    }
    c.get('app').events.delete(org, e, auditCtx(c, org.id));
    return c.redirect(`${eventsUrl(c)}?done=deleted`, 303);
  });

  // ---- passcode -------------------------------------------------------------------------------------------

  r.post('/orgs/:orgSlug/events/:eventId/passcode', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const ctx = c.get('app');
    const org = c.get('org');
    const form = await parseForm(c, z.object({ passcode: z.string().min(6, 'At least 6 characters.').max(200, 'At most 200 characters.').refine((v) => !CONTROL_CHARS.test(v), bad), expires_at: expirySchema(e, ctx.now()) }));
    if (!form.ok) return dashboard(c, e, { errors: form.errors, values: form.values, flash: { kind: 'error', text: 'The passcode was not saved.' } }, 400);
    await ctx.events.setPasscode(org, e, form.data.passcode, form.data.expires_at, auditCtx(c, org.id));
    return c.redirect(`${eventUrl(c, e)}?done=passcode-set#passcode`, 303);
  });

  r.post('/orgs/:orgSlug/events/:eventId/passcode/remove', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const org = c.get('org');
    await c.get('app').events.setPasscode(org, l.event, null, null, auditCtx(c, org.id));
    return c.redirect(`${eventUrl(c, l.event)}?done=passcode-removed#passcode`, 303);
  });

  // ---- share links ------------------------------------------------------------------------------------------

  const linksPage = (c: C, e: EventRow, extra: { flash?: FlashMsg; created?: { label: string; url: string }; errors?: FieldErrors; values?: Values } = {}, status: ContentfulStatusCode = 200) => {
    const ctx = c.get('app');
    const flash = extra.flash ?? (c.req.query('done') === 'revoked' ? ({ kind: 'ok', text: 'Share link revoked.' } as const) : undefined);
    return render(
      c,
      `Share links · ${e.title}`,
      <ShareLinksPage csrf={c.get('csrfToken')} org={c.get('org')} role={roleOf(c)} e={e} links={ctx.events.shareLinks(e)} created={extra.created} flash={flash} errors={extra.errors} values={extra.values} />,
      status,
    );
  };

  r.get('/orgs/:orgSlug/events/:eventId/share-links', write, (c) => {
    const l = loadEvent(c);
    return 'response' in l ? l.response : linksPage(c, l.event);
  });

  r.post('/orgs/:orgSlug/events/:eventId/share-links', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const ctx = c.get('app');
    const form = await parseForm(c, z.object({ label: text(80), password: z.string().min(8, 'At least 8 characters.').max(256, 'At most 256 characters.'), expires_at: expirySchema(e, ctx.now()) }));
    if (!form.ok) return linksPage(c, e, { errors: form.errors, values: form.values }, 400);
    const res = await ctx.events.createShareLink(e, { label: form.data.label, password: form.data.password, expiresAt: form.data.expires_at }, auditCtx(c, e.org_id));
    // The secret exists only in this response: it is stored as a hash.
    return linksPage(c, e, { created: { label: form.data.label, url: `${ctx.baseUrl()}/s/${res.token}` } }, 201);
  });

  r.post('/orgs/:orgSlug/events/:eventId/share-links/:linkId/revoke', write, (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const id = c.req.param('linkId') ?? '';
    const ok = uuid.test(id) && c.get('app').events.revokeShareLink(l.event, id, auditCtx(c, l.event.org_id));
    if (!ok) return linksPage(c, l.event, { flash: { kind: 'error', text: 'That share link was already revoked or does not exist.' } }, 404);
    return c.redirect(`${eventUrl(c, l.event)}/share-links?done=revoked`, 303);
  });

  // ---- registration form builder ------------------------------------------------------------------------------

  const builderPage = (c: C, e: EventRow, extra: { flash?: FlashMsg; errors?: FieldErrors; values?: Values } = {}, status: ContentfulStatusCode = 200) => {
    const flashes: Record<string, string> = { added: 'Field added.', saved: 'Field saved.', removed: 'Field removed.', moved: 'Field moved.' };
    const done = c.req.query('done') ?? '';
    const flash = extra.flash ?? (flashes[done] ? ({ kind: 'ok', text: flashes[done] } as const) : undefined);
    return render(
      c,
      `Registration form · ${e.title}`,
      <FormBuilderPage csrf={c.get('csrfToken')} org={c.get('org')} role={roleOf(c)} e={e} fields={c.get('app').events.fields(e)} canWrite={roleHas(roleOf(c), 'events.write')} flash={flash} errors={extra.errors} values={extra.values} />,
      status,
    );
  };
  const fieldsUrl = (c: C, e: EventRow) => `${eventUrl(c, e)}/form/fields`;

  /** htmx asked for the list only; a plain form gets the whole page (errors) or a redirect. */
  const afterListChange = (c: C, e: EventRow, outcome: { ok: true; done: string } | { ok: false; message: string; status: ContentfulStatusCode }) => {
    if (isHtmx(c)) {
      const flash: FlashMsg = outcome.ok ? { kind: 'ok', text: outcome.done === 'removed' ? 'Field removed.' : 'Field moved.' } : { kind: 'error', text: outcome.message };
      return c.html(<FieldList csrf={c.get('csrfToken')} base={fieldsUrl(c, e)} fields={c.get('app').events.fields(e)} canWrite flash={flash} />, outcome.ok ? 200 : outcome.status);
    }
    if (!outcome.ok) return builderPage(c, e, { flash: { kind: 'error', text: outcome.message } }, outcome.status);
    return c.redirect(`${eventUrl(c, e)}/form?done=${outcome.done}`, 303);
  };

  const loadField = (c: C, e: EventRow): FieldRow | undefined => {
    const id = c.req.param('fieldId') ?? '';
    return uuid.test(id) ? c.get('app').events.field(e, id) : undefined;
  };
  const noField = (c: C) => errorResponse(c, 404, 'Field not found', 'This registration form has no such field.');

  r.get('/orgs/:orgSlug/events/:eventId/form', read, (c) => {
    const l = loadEvent(c);
    return 'response' in l ? l.response : builderPage(c, l.event);
  });

  r.post('/orgs/:orgSlug/events/:eventId/form/fields', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const form = await parseForm(c, fieldSchema.extend({ type: z.enum(fieldTypeNames, 'Choose a field type from the list.') }));
    if (!form.ok) return builderPage(c, e, { errors: form.errors, values: form.values }, 400);
    const input = fieldInput(form.data.type, form.data);
    if (!input.ok) return builderPage(c, e, { errors: input.errors, values: asValues(form.data) }, 400);
    const res = c.get('app').events.addField(e, input.input, auditCtx(c, e.org_id));
    if (!res.ok) return builderPage(c, e, { errors: res.error === 'options' ? { options: res.message } : { label: res.message }, values: asValues(form.data) }, 409);
    return c.redirect(`${eventUrl(c, e)}/form?done=added`, 303);
  });

  r.get('/orgs/:orgSlug/events/:eventId/form/fields/:fieldId', write, (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const field = loadField(c, l.event);
    if (!field) return noField(c);
    return render(c, `Edit field · ${l.event.title}`, <FieldEditPage csrf={c.get('csrfToken')} org={c.get('org')} role={roleOf(c)} e={l.event} field={field} values={fieldValues(field)} />);
  });

  r.post('/orgs/:orgSlug/events/:eventId/form/fields/:fieldId', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const field = loadField(c, e);
    if (!field) return noField(c);
    const page = (errors: FieldErrors, values: Values) => render(c, `Edit field · ${e.title}`, <FieldEditPage csrf={c.get('csrfToken')} org={c.get('org')} role={roleOf(c)} e={e} field={field} errors={errors} values={values} />, 400);
    const form = await parseForm(c, fieldSchema);
    if (!form.ok) return page(form.errors, form.values);
    const input = fieldInput(field.type, form.data);
    if (!input.ok) return page(input.errors, asValues(form.data));
    const res = c.get('app').events.updateField(e, field, input.input, auditCtx(c, e.org_id));
    if (!res.ok) return page({ options: res.message }, asValues(form.data));
    return c.redirect(`${eventUrl(c, e)}/form?done=saved`, 303);
  });

  r.post('/orgs/:orgSlug/events/:eventId/form/fields/:fieldId/remove', write, (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const field = loadField(c, l.event);
    if (!field) return noField(c);
    const res = c.get('app').events.removeField(l.event, field, auditCtx(c, l.event.org_id));
    return afterListChange(c, l.event, res.ok ? { ok: true, done: 'removed' } : { ok: false, message: res.message, status: 409 });
  });

  r.post('/orgs/:orgSlug/events/:eventId/form/fields/:fieldId/move', write, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const field = loadField(c, l.event);
    if (!field) return noField(c);
    const form = await parseForm(c, z.object({ direction: z.enum(['up', 'down'], 'Choose up or down.') }));
    if (!form.ok) return afterListChange(c, l.event, { ok: false, message: 'Choose up or down.', status: 400 });
    c.get('app').events.moveField(l.event, field.id, form.data.direction, auditCtx(c, l.event.org_id));
    return afterListChange(c, l.event, { ok: true, done: 'moved' });
  });

  return app;
}


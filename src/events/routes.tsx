/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { DescriptionPreview, EventFormPage } from '../../views/events/edit.tsx';
import { EventsListPage } from '../../views/events/list.tsx';
import { EventDashboard } from '../../views/events/overview.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import { errorResponse } from '../http/error-page.tsx';
import { CONTROL_CHARS, type FieldErrors, parseForm } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { requireRecentAuth } from '../http/reauth.ts';
import { render } from '../http/render.tsx';
import type { AppEnv } from '../http/types.ts';
import { roleHas } from '../orgs/permissions.ts';
import { loadEvent } from './load.ts';
import { renderMarkdown } from './markdown.ts';
import type { EventRow } from './repo.ts';
import type { StatusAction } from './service.ts';
import { qrSvg } from '../auth/totp.ts';
import { timeZones, utcToZoned } from './zoned-time.ts';
import { type TimeField, readEventForm, timeFields, timeLabels, valuesOf } from './event-form.ts';
import { type C, type Values, bad, eventUrl, eventsUrl, expirySchema, multiline, read, roleOf, write } from './route-helpers.ts';

// ---- flashes ---------------------------------------------------------------------------------------------

const eventFlashes: Record<string, string> = {
  created: 'Event created as a draft. Add the registration form fields, then publish it.',
  saved: 'Changes saved.',
  published: 'Event published.',
  closed: 'Registration closed.',
  reopened: 'Registration reopened: the event is published again.',
  archived: 'Event archived: its public page is offline.',
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

/** The flash key each status change redirects with. */
const statusDone: Record<StatusAction, string> = { publish: 'published', close: 'closed', reopen: 'reopened', archive: 'archived' };

/** The organizer's event pages: list, create/edit (with the delete danger zone), overview, status. Access (passcode, share links) is in `access-routes.tsx`, the form builder in `form-routes.tsx`. */
export function eventAdminRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

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

  const formPage = (c: C, p: { e?: EventRow; values: Values; errors?: FieldErrors; flash?: FlashMsg; deleteError?: string }, status: ContentfulStatusCode = 200) => {
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
        danger={p.e && roleHas(roleOf(c), 'events.write') ? { action: `${eventUrl(c, p.e)}/delete`, slug: p.e.slug, error: p.deleteError } : undefined}
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
    return formPage(c, { values: { timezone: c.get('app').instanceSettings.timeZone(), duplicate_policy: 'reject', access_mode: 'public', organizer_contact, privacy_notice, controller_contact } });
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

  const dashboard = async (c: C, e: EventRow, extra: { flash?: FlashMsg } = {}, status: ContentfulStatusCode = 200) => {
    const ctx = c.get('app');
    const publicUrl = `${ctx.baseUrl()}/e/${e.slug}`;
    return render(
      c,
      e.title,
      <EventDashboard
        csrf={c.get('csrfToken')}
        org={c.get('org')}
        role={roleOf(c)}
        e={e}
        counts={ctx.stats.countsOf(e)}
        perDay={ctx.stats.perDayOfEvent(e)}
        publicUrl={publicUrl}
        qrSvg={await qrSvg(publicUrl)}
        canWrite={roleHas(roleOf(c), 'events.write')}
        statusActions={ctx.events.statusActions(e)}
        passcodeState={ctx.events.passcodeState(e)}
        retention={ctx.retention.schedule(e.org_id, e.id)}
        flash={extra.flash ?? flashOf(c, e)}
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
      return formPage(c, { e, values: form.values, errors: { access_mode: 'Set a passcode under Access first: this event is public now and would become unreachable.' } }, 409);
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
    const redirect = requireRecentAuth(c, `${eventUrl(c, e)}/edit#delete`);
    if (redirect) return redirect;
    const org = c.get('org');
    const form = await parseForm(c, z.object({ confirm_slug: z.string().trim().max(100).default('') }));
    if (!form.ok || form.data.confirm_slug !== e.slug) {
      return formPage(c, { e, values: valuesOf(e), deleteError: `Type ${e.slug} exactly to confirm.`, flash: { kind: 'error', text: 'The event was not deleted.' } }, 400);
    }
    c.get('app').events.delete(org, e, auditCtx(c, org.id));
    return c.redirect(`${eventsUrl(c)}?done=deleted`, 303);
  });

  return app;
}

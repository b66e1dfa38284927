/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { AdminRetentionPage, EventRetentionPage, type FieldPolicyView, OrgRetentionPage } from '../../views/privacy/retention.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import { loadEvent } from '../events/load.ts';
import type { EventRow } from '../events/repo.ts';
import { errorResponse } from '../http/error-page.tsx';
import { type FieldErrors, parseForm } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { render } from '../http/render.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import type { AppEnv } from '../http/types.ts';
import { holdInput } from './holds.ts';

type C = Context<AppEnv>;

const EV = '/orgs/:orgSlug/events/:eventId';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Empty = inherit; otherwise whole days. The range check is the service's (it knows the instance's). */
const optionalDays = z
  .string()
  .default('')
  .transform((v) => v.trim())
  .pipe(z.string()
  .regex(/^\d{0,5}$/, 'Enter a whole number of days, or leave it empty.'))
  .transform((v) => (v === '' ? null : Number(v)));
const days = z.coerce.number({ error: 'Enter a whole number of days.' }).int('Enter a whole number of days.').min(0, 'At least 0 days.').max(36500, 'At most 36500 days.');
const instanceForm = z.object({ defaultDays: days, minDays: days, maxDays: days, warnDays: days });
const saved: FlashMsg = { kind: 'ok', text: 'Retention saved.' };

/** Retention settings (instance, organization, event, field), the ledger page, and legal holds. */
export function privacyRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  // ---- instance ------------------------------------------------------------------------------
  const adminPage = (c: C, extra: { flash?: FlashMsg; errors?: FieldErrors; values?: Record<string, string> } = {}, status: 200 | 400 = 200) =>
    render(c, 'Retention', <AdminRetentionPage csrf={c.get('csrfToken')} policy={c.get('app').retention.instancePolicy()} canEdit {...extra} />, status);

  r.get('/admin/retention', { kind: 'instance-admin' }, (c) => adminPage(c, c.req.query('done') === 'saved' ? { flash: saved } : {}));
  r.post('/admin/retention', { kind: 'instance-admin' }, async (c) => {
    const form = await parseForm(c, instanceForm);
    if (!form.ok) return adminPage(c, { errors: form.errors, values: form.values }, 400);
    const res = c.get('app').retention.setInstancePolicy(form.data, auditCtx(c));
    if (!res.ok) return adminPage(c, { flash: { kind: 'error', text: res.message }, values: Object.fromEntries(Object.entries(form.data).map(([k, v]) => [k, String(v)])) }, 400);
    return c.redirect('/admin/retention?done=saved', 303);
  });

  // ---- organization --------------------------------------------------------------------------
  const orgPage = (c: C, extra: { flash?: FlashMsg; errors?: FieldErrors; values?: Record<string, string> } = {}, status: 200 | 400 = 200) => {
    const ctx = c.get('app');
    const org = c.get('org');
    const events = ctx.events
      .list(org, c.get('membership'))
      .map((e) => ({ e, s: ctx.retention.schedule(org.id, e.id) }))
      .filter((x) => x.s !== undefined)
      .map(({ e, s }) => ({ title: e.title, url: `/orgs/${org.slug}/events/${e.id}`, eraseOn: s!.eraseOn }));
    const titles = new Map(ctx.events.list(org, null).map((e) => [e.id, e.title]));
    const ledger = ctx.erasure.ledgerOf(org.id, 200).map((l) => ({
      at: l.at.slice(0, 16).replace('T', ' '),
      reason: l.reason,
      event: (l.event_id && titles.get(l.event_id)) || '—',
      registrations: (JSON.parse(l.registration_ids) as string[]).length,
      fields: (JSON.parse(l.fields) as string[]).join(', ').replace('*', 'all personal data'),
    }));
    return render(
      c,
      'Retention and erasure',
      <OrgRetentionPage csrf={c.get('csrfToken')} orgName={org.name} action={`/orgs/${org.slug}/retention`} orgDays={ctx.retention.orgDays(org.id)} policy={ctx.retention.instancePolicy()} events={events} ledger={ledger} {...extra} />,
      status,
    );
  };
  r.get('/orgs/:orgSlug/retention', { kind: 'org', permission: 'org.settings' }, (c) => orgPage(c, c.req.query('done') === 'saved' ? { flash: saved } : {}));
  r.post('/orgs/:orgSlug/retention', { kind: 'org', permission: 'org.settings' }, async (c) => {
    const form = await parseForm(c, z.object({ days: optionalDays }));
    if (!form.ok) return orgPage(c, { errors: form.errors, values: form.values }, 400);
    const org = c.get('org');
    const res = c.get('app').retention.setOrgDays(org.id, form.data.days, auditCtx(c, org.id));
    if (!res.ok) return orgPage(c, { errors: { days: res.message }, values: { days: String(form.data.days ?? '') } }, 400);
    return c.redirect(`/orgs/${org.slug}/retention?done=saved`, 303);
  });

  // ---- event and fields ----------------------------------------------------------------------
  const withEvent = (c: C, fn: (e: EventRow) => Response | Promise<Response>) => {
    const l = loadEvent(c);
    return 'response' in l ? l.response : fn(l.event);
  };
  const eventPage = (c: C, e: EventRow, extra: { flash?: FlashMsg; errors?: FieldErrors; values?: Record<string, string> } = {}, status: 200 | 400 = 200) => {
    const ctx = c.get('app');
    const org = c.get('org');
    const settings = ctx.retention.eventSettings(org.id, e.id);
    const fields: FieldPolicyView[] = settings.fields;
    const base = `/orgs/${org.slug}/events/${e.id}`;
    return render(
      c,
      `Retention · ${e.title}`,
      <EventRetentionPage csrf={c.get('csrfToken')} title={e.title} back={base} action={`${base}/retention`} schedule={ctx.retention.schedule(org.id, e.id)!} eventDays={settings.days} orgDays={ctx.retention.orgDays(org.id)} policy={ctx.retention.instancePolicy()} fields={fields} {...extra} />,
      status,
    );
  };
  r.get(`${EV}/retention`, { kind: 'org', permission: 'events.write' }, (c) => withEvent(c, (e) => eventPage(c, e, c.req.query('done') === 'saved' ? { flash: saved } : {})));
  r.post(`${EV}/retention`, { kind: 'org', permission: 'events.write' }, (c) =>
    withEvent(c, async (e) => {
      const ctx = c.get('app');
      const org = c.get('org');
      const keys = ctx.retention.eventSettings(org.id, e.id).fields.map((f) => f.key);
      const schema = z.object({ days: optionalDays, ...Object.fromEntries(keys.map((k) => [`field_${k}`, optionalDays])) });
      const form = await parseForm(c, schema);
      if (!form.ok) return eventPage(c, e, { errors: form.errors, values: form.values }, 400);
      const data = form.data as Record<string, number | null>;
      const errors: FieldErrors = {};
      const actx = auditCtx(c, org.id);
      const ev = ctx.retention.setEventDays(org.id, e.id, data.days ?? null, actx);
      if (!ev.ok) errors.days = ev.message;
      for (const k of keys) {
        const res = ctx.retention.setFieldDays(org.id, e.id, k, data[`field_${k}`] ?? null, actx);
        if (!res.ok) errors[`field_${k}`] = res.message;
      }
      if (Object.keys(errors).length) {
        const values = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v === null ? '' : String(v)]));
        return eventPage(c, e, { errors, values }, 400);
      }
      return c.redirect(`/orgs/${org.slug}/events/${e.id}/retention?done=saved`, 303);
    }),
  );

  // ---- legal holds ---------------------------------------------------------------------------
  const withRegistration = (c: C, fn: (e: EventRow, regId: string) => Response | Promise<Response>) =>
    withEvent(c, (e) => {
      const id = c.req.param('regId') ?? '';
      const reg = UUID.test(id) ? c.get('app').attendees.get(e, id) : undefined;
      return reg ? fn(e, reg.id) : errorResponse(c, 404, 'Registration not found', 'There is no such registration for this event.');
    });
  const detail = (c: C, e: EventRow, regId: string, done: string) => c.redirect(`/orgs/${c.get('org').slug}/events/${e.id}/attendees/${regId}?done=${done}`, 303);

  r.post(`${EV}/attendees/:regId/holds`, { kind: 'org', permission: 'attendees.write' }, (c) =>
    withRegistration(c, async (e, regId) => {
      const form = await parseForm(c, holdInput);
      if (!form.ok) return errorResponse(c, 400, 'Hold not placed', Object.values(form.errors)[0] ?? 'Give a reason and an end date.');
      const res = c.get('app').holds.place(e.org_id, regId, form.data, auditCtx(c, e.org_id));
      if (!res.ok) return errorResponse(c, res.error === 'unknown' ? 404 : 400, 'Hold not placed', res.message);
      return detail(c, e, regId, 'held');
    }),
  );
  r.post(`${EV}/attendees/:regId/holds/release`, { kind: 'org', permission: 'attendees.write' }, (c) =>
    withRegistration(c, async (e, regId) => {
      const form = await parseForm(c, z.object({ hold: z.string().regex(UUID, 'Which hold?') }));
      if (!form.ok) return errorResponse(c, 400, 'Hold not released', 'Which hold?');
      if (!c.get('app').holds.release(e.org_id, regId, form.data.hold, auditCtx(c, e.org_id))) return errorResponse(c, 404, 'Hold not found', 'There is no active hold with that id on this registration.');
      return detail(c, e, regId, 'released');
    }),
  );
  return app;
}

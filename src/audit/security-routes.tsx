/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { IncidentFormPage, IncidentPage } from '../../views/audit/incidents.tsx';
import { IncidentReportDocument } from '../../views/audit/incident-report.tsx';
import type { IncidentView } from './incidents.ts';
import { SecurityPage } from '../../views/audit/security.tsx';
import { errorResponse } from '../http/error-page.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import { parseForm } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { render } from '../http/render.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import type { AppEnv } from '../http/types.ts';
import { roleHas } from '../orgs/permissions.ts';

type C = Context<AppEnv>;
const whole = (min: number, max: number) => z.coerce.number({ error: `A whole number from ${min} to ${max}.` }).int(`A whole number from ${min} to ${max}.`).min(min, `At least ${min}.`).max(max, `At most ${max}.`);

/** The organization's Security page: its alerts, and the thresholds of the rules that raise them. */
export function securityRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);
  const page = (c: C, extra: { flash?: FlashMsg | undefined; errors?: Record<string, string> } = {}, status: ContentfulStatusCode = 200) => {
    const ctx = c.get('app');
    const org = c.get('org');
    const role = c.get('membership')!.role;
    ctx.audit.record(auditCtx(c, org.id), 'security.alerts_viewed', { type: 'organization', id: org.id });
    return render(c, 'Security', <SecurityPage org={org} role={role} csrf={c.get('csrfToken') ?? ''} alerts={ctx.alerts.list(org.id)} thresholds={ctx.alertRules.thresholds(org.id)} canSettings={roleHas(role, 'org.settings')} incidents={ctx.incidents.list(org.id)} {...extra} />, status);
  };

  r.get('/orgs/:orgSlug/security', { kind: 'org', permission: 'audit.read' }, (c) => page(c, { flash: c.req.query('done') === 'saved' ? { kind: 'ok', text: 'Thresholds saved.' } : undefined }));

  r.post('/orgs/:orgSlug/security/thresholds', { kind: 'org', permission: 'org.settings' }, async (c) => {
    const form = await parseForm(c, z.object({ failed_n: whole(2, 1000), failed_minutes: whole(1, 1440), reads_n: whole(10, 1_000_000), reads_minutes: whole(1, 1440) }));
    if (!form.ok) return page(c, { errors: form.errors, flash: { kind: 'error', text: 'Nothing was saved: correct the marked fields.' } }, 400);
    const ctx = c.get('app');
    const org = c.get('org');
    const d = form.data;
    ctx.writer.tx(() => {
      ctx.alertRules.setThresholds(org.id, { failedLogins: { n: d.failed_n, minutes: d.failed_minutes }, personalReads: { n: d.reads_n, minutes: d.reads_minutes } });
      ctx.audit.record(auditCtx(c, org.id), 'security.thresholds_changed', { type: 'organization', id: org.id }, 'success', { ...d });
    });
    return c.redirect(`/orgs/${org.slug}/security?done=saved`, 303);
  });

  // ---- incidents (GDPR Art. 33) ----------------------------------------------------------------
  const INC = '/orgs/:orgSlug/security/incidents';
  const manage = { kind: 'org' as const, permission: 'org.settings' as const };
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const withIncident = (c: C, fn: (i: NonNullable<ReturnType<C['var']['app']['incidents']['get']>>) => Response | Promise<Response>) => {
    const id = c.req.param('incidentId') ?? '';
    const i = UUID.test(id) ? c.get('app').incidents.get(c.get('org').id, id) : undefined;
    return i ? fn(i) : errorResponse(c, 404, 'Incident not found', 'There is no such incident in this organization.');
  };
  const utcMinute = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})$/;
  const incidentSchema = z.object({
    title: z.string().trim().min(1, 'Give the incident a title.').max(200),
    what_happened: z.string().trim().max(5000).default(''),
    affected_data: z.string().trim().max(2000).default(''),
    likely_consequences: z.string().trim().max(5000).default(''),
    measures_taken: z.string().trim().max(5000).default(''),
    affected_people: z.union([z.literal(''), whole(0, 100_000_000)]).default(''),
    aware_at: z.string().trim().regex(utcMinute, 'A time as YYYY-MM-DD HH:MM (UTC).').refine((v) => !Number.isNaN(Date.parse(v.replace(' ', 'T') + ':00Z')), 'This time does not exist.'),
    alert_id: z.union([z.literal(''), z.coerce.number().int().min(1)]).default(''),
  });
  const formPage = (c: C, values: Record<string, string>, errors?: Record<string, string>, status: ContentfulStatusCode = 200) => {
    const alertId = Number(values.alert_id);
    const computed = Number.isInteger(alertId) && alertId > 0 ? c.get('app').incidents.computedPeople(c.get('org').id, alertId) : null;
    return render(c, 'Declare an incident', <IncidentFormPage org={c.get('org')} role={c.get('membership')!.role} csrf={c.get('csrfToken') ?? ''} values={values} computed={computed} {...(errors ? { errors } : {})} />, status);
  };

  r.get(`${INC}/new`, manage, (c) => {
    const alert = z.coerce.number().int().min(1).safeParse(c.req.query('alert'));
    const now = new Date(c.get('app').now()).toISOString();
    return formPage(c, { aware_at: `${now.slice(0, 10)} ${now.slice(11, 16)}`, ...(alert.success ? { alert_id: String(alert.data) } : {}) });
  });

  r.post(INC, manage, async (c) => {
    const form = await parseForm(c, incidentSchema);
    if (!form.ok) return formPage(c, form.values, form.errors, 400);
    const d = form.data;
    const app = c.get('app');
    const org = c.get('org');
    const inc = app.incidents.declare(org, { title: d.title, what_happened: d.what_happened, affected_data: d.affected_data, likely_consequences: d.likely_consequences, measures_taken: d.measures_taken, affected_people: d.affected_people === '' ? null : d.affected_people, aware_at: Date.parse(d.aware_at.replace(' ', 'T') + ':00Z'), alert_id: d.alert_id === '' ? null : d.alert_id }, auditCtx(c, org.id));
    const view = app.incidents.get(org.id, inc.id);
    if (view) app.incidents.notify(org, view, auditCtx(c, org.id));
    return c.redirect(`/orgs/${org.slug}/security/incidents/${inc.id}?done=declared`, 303);
  });

  const incFlash: Record<string, FlashMsg> = {
    declared: { kind: 'ok', text: 'Incident declared; the owners and admins were emailed.' },
    notified: { kind: 'ok', text: 'The owners and admins were emailed.' },
    authority: { kind: 'ok', text: 'Recorded: the authority was told.' },
  };
  r.get(`${INC}/:incidentId`, { kind: 'org', permission: 'audit.read' }, (c) =>
    withIncident(c, (i) => {
      const role = c.get('membership')!.role;
      c.get('app').audit.record(auditCtx(c, c.get('org').id), 'security.incident_viewed', { type: 'incident', id: i.id });
      return render(c, `Incident: ${i.title}`, <IncidentPage org={c.get('org')} role={role} csrf={c.get('csrfToken') ?? ''} i={i} canManage={roleHas(role, 'org.settings')} flash={incFlash[c.req.query('done') ?? '']} />);
    }),
  );
  // The report for the authority: the same facts as a printable page and as JSON; both audited.
  const report = (c: C, i: IncidentView, format: 'html' | 'json') => {
    const app = c.get('app');
    app.audit.record(auditCtx(c, c.get('org').id), 'security.incident_report', { type: 'incident', id: i.id }, 'success', { format });
    return app.incidents.report(c.get('org'), i);
  };
  r.get(`${INC}/:incidentId/report`, { kind: 'org', permission: 'audit.read' }, (c) =>
    withIncident(c, (i) => {
      c.header('Cache-Control', 'no-store');
      return c.html(<IncidentReportDocument r={report(c, i, 'html')} i={i} back={`/orgs/${c.get('org').slug}/security/incidents/${i.id}`} />);
    }),
  );
  r.get(`${INC}/:incidentId/report.json`, { kind: 'org', permission: 'audit.read' }, (c) =>
    withIncident(c, (i) => c.body(`${JSON.stringify(report(c, i, 'json'), null, 2)}\n`, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Disposition': 'attachment; filename="incident-report.json"', 'Cache-Control': 'no-store' })),
  );
  r.post(`${INC}/:incidentId/notify`, manage, (c) =>
    withIncident(c, (i) => {
      c.get('app').incidents.notify(c.get('org'), i, auditCtx(c, c.get('org').id));
      return c.redirect(`/orgs/${c.get('org').slug}/security/incidents/${i.id}?done=notified`, 303);
    }),
  );
  r.post(`${INC}/:incidentId/authority`, manage, (c) =>
    withIncident(c, (i) => {
      if (!c.get('app').incidents.authorityNotified(i.org_id, i.id, auditCtx(c, c.get('org').id))) return errorResponse(c, 409, 'Already recorded', 'The authority was already recorded as told.');
      return c.redirect(`/orgs/${c.get('org').slug}/security/incidents/${i.id}?done=authority`, 303);
    }),
  );

  return app;
}

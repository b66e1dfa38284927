/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import { stream } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { AccessLogPage } from '../../views/admin/access-log.tsx';
import { AdminAuditEntryPage, AdminAuditPage } from '../../views/admin/audit.tsx';
import { AuditResults } from '../../views/audit/search.tsx';
import { AuditEntryPage, AuditPage } from '../../views/orgs/audit.tsx';
import type { AppContext } from '../app-context.ts';
import { errorResponse } from '../http/error-page.tsx';
import { answerFormBody } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { render } from '../http/render.tsx';
import { isHtmx, type RouteTable } from '../http/route-permissions.ts';
import type { AppEnv } from '../http/types.ts';
import { accessLogDays, readAccessLog } from './access-log.ts';
import { type NameSources, namesFor } from './names.ts';
import type { AuditRow } from './repo.ts';
import { type AuditFilter, filterInput, filterSchema } from './search.ts';

type C = Context<AppEnv>;
const seqParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const personSchema = z.union([z.literal(''), z.string().trim().max(254).pipe(z.email('Enter the attendee’s email address.'))]).default('');
const ACCESS_PAGE = 100;

function nameSources(ctx: AppContext, orgNames: Map<string, string>): NameSources {
  return {
    user: (id) => ctx.auth.user(id)?.name || undefined,
    org: (id) => orgNames.get(id),
    event: (orgId, id) => ctx.events.eventById(orgId, id)?.title,
    token: (orgId, id) => ctx.orgs.tokens(orgId).find((t) => t.id === id)?.name,
  };
}

type Parsed = { ok: true; filter: AuditFilter; person: string } | { ok: false; errors: Record<string, string>; filter: AuditFilter };

/** The filter from the query string (GET: paging, links) or the form body (POST: may hold a person's email). */
async function parseFilter(c: C): Promise<Parsed> {
  let raw: Record<string, unknown>;
  let person: unknown = '';
  if (c.req.method === 'POST') {
    const body = await answerFormBody(c);
    const one = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
    raw = filterInput(one, (k) => (Array.isArray(body[k]) ? (body[k] as string[]) : typeof body[k] === 'string' ? [body[k] as string] : undefined));
    person = body.person ?? '';
  } else {
    raw = filterInput((k) => c.req.query(k), (k) => c.req.queries(k));
  }
  const parsed = filterSchema.safeParse(raw);
  const p = personSchema.safeParse(person);
  if (parsed.success && p.success) return { ok: true, filter: parsed.data, person: p.data };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error?.issues ?? []) errors[String(issue.path[0] ?? 'filter')] ??= issue.message;
  if (!p.success) errors.person = p.error.issues[0]?.message ?? 'Enter an email address.';
  // Show the page again with what was valid kept; the person's email is never echoed back.
  return { ok: false, errors, filter: filterSchema.parse({ subject: [] }) };
}

/** Audit log pages: an organization's (audit.read) and the whole instance's, the access log viewer. */
export function auditRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  // ---- an organization's log -------------------------------------------------------------------

  const orgPage = async (c: C) => {
    const ctx = c.get('app');
    const org = c.get('org');
    const role = c.get('membership')!.role;
    const base = `/orgs/${org.slug}/audit`;
    const parsed = await parseFilter(c);
    let filter = parsed.filter;
    if (parsed.ok && parsed.person) {
      // The email becomes its pseudonyms here and goes no further (not into a link, not into the log).
      filter = { ...filter, subject: ctx.auditSearch.pseudonymsOf(org.id, parsed.person), before: undefined };
      ctx.auditSearch.personSearched(org.id, auditCtx(c, org.id));
    }
    const { rows, next } = parsed.ok ? ctx.auditSearch.search(org.id, filter) : { rows: [] as AuditRow[], next: null };
    const names = namesFor(rows, nameSources(ctx, new Map([[org.id, org.name]])));
    const props = { base, csrf: c.get('csrfToken') ?? '', filter, rows, next, names, errors: parsed.ok ? undefined : parsed.errors };
    if (isHtmx(c) && c.req.method === 'GET') return c.html(<AuditResults {...props} />);
    return render(c, `Audit log · ${org.name}`, <AuditPage {...props} org={org} role={role} retentionDays={ctx.logRetention.policy.auditDays} />, parsed.ok ? 200 : 400);
  };
  r.get('/orgs/:orgSlug/audit', { kind: 'org', permission: 'audit.read' }, orgPage);
  r.post('/orgs/:orgSlug/audit', { kind: 'org', permission: 'audit.read' }, orgPage);

  r.get('/orgs/:orgSlug/audit/entries/:seq', { kind: 'org', permission: 'audit.read' }, (c) => {
    const ctx = c.get('app');
    const org = c.get('org');
    const seq = seqParam.safeParse(c.req.param('seq'));
    const row = seq.success ? ctx.auditSearch.entry(org.id, seq.data) : undefined;
    if (!row) return errorResponse(c, 404, 'Entry not found', 'This organization’s audit log has no such entry.');
    return render(c, `Audit entry ${row.seq} · ${org.name}`, <AuditEntryPage org={org} role={c.get('membership')!.role} row={row} names={namesFor([row], nameSources(ctx, new Map([[org.id, org.name]])))} />);
  });

  const exportResponse = async (c: C, orgId: string | null, format: 'csv' | 'json') => {
    const ctx = c.get('app');
    const parsed = await parseFilter(c);
    if (!parsed.ok) return errorResponse(c, 400, 'Filter not accepted', Object.values(parsed.errors).join(' '));
    const lines = ctx.auditSearch.export(orgId, parsed.filter, format, auditCtx(c, orgId));
    c.header('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');
    c.header('Content-Disposition', `attachment; filename="audit-${new Date(ctx.now()).toISOString().slice(0, 10)}.${format}"`);
    c.header('Cache-Control', 'no-store');
    return stream(c, async (s) => {
      for (const chunk of lines) {
        if (s.aborted) return;
        await s.write(chunk);
      }
    });
  };
  for (const format of ['csv', 'json'] as const) {
    r.get(`/orgs/:orgSlug/audit/export.${format}`, { kind: 'org', permission: 'audit.read' }, (c) => exportResponse(c, c.get('org').id, format));
    r.get(`/admin/audit/export.${format}`, { kind: 'instance-admin' }, (c) => exportResponse(c, null, format));
  }

  // ---- the instance's log ----------------------------------------------------------------------

  const adminPage = async (c: C, flash?: { kind: 'ok' | 'error'; text: string }, status: ContentfulStatusCode = 200) => {
    const ctx = c.get('app');
    const parsed = await parseFilter(c);
    let filter = parsed.filter;
    const errors = parsed.ok ? undefined : { ...parsed.errors };
    const orgs = ctx.auditSearch.organizations();
    if (parsed.ok && parsed.person) {
      // A pseudonym belongs to one organization: the person search needs it chosen.
      if (!orgs.some((o) => o.id === filter.scope)) return renderAdmin(c, filter, [], null, { scope: 'Choose the organization to search the person in.' }, orgs, flash, 400);
      filter = { ...filter, subject: ctx.auditSearch.pseudonymsOf(filter.scope, parsed.person), before: undefined };
      ctx.auditSearch.personSearched(filter.scope, auditCtx(c));
    }
    const { rows, next } = parsed.ok ? ctx.auditSearch.search(null, filter) : { rows: [] as AuditRow[], next: null };
    if (isHtmx(c) && c.req.method === 'GET') {
      const names = namesFor(rows, nameSources(ctx, new Map(orgs.map((o) => [o.id, o.name]))));
      return c.html(<AuditResults base="/admin/audit" csrf={c.get('csrfToken') ?? ''} filter={filter} rows={rows} next={next} names={names} showOrg />);
    }
    return renderAdmin(c, filter, rows, next, errors, orgs, flash, parsed.ok ? status : 400);
  };

  const renderAdmin = (c: C, filter: AuditFilter, rows: AuditRow[], next: number | null, errors: Record<string, string> | undefined, orgs: { id: string; name: string }[], flash: { kind: 'ok' | 'error'; text: string } | undefined, status: ContentfulStatusCode) => {
    const ctx = c.get('app');
    const denials = ctx.denials.recent(20);
    const names = namesFor(rows, nameSources(ctx, new Map(orgs.map((o) => [o.id, o.name]))));
    for (const d of denials) if (d.actor_type === 'user') names.set(`user:${d.actor_id}`, ctx.auth.user(d.actor_id)?.name ?? d.actor_id.slice(0, 8));
    const cp = ctx.audit.checkpoint();
    const extra = {
      chain: ctx.chainStatus.latest(),
      checking: ctx.chainStatus.isRunning,
      retention: ctx.logRetention.policy,
      pruned: cp.state === 'ok' ? { seq: cp.row.seq, total: cp.row.pruned_total, lastAt: cp.row.last_at } : undefined,
      denials,
      flash: flash ?? (c.req.query('done') === 'verified' ? { kind: 'ok' as const, text: 'Chain check finished: see the status below.' } : undefined),
    };
    return render(c, 'Audit log', <AdminAuditPage base="/admin/audit" csrf={c.get('csrfToken') ?? ''} filter={filter} rows={rows} next={next} names={names} errors={errors} scopes={orgs} showOrg extra={extra} />, status);
  };

  r.get('/admin/audit', { kind: 'instance-admin' }, (c) => adminPage(c));
  r.post('/admin/audit', { kind: 'instance-admin' }, (c) => adminPage(c));

  r.get('/admin/audit/entries/:seq', { kind: 'instance-admin' }, (c) => {
    const ctx = c.get('app');
    const seq = seqParam.safeParse(c.req.param('seq'));
    const row = seq.success ? ctx.auditSearch.entry(null, seq.data) : undefined;
    if (!row) return errorResponse(c, 404, 'Entry not found', 'The audit log has no such entry (it may have been removed by retention).');
    const orgs = new Map(ctx.auditSearch.organizations().map((o) => [o.id, o.name]));
    return render(c, `Audit entry ${row.seq}`, <AdminAuditEntryPage row={row} names={namesFor([row], nameSources(ctx, orgs))} />);
  });

  /** Verifies the whole chain now; waits for the result (it yields to other requests while it walks). */
  r.post('/admin/audit/verify', { kind: 'instance-admin' }, async (c) => {
    await c.get('app').chainStatus.run('manual', auditCtx(c));
    return c.redirect('/admin/audit?done=verified#chain-status', 303);
  });

  // ---- access log ------------------------------------------------------------------------------

  const accessQuery = z.object({
    day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
    status: z.string().regex(/^([1-5]\d\d|[1-5]xx)?$/).default(''),
    route: z.string().max(200).default(''),
    user: z.string().max(64).default(''),
    skip: z.coerce.number().int().min(0).max(10_000_000).default(0),
  });
  r.get('/admin/access-log', { kind: 'instance-admin' }, async (c) => {
    const ctx = c.get('app');
    const q = accessQuery.safeParse(c.req.query());
    if (!q.success) return errorResponse(c, 400, 'Filter not accepted', 'Day is YYYY-MM-DD; status is a code like 404 or a class like 4xx.');
    const days = accessLogDays(ctx.accessLog.dir);
    ctx.accessLog.flush();
    const day = q.data.day ?? days[0] ?? new Date(ctx.now()).toISOString().slice(0, 10);
    const filter = { day, status: q.data.status, route: q.data.route, user: q.data.user, skip: q.data.skip };
    const { entries, more } = await readAccessLog(ctx.accessLog.dir, { day, status: filter.status, route: filter.route, userId: filter.user, skip: filter.skip }, ACCESS_PAGE);
    return render(c, 'Access log', <AccessLogPage filter={filter} days={days} entries={entries} more={more} retentionDays={ctx.logRetention.policy.accessLogDays} pageSize={ACCESS_PAGE} />);
  });

  return app;
}

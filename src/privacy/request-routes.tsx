/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { RequestDetailPage, RequestsPage } from '../../views/privacy/requests.tsx';
import type { FlashMsg } from '../../views/components/flash.tsx';
import { errorResponse } from '../http/error-page.tsx';
import { parseForm } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { requireRecentAuth } from '../http/reauth.ts';
import { render } from '../http/render.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import type { AppEnv } from '../http/types.ts';
import { roleHas } from '../orgs/permissions.ts';
import type { RequestView } from './requests.ts';

type C = Context<AppEnv>;

const BASE = '/orgs/:orgSlug/privacy';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TEXT_BAD = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const privacy = { kind: 'org' as const, permission: 'privacy.requests' as const };

const recordSchema = z.object({
  type: z.enum(['access', 'erasure', 'correction'], 'Choose the kind of request.'),
  email: z.string().trim().max(254).pipe(z.email('Enter a valid email address.')),
  message: z.string().trim().max(2000, 'At most 2000 characters.').refine((v) => !TEXT_BAD.test(v), 'Contains characters that are not allowed.').default(''),
});

const flashes: Record<string, FlashMsg> = {
  recorded: { kind: 'ok', text: 'Request recorded. The owners and admins were emailed about it.' },
  erased: { kind: 'ok', text: 'The person’s data was erased; they were emailed the receipt.' },
  completed: { kind: 'ok', text: 'Request marked as done.' },
  settings: { kind: 'ok', text: 'Saved.' },
};

/** The organizer's side of data-subject requests: the list, one request, and requests made another way. */
export function privacyRequestRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);
  const role = (c: C) => c.get('membership')!.role;
  const actx = (c: C) => auditCtx(c, c.get('org').id);
  const list = (c: C, extra: { flash?: FlashMsg | undefined; errors?: Record<string, string>; values?: Record<string, string> } = {}, status: ContentfulStatusCode = 200) =>
    render(c, 'Data requests', <RequestsPage org={c.get('org')} role={role(c)} csrf={c.get('csrfToken') ?? ''} rows={c.get('app').privacyRequests.list(c.get('org').id, actx(c))} canSettings={roleHas(role(c), 'org.settings')} {...extra} />, status);
  const withRequest = (c: C, fn: (req: RequestView) => Response | Promise<Response>) => {
    const id = c.req.param('requestId') ?? '';
    const req = UUID.test(id) ? c.get('app').privacyRequests.get(c.get('org').id, id, actx(c)) : undefined;
    return req ? fn(req) : errorResponse(c, 404, 'Request not found', 'There is no such request in this organization.');
  };

  r.get(`${BASE}/requests`, privacy, (c) => list(c, { flash: flashes[c.req.query('done') ?? ''] }));

  r.post(`${BASE}/requests`, privacy, async (c) => {
    const form = await parseForm(c, recordSchema);
    if (!form.ok) return list(c, { errors: form.errors, values: form.values }, 400);
    const app = c.get('app');
    const org = c.get('org');
    const { type, email, message } = form.data;
    if (type === 'erasure') {
      // Erasing someone's data cannot be undone: it needs a freshly confirmed identity.
      const again = requireRecentAuth(c, `/orgs/${org.slug}/privacy/requests`);
      if (again) return again;
      const { requestId } = app.selfService.erase(org.id, email, 'organizer', actx(c));
      return c.redirect(`/orgs/${org.slug}/privacy/requests/${requestId}?done=erased`, 303);
    }
    const req = app.privacyRequests.create(org.id, { type, channel: 'organizer', email, message, ...(type === 'access' ? { completed: { by: c.get('user')?.id ?? null, outcome: 'Data downloaded by staff from this record to hand over.' } } : {}) }, actx(c));
    return c.redirect(`/orgs/${org.slug}/privacy/requests/${req.id}?done=recorded`, 303);
  });

  r.get(`${BASE}/requests/:requestId`, privacy, (c) =>
    withRequest(c, (req) => render(c, 'Data request', <RequestDetailPage org={c.get('org')} role={role(c)} csrf={c.get('csrfToken') ?? ''} r={req} flash={flashes[c.req.query('done') ?? '']} />)),
  );

  r.get(`${BASE}/requests/:requestId/export.json`, privacy, (c) =>
    withRequest(c, (req) => {
      if (req.type !== 'access' || !req.email) return errorResponse(c, 409, 'Nothing to download', 'Only an access request with its address still on record has data to download.');
      const app = c.get('app');
      const v = app.selfService.view({ orgId: req.org_id, email: req.email, registrationId: null }, actx(c), 'staff');
      if (!v) return errorResponse(c, 404, 'Request not found', 'There is no such request in this organization.');
      return c.body(app.selfService.export(v, 'json', actx(c), 'staff'), 200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Disposition': 'attachment; filename="data-request.json"', 'Cache-Control': 'no-store' });
    }),
  );

  r.post(`${BASE}/requests/:requestId/complete`, privacy, async (c) => {
    const form = await parseForm(c, z.object({ outcome: z.string().trim().min(1, 'Say what was done.').max(2000).refine((v) => !TEXT_BAD.test(v), 'Contains characters that are not allowed.') }));
    return withRequest(c, (req) => {
      if (!form.ok) return errorResponse(c, 400, 'Not saved', form.errors.outcome ?? 'Say what was done.');
      if (!c.get('app').privacyRequests.complete(req.org_id, req.id, c.get('user')?.id ?? null, form.data.outcome, actx(c))) return errorResponse(c, 409, 'Already done', 'This request was already completed.');
      return c.redirect(`/orgs/${c.get('org').slug}/privacy/requests/${req.id}?done=completed`, 303);
    });
  });

  r.post(`${BASE}/settings`, { kind: 'org', permission: 'org.settings' }, async (c) => {
    const form = await parseForm(c, z.object({ show_staff_names: z.literal('on').optional() }));
    c.get('app').orgs.setShowStaffNames(c.get('org'), form.ok && form.data.show_staff_names === 'on', actx(c));
    return c.redirect(`/orgs/${c.get('org').slug}/privacy/requests?done=settings`, 303);
  });

  return app;
}

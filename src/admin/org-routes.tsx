/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { AdminOrgsPage } from '../../views/admin/orgs.tsx';
import { ADD_OWNER_REASONS, type AddOwnerReason } from '../orgs/directory.ts';
import type { FlashMsg } from '../../views/components/flash.tsx';
import { CONTROL_CHARS, parseForm } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { requireRecentAuth } from '../http/reauth.ts';
import { render } from '../http/render.tsx';
import type { RouteHelpers } from '../http/route-permissions.ts';
import type { AppEnv } from '../http/types.ts';

type C = Context<AppEnv>;
const ADMIN = { kind: 'instance-admin' } as const;
const orgIdParam = z.string().min(1).max(64);
const renameForm = z.object({
  name: z.string().trim().min(1, 'Enter a name.').max(120, 'Use at most 120 characters.').refine((v) => !CONTROL_CHARS.test(v), 'Remove the control characters.'),
});
const ownerForm = z.object({
  email: z.string().trim().min(3, 'Enter the address of an existing account.').max(254, 'Use at most 254 characters.').refine((v) => !CONTROL_CHARS.test(v) && v.includes('@'), 'Enter an email address.'),
  reason: z.enum(ADD_OWNER_REASONS.map(([v]) => v) as [AddOwnerReason, ...AddOwnerReason[]], 'Choose why.'),
});
const flashes: Record<string, string> = {
  renamed: 'Organization renamed.',
  'owner-added': 'Owner added. They can now manage the organization, its members and its settings.',
  suspended: 'Organization suspended: its members can no longer act in it, and its public pages say it is unavailable.',
  unsuspended: 'Suspension lifted: the organization works again.',
};

/** /admin/orgs: every organization with owners, members and storage; rename, add an owner, suspend, lift. */
export function orgAdminRoutes(r: RouteHelpers): void {
  const page = (c: C, opts: { flash?: FlashMsg; status?: ContentfulStatusCode; errors?: Record<string, string>; values?: Record<string, string> } = {}) => {
    const key = c.req.query('done');
    return render(
      c,
      'Organizations',
      <AdminOrgsPage csrf={c.get('csrfToken')} orgs={c.get('app').orgDirectory.list()} flash={opts.flash ?? (key && flashes[key] ? { kind: 'ok', text: flashes[key] } : undefined)} errors={opts.errors} values={opts.values} />,
      opts.status ?? 200,
    );
  };
  const missing = (c: C, message: string) => page(c, { flash: { kind: 'error', text: message }, status: 404 });

  r.get('/admin/orgs', ADMIN, (c) => page(c));

  r.post('/admin/orgs/:orgId/rename', ADMIN, async (c) => {
    const id = orgIdParam.parse(c.req.param('orgId'));
    const form = await parseForm(c, renameForm);
    if (!form.ok) return page(c, { flash: { kind: 'error', text: 'Not renamed: correct the name.' }, errors: form.errors, values: { ...form.values, org: id }, status: 400 });
    const res = c.get('app').orgDirectory.rename(id, form.data.name, auditCtx(c));
    return res.ok ? c.redirect('/admin/orgs?done=renamed', 303) : missing(c, res.message);
  });

  r.post('/admin/orgs/:orgId/owners', ADMIN, async (c) => {
    const redirect = requireRecentAuth(c, '/admin/orgs');
    if (redirect) return redirect;
    const id = orgIdParam.parse(c.req.param('orgId'));
    const form = await parseForm(c, ownerForm);
    if (!form.ok) return page(c, { flash: { kind: 'error', text: 'No owner added: correct the form.' }, errors: form.errors, values: { ...form.values, org: id, form: 'owner' }, status: 400 });
    const res = c.get('app').orgDirectory.addOwner(id, form.data.email, form.data.reason, auditCtx(c));
    if (res.ok) return c.redirect('/admin/orgs?done=owner-added', 303);
    if (res.error === 'unknown') return missing(c, res.message);
    return page(c, { flash: { kind: 'error', text: res.message }, errors: { email: res.message }, values: { email: form.data.email, org: id, form: 'owner' }, status: res.error === 'already' ? 409 : 400 });
  });

  for (const action of ['suspend', 'unsuspend'] as const) {
    r.post(`/admin/orgs/:orgId/${action}`, ADMIN, (c) => {
      const redirect = requireRecentAuth(c, '/admin/orgs');
      if (redirect) return redirect;
      const res = c.get('app').orgDirectory.setSuspended(c.get('user')!, orgIdParam.parse(c.req.param('orgId')), action === 'suspend', auditCtx(c));
      if (res.ok) return c.redirect(`/admin/orgs?done=${action}ed`, 303);
      return res.error === 'unknown' ? missing(c, res.message) : page(c, { flash: { kind: 'error', text: res.message }, status: 409 });
    });
  }
}

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { auditCtx } from '../http/guard.ts';
import { requireRecentAuth } from '../http/reauth.ts';
import type { RouteHelpers } from '../http/route-permissions.ts';
import type { AppEnv } from '../http/types.ts';
import type { SettingsPage } from './settings-routes.tsx';

type C = Context<AppEnv>;
const ADMIN = { kind: 'instance-admin' } as const;

async function formOf(c: C): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  return Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/**
 * Adding, testing and removing backup targets on /admin/settings. The target is named in the
 * form body, not the path, so the route table has no per-target paths to enumerate.
 */
export function backupTargetRoutes(r: RouteHelpers, page: SettingsPage): void {
  for (const kind of ['s3', 'dir'] as const) {
    r.post(`/admin/settings/backups/targets/${kind}`, ADMIN, async (c) => {
      // An S3 secret, or where every backup goes: a fresh password first, as for mail settings.
      const redirect = requireRecentAuth(c, '/admin/settings#backups');
      if (redirect) return redirect;
      const res = await c.get('app').backupTargetSettings.add(kind, await formOf(c), auditCtx(c));
      if (res.ok) return c.redirect('/admin/settings?done=target-added#backups', 303);
      const connection = Object.values(res.errors).find((e) => e.startsWith('Not saved: the connection test failed'));
      return page(c, {
        targetForm: { kind, errors: res.errors, values: res.values },
        flash: { kind: 'error', text: connection ?? 'Backup target not added: correct the marked fields. Nothing was saved.' },
        status: connection ? 502 : 400,
      });
    });
  }

  r.post('/admin/settings/backups/targets/test', ADMIN, async (c) => {
    const id = (await formOf(c)).target ?? '';
    const res = await c.get('app').backupTargetSettings.test(id, auditCtx(c));
    if (!res) return page(c, { flash: { kind: 'error', text: 'No such backup target: the list may have changed. Reload the page.' }, status: 400 });
    if (res.error === undefined) return c.redirect('/admin/settings?done=target-ok#backups', 303);
    return page(c, { flash: { kind: 'error', text: `Connection test failed: ${res.error}.` }, status: 502 });
  });

  r.post('/admin/settings/backups/targets/remove', ADMIN, async (c) => {
    const redirect = requireRecentAuth(c, '/admin/settings#backups');
    if (redirect) return redirect;
    const id = (await formOf(c)).target ?? '';
    const res = c.get('app').backupTargetSettings.remove(id, auditCtx(c));
    if (res === 'removed') return c.redirect('/admin/settings?done=target-removed#backups', 303);
    if (res === 'locked') return page(c, { flash: { kind: 'error', text: 'This target is set by a flag or environment variable: remove it there.' }, status: 409 });
    return page(c, { flash: { kind: 'error', text: 'No such saved backup target: the list may have changed. Reload the page.' }, status: 400 });
  });
}

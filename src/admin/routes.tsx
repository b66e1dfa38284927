/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { AdminBackupsPage } from '../../views/admin/backups.tsx';
import { AdminMailPage } from '../../views/admin/mail.tsx';
import { devMailView } from '../mail/dev-view.ts';
import { AdminPermissionsPage } from '../../views/admin/permissions.tsx';
import { AdminUsersPage, SIGN_OUT_ALL_PHRASE } from '../../views/admin/users.tsx';
import type { RestoreTester } from '../backup/restore-test.ts';
import type { FlashMsg } from '../../views/components/flash.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import { auditCtx } from '../http/guard.ts';
import { parseForm } from '../http/forms.ts';
import { requireRecentAuth } from '../http/reauth.ts';
import { render } from '../http/render.tsx';
import type { AppEnv } from '../http/types.ts';
import { settingsRoutes } from './settings-routes.tsx';
import { orgAdminRoutes } from './org-routes.tsx';
import { RESET_2FA_REASONS, type Reset2faReason } from '../auth/user-admin.ts';

type C = Context<AppEnv>;

const userIdParam = z.string().min(1).max(64);
const reset2faForm = z.object({ reason: z.enum(RESET_2FA_REASONS.map(([v]) => v) as [Reset2faReason, ...Reset2faReason[]], 'Choose why the second factor is reset.') });
const flashes: Record<string, string> = {
  disabled: 'Account disabled. Its sessions and API tokens ended.',
  enabled: 'Account enabled again.',
  unlocked: 'Sign-in unlocked.',
  'signed-out': 'Signed out everywhere: all of their sessions ended.',
  'all-signed-out': 'Everyone else is signed out: every other session ended.',
  '2fa-reset': 'Second factor removed and sessions ended. They set up a new one at their next sign-in; they were told by email.',
  'invitation-resent': 'Invitation sent again with a new link; the old link no longer works.',
};

/** Instance administration: accounts, the dev mail outbox, the permission table. */
export function adminRoutes(table: RouteTable, restoreTester?: RestoreTester): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  const usersPage = (c: C, flash?: FlashMsg, status: ContentfulStatusCode = 200) => {
    const ctx = c.get('app');
    const key = c.req.query('done');
    const viewer = c.get('user')!;
    const q = (c.req.query('q') ?? '').slice(0, 200);
    const users = ctx.userAdmin.search(q, 500).map((user) => ({ user, locked: ctx.userAdmin.isLocked(user.id), allowed: ctx.userAdmin.allowed(viewer, user) }));
    return render(
      c,
      'Users',
      <AdminUsersPage
        csrf={c.get('csrfToken')}
        users={users}
        viewerId={viewer.id}
        q={q}
        invitations={ctx.orgDirectory.pendingInvitations()}
        flash={flash ?? (key && flashes[key] ? { kind: 'ok', text: flashes[key] } : undefined)}
      />,
      status,
    );
  };
  const fail = (c: C, res: { error: string; message: string }) => usersPage(c, { kind: 'error', text: res.message }, res.error === 'unknown' ? 404 : 409);

  r.get('/admin/users', { kind: 'instance-admin' }, (c) => usersPage(c));

  for (const action of ['disable', 'enable'] as const) {
    r.post(`/admin/users/:id/${action}`, { kind: 'instance-admin' }, (c) => {
      if (action === 'disable') {
        const redirect = requireRecentAuth(c, '/admin/users');
        if (redirect) return redirect;
      }
      const ctx = c.get('app');
      const actor = c.get('user')!;
      const id = userIdParam.parse(c.req.param('id'));
      // An instance admin must not be able to shut out the people above them.
      if (ctx.auth.user(id)?.instance_role === 'owner' && actor.instance_role !== 'owner') {
        ctx.audit.record(auditCtx(c), `user.${action}d`, { type: 'user', id }, 'denied', { reason: 'owner-target' });
        return usersPage(c, { kind: 'error', text: 'Only instance owners can disable or enable an owner.' }, 403);
      }
      const res = ctx.userAdmin.setDisabled(actor, id, action === 'disable', auditCtx(c), (uid) => ctx.orgs.revokeAllTokensOf(uid));
      return res.ok ? c.redirect(`/admin/users?done=${action}d`, 303) : fail(c, res);
    });
  }

  r.post('/admin/users/:id/sign-out', { kind: 'instance-admin' }, (c) => {
    const redirect = requireRecentAuth(c, '/admin/users');
    if (redirect) return redirect;
    const res = c.get('app').userAdmin.signOutEverywhere(c.get('user')!, userIdParam.parse(c.req.param('id')), auditCtx(c));
    if (!res.ok) return res.error === 'forbidden' ? usersPage(c, { kind: 'error', text: res.message }, 403) : fail(c, res);
    return c.redirect('/admin/users?done=signed-out', 303);
  });

  /** Typed confirmation as well as re-authentication: one click must not sign out a whole instance. */
  r.post('/admin/sessions/sign-out-all', { kind: 'instance-admin' }, async (c) => {
    const redirect = requireRecentAuth(c, '/admin/users');
    if (redirect) return redirect;
    const form = await parseForm(c, z.object({ confirm: z.literal(SIGN_OUT_ALL_PHRASE, `Type "${SIGN_OUT_ALL_PHRASE}" to confirm.`) }));
    if (!form.ok) return usersPage(c, { kind: 'error', text: `Nobody was signed out: type "${SIGN_OUT_ALL_PHRASE}" to confirm.` }, 400);
    c.get('app').userAdmin.signOutEveryone(c.get('session')!, auditCtx(c));
    return c.redirect('/admin/users?done=all-signed-out', 303);
  });

  r.post('/admin/users/:id/unlock', { kind: 'instance-admin' }, (c) => {
    const ctx = c.get('app');
    const id = userIdParam.parse(c.req.param('id'));
    if (!ctx.auth.user(id)) return fail(c, { error: 'unknown', message: 'No such account.' });
    ctx.userAdmin.unlock(id, auditCtx(c));
    return c.redirect('/admin/users?done=unlocked', 303);
  });

  /** The reason is a code from a fixed list: the audit row must hold no free text about a person. */
  r.post('/admin/users/:id/reset-2fa', { kind: 'instance-admin' }, async (c) => {
    const redirect = requireRecentAuth(c, '/admin/users');
    if (redirect) return redirect;
    const form = await parseForm(c, reset2faForm);
    if (!form.ok) return usersPage(c, { kind: 'error', text: `Nothing was reset: ${form.errors.reason ?? 'choose a reason.'}` }, 400);
    const res = c.get('app').userAdmin.resetSecondFactor(c.get('user')!, userIdParam.parse(c.req.param('id')), form.data.reason, auditCtx(c));
    if (!res.ok) return res.error === 'forbidden' ? usersPage(c, { kind: 'error', text: res.message }, 403) : fail(c, res);
    return c.redirect('/admin/users?done=2fa-reset', 303);
  });

  r.post('/admin/invitations/:id/resend', { kind: 'instance-admin' }, (c) => {
    const res = c.get('app').orgDirectory.resendInvitation(c.get('user')!, userIdParam.parse(c.req.param('id')), auditCtx(c));
    return res.ok ? c.redirect('/admin/users?done=invitation-resent', 303) : fail(c, res);
  });

  r.get('/admin/mail', { kind: 'instance-admin' }, (c) => {
    const mailer = c.get('app').mailer;
    const user = c.get('user');
    const viewer = { email: user?.email ?? '', instanceRole: user?.instance_role ?? null };
    return render(c, 'Mail', <AdminMailPage devMode={mailer.devMode} messages={mailer.devMode ? devMailView(mailer.devOutbox(100), viewer) : []} />);
  });

  const backupFlashes: Record<string, FlashMsg> = {
    started: { kind: 'ok', text: 'Restore test started. Reload this page to see its result.' },
    off: { kind: 'error', text: 'No backup target is configured: there is nothing to test.' },
  };
  r.get('/admin/backups', { kind: 'instance-admin' }, (c) => {
    const tester = restoreTester;
    const key = c.req.query('done');
    return render(
      c,
      'Backups',
      <AdminBackupsPage
        csrf={c.get('csrfToken')}
        status={tester?.backup?.status()}
        running={tester?.isRunning ?? false}
        results={tester?.repo.recent(20) ?? []}
        flash={key ? backupFlashes[key] : undefined}
      />,
    );
  });

  // Starts the test and returns at once: a restore of a large database takes a while.
  r.post('/admin/backups/restore-test', { kind: 'instance-admin' }, (c) => {
    const tester = restoreTester;
    if (!tester?.configured) return c.redirect('/admin/backups?done=off', 303);
    void tester.run('admin');
    return c.redirect('/admin/backups?done=started', 303);
  });

  r.get('/admin/permissions', { kind: 'instance-admin' }, (c) => render(c, 'Roles and permissions', <AdminPermissionsPage />));
  settingsRoutes(r, restoreTester);
  orgAdminRoutes(r);

  return app;
}

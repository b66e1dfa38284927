/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { z } from 'zod';
import { InviteInvalid, InviteJoin, InviteRegister, InviteSignIn, InviteWrongAccount } from '../../views/orgs/invitations.tsx';
import type { RouteTable } from '../http/route-permissions.ts';
import { orgSuspended, orgUnavailable } from './unavailable.ts';
import { setSessionCookie } from '../http/cookies.ts';
import { CONTROL_CHARS, parseForm } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import { clearLinkCookie, readLinkCookie, setLinkCookie } from '../http/link-cookie.ts';
import { render } from '../http/render.tsx';
import { csrfToken } from '../http/session.ts';
import type { AppEnv } from '../http/types.ts';

const text = (max: number) => z.string().trim().min(1, 'Required.').max(max, `At most ${max} characters.`).refine((v) => !CONTROL_CHARS.test(v), 'Contains characters that are not allowed.');
const tokenQuery = z.object({ token: z.string().max(200).default('') });

/** Accepting an emailed invitation: joining with the account one has, or registering a new one. */
export function inviteRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);

  // ---- invitation acceptance ---------------------------------------------------------------------

  // The link from the email: swap the token for a short-lived cookie and show the invitation at
  // the clean address /invite, so the token does not stay in the history or travel on as a
  // Referer (or as a login `next` parameter). The invitation survives signing in on the way.
  r.get('/invite', { kind: 'public' }, (c) => {
    const ctx = c.get('app');
    const q = tokenQuery.parse(c.req.query());
    if (q.token) {
      const invited = ctx.orgs.findInvitation(q.token);
      if (!invited) return render(c, 'Invitation', <InviteInvalid />, 410);
      if (orgSuspended(c, invited.org.id)) return orgUnavailable(c);
      setLinkCookie(c, 'invite', q.token);
      return c.redirect('/invite', 303);
    }
    const token = readLinkCookie(c, 'invite');
    const found = token ? ctx.orgs.findInvitation(token) : undefined;
    if (!found) return render(c, 'Invitation', <InviteInvalid />, 410);
    // Joining a suspended organization would be acting in it (orgs/directory.ts).
    if (orgSuspended(c, found.org.id)) return orgUnavailable(c);
    const info = { csrf: csrfToken(c), orgName: found.org.name, role: found.invitation.role, email: found.invitation.email };
    const session = c.get('session');
    const user = c.get('user');
    if (session && session.mfa_pending === 0 && user) {
      if (user.email.toLowerCase() === found.invitation.email.toLowerCase()) return render(c, `Join ${found.org.name}`, <InviteJoin {...info} />);
      return render(c, 'Invitation for someone else', <InviteWrongAccount {...info} signedInAs={user.email} />);
    }
    if (ctx.orgs.hasAccount(found.invitation.email)) return render(c, `Join ${found.org.name}`, <InviteSignIn {...info} />);
    return render(c, `Join ${found.org.name}`, <InviteRegister {...info} />);
  });

  r.post('/invite', { kind: 'public' }, async (c) => {
    const ctx = c.get('app');
    const token = readLinkCookie(c, 'invite');
    const found = token ? ctx.orgs.findInvitation(token) : undefined;
    if (!found) return render(c, 'Invitation', <InviteInvalid />, 410);
    // Joining a suspended organization would be acting in it (orgs/directory.ts).
    if (orgSuspended(c, found.org.id)) return orgUnavailable(c);
    const info = { csrf: csrfToken(c), orgName: found.org.name, role: found.invitation.role, email: found.invitation.email };
    const session = c.get('session');
    const user = c.get('user');
    const done = `/orgs/${found.org.slug}`;

    if (session && session.mfa_pending === 0 && user) {
      const res = ctx.orgs.acceptInvitation(token, user, auditCtx(c, found.org.id));
      if (res.ok) {
        clearLinkCookie(c, 'invite');
        return c.redirect(done, 303);
      }
      if (res.error === 'email') return render(c, 'Invitation for someone else', <InviteWrongAccount {...info} signedInAs={user.email} />, 403);
      return render(c, 'Invitation', <InviteInvalid />, 410);
    }
    // c.redirect sets headers on the context, so build it only when it is the answer.
    const toLogin = () => c.redirect(`/login?next=${encodeURIComponent('/invite')}`, 303);
    if (ctx.orgs.hasAccount(found.invitation.email)) return toLogin();

    const form = await parseForm(c, z.object({ name: text(120), password: z.string().min(1, 'Required.').max(256, 'At most 256 characters.') }));
    if (!form.ok) return render(c, `Join ${found.org.name}`, <InviteRegister {...info} errors={form.errors} values={form.values} />, 400);
    const res = await ctx.auth.registerInvited(
      { email: found.invitation.email, name: form.data.name, password: form.data.password },
      (newUser) => ctx.orgs.acceptInvitation(token, newUser, auditCtx(c, found.org.id)),
      auditCtx(c, found.org.id),
    );
    if (!res.ok) {
      if (res.error === 'password') return render(c, `Join ${found.org.name}`, <InviteRegister {...info} errors={{ password: res.message }} values={{ name: form.data.name }} />, 400);
      if (res.error === 'exists') return toLogin();
      return render(c, 'Invitation', <InviteInvalid />, 410);
    }
    clearLinkCookie(c, 'invite');
    setSessionCookie(c, res.token);
    return c.redirect(done, 303);
  });

  return app;
}

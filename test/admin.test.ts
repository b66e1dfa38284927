import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import { Throttle, lockKey, lockRules } from '../src/auth/throttle.ts';
import { Client } from './support/client.ts';
import { addMember, createOrg, createUser, loginViaHttp, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer, withSmtpServer } from './support/server.ts';
import type { SmtpSink } from './support/smtp-sink.ts';

const email = (who: string) => testEmail(`${who}-${randomBytes(3).toString('hex')}`, 'c');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const auditFor = (s: TestServer, action: string, targetId: string) =>
  s.ctx.db.prepare('SELECT result, actor_id, details FROM audit_log WHERE action = ? AND target_id = ? ORDER BY seq').all(action, targetId) as { result: string; actor_id: string | null; details: string }[];

describe('instance administration', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('keeps ordinary users out of every admin page and action (403, audited, nothing changed)', async () => {
    const plain = await createUser(s, { email: email('plain') });
    const target = await createUser(s, { email: email('target') });
    const c = await signedInClient(s, plain.user);
    for (const path of ['/admin/users', '/admin/mail', '/admin/permissions']) {
      const r = await c.get(path);
      expect(r.status, path).toBe(403);
      expect(r.text).toContain('This page is for instance administrators.');
    }
    for (const action of ['disable', 'enable', 'unlock']) {
      expect((await c.post(`/admin/users/${target.user.id}/${action}`)).status, action).toBe(403);
    }
    expect(s.ctx.auth.user(target.user.id)?.disabled_at).toBeNull();
    const denied = s.ctx.db.prepare(`SELECT details FROM audit_log WHERE action = 'access.denied' AND actor_id = ?`).all(plain.user.id) as { details: string }[];
    expect(denied).toHaveLength(6);
    expect(JSON.parse(denied[0]!.details)).toMatchObject({ reason: 'instance-admin' });
    // Signed out: to the sign-in page.
    const anon = new Client(s.url);
    const r = await anon.get('/admin/users');
    expect(r.status).toBe(303);
    expect(r.location).toBe('/login?next=%2Fadmin%2Fusers');
  });

  it('sends an instance admin without 2FA to enrolment before the admin pages', async () => {
    const admin = await createUser(s, { email: email('admin-no-2fa'), instanceRole: 'admin' });
    const c = await signedInClient(s, admin.user);
    const r = await c.get('/admin/users');
    expect(r.status).toBe(303);
    expect(r.location).toBe('/account/2fa/setup');
  });

  it('renders the admin pages for owners and admins', async () => {
    const owner = await createUser(s, { email: email('owner'), instanceRole: 'owner', totp: true });
    const admin = await createUser(s, { email: email('admin'), instanceRole: 'admin', totp: true });
    const disabled = await createUser(s, { email: email('disabled') });
    s.ctx.userAdmin.setDisabled(owner.user, disabled.user.id, true, systemContext(), () => {});
    for (const who of [owner, admin]) {
      const c = await signedInClient(s, who.user);
      const users = await c.get('/admin/users');
      expect(users.status).toBe(200);
      expect(users.text).toContain(owner.user.email);
      expect(users.text).toContain(admin.user.email);
      const row = new RegExp(`data-user="${disabled.user.id}">(?:(?!</tr>).)*<td>disabled</td>`, 's');
      expect(users.text).toMatch(row);
      expect((await c.get('/admin/mail')).status).toBe(200);
      const perms = await c.get('/admin/permissions');
      expect(perms.status).toBe(200);
      expect(perms.text).toContain('checkin.perform');
    }
  });

  it('without SMTP, shows instance admins the dev outbox masked: no recipient, no body, no working link (tenant data)', async () => {
    const admin = await createUser(s, { email: email('mail-admin'), instanceRole: 'admin', totp: true });
    const org = createOrg(s, admin.user, uniqueSlug('mail'));
    const to = email('invitee');
    const res = s.ctx.orgs.invite(org, admin.user, 'owner', { email: to, role: 'viewer' }, systemContext());
    expect(res.ok).toBe(true);
    const c = await signedInClient(s, admin.user);
    const r = await c.get('/admin/mail');
    expect(r.status).toBe(200);
    expect(r.text).toContain('No SMTP server is configured');
    expect(r.text).toContain('configures SMTP');
    const item = new RegExp(`<article data-mail="[^"]+"[^>]*>(?:(?!</article>).)*${org.id}(?:(?!</article>).)*</article>`, 's').exec(r.text)?.[0];
    expect(item).toBeDefined();
    // Template, organization, status, time and a masked recipient; nothing that reaches the person.
    expect(item).toContain('invitation');
    expect(item).toContain(`${to.slice(0, 1)}•••@${to.split('@')[1]}`);
    expect(r.text).not.toContain(to);
    expect(r.text).not.toMatch(/token=/);
    expect(r.text).not.toContain('<pre>');
  });

  it('shows the instance owner their own mail in full (their reset link), and everyone else\'s masked', async () => {
    const owner = await createUser(s, { email: email('mail-owner'), instanceRole: 'owner', totp: true });
    const other = await createUser(s, { email: email('mail-other'), instanceRole: 'admin', totp: true });
    s.ctx.emailLinks.requestPasswordReset(owner.user.email, systemContext());
    s.ctx.emailLinks.requestPasswordReset(other.user.email, systemContext());
    const mine = await (await signedInClient(s, owner.user)).get('/admin/mail');
    expect(mine.text).toMatch(/<pre>[^<]*\/password\/reset\?token=[^<]*<\/pre>/);
    expect(mine.text).toContain(owner.user.email);
    expect(mine.text).not.toContain(other.user.email);
    expect(mine.text.match(/\/password\/reset\?token=/g)).toHaveLength(1);
    // An instance admin does not get the owner's reset link (nor their own: only the owner may).
    const theirs = await (await signedInClient(s, other.user)).get('/admin/mail');
    expect(theirs.text).not.toMatch(/token=/);
    expect(theirs.text).not.toContain(owner.user.email);
  });

  it('disabling a user ends their live session and their API tokens at once', async () => {
    const admin = await createUser(s, { email: email('admin'), instanceRole: 'admin', totp: true });
    const victim = await createUser(s, { email: email('victim') });
    const org = createOrg(s, victim.user, uniqueSlug('dis'));
    const other = createOrg(s, admin.user, uniqueSlug('dis2'));
    addMember(s, other, victim.user, 'viewer');
    const tok = s.ctx.orgs.createToken(org, victim.user, 'owner', { name: 'x', permissions: ['org.read'], days: 30 }, systemContext());
    if (!tok.ok) throw new Error(tok.message);
    const session = await signedInClient(s, victim.user);
    const api = new Client(s.url);
    expect((await session.get(`/orgs/${org.slug}`)).status).toBe(200);
    expect((await api.get(`/api/v1/orgs/${org.slug}`, bearer(tok.token))).status).toBe(200);

    // Without a recent re-authentication the admin is asked to confirm first; nothing changes.
    const stale = await signedInClient(s, admin.user, { reauth: false });
    let r = await stale.post(`/admin/users/${victim.user.id}/disable`);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/account/reauth?next=%2Fadmin%2Fusers');
    expect(s.ctx.auth.user(victim.user.id)?.disabled_at).toBeNull();
    expect((await session.get(`/orgs/${org.slug}`)).status).toBe(200);

    const c = await signedInClient(s, admin.user);
    r = await c.post(`/admin/users/${victim.user.id}/disable`);
    expect(r.status).toBe(303);
    expect(r.location).toBe('/admin/users?done=disabled');
    expect((await c.get(r.location!)).text).toContain('Account disabled.');
    expect(s.ctx.auth.user(victim.user.id)?.disabled_at).not.toBeNull();

    r = await session.get(`/orgs/${other.slug}`);
    expect(r.status).toBe(303);
    expect(r.location).toBe(`/login?next=${encodeURIComponent(`/orgs/${other.slug}`)}`);
    expect((await api.get(`/api/v1/orgs/${org.slug}`, bearer(tok.token))).status).toBe(401);
    const login = new Client(s.url);
    await login.get('/login');
    expect((await login.post('/login', { email: victim.user.email, password: victim.password })).status).toBe(403);
    expect(auditFor(s, 'user.disabled', victim.user.id)).toMatchObject([{ result: 'success', actor_id: admin.user.id }]);

    // Enabling lets them sign in again; the revoked token stays revoked.
    r = await c.post(`/admin/users/${victim.user.id}/enable`);
    expect(r.status).toBe(303);
    const back = await loginViaHttp(s, victim);
    expect((await back.get(`/orgs/${org.slug}`)).status).toBe(200);
    expect((await api.get(`/api/v1/orgs/${org.slug}`, bearer(tok.token))).status).toBe(401);
  });

  it('refuses to disable oneself, or (for an admin) an owner', async () => {
    const owner = await createUser(s, { email: email('sole-owner'), instanceRole: 'owner', totp: true });
    const admin = await createUser(s, { email: email('admin'), instanceRole: 'admin', totp: true });
    const o = await signedInClient(s, owner.user);
    let r = await o.post(`/admin/users/${owner.user.id}/disable`);
    expect(r.status).toBe(409);
    expect(r.text).toContain('You cannot disable your own account.');

    const a = await signedInClient(s, admin.user);
    r = await a.post(`/admin/users/${owner.user.id}/disable`);
    expect(r.status).toBe(403);
    expect(r.text).toContain('Only instance owners can disable or enable an owner.');
    expect(s.ctx.auth.user(owner.user.id)?.disabled_at).toBeNull();
    expect(auditFor(s, 'user.disabled', owner.user.id).map((x) => x.result)).toEqual(['denied']);

    r = await a.post('/admin/users/no-such-user/disable');
    expect(r.status).toBe(404);
    expect(r.text).toContain('No such account.');
    // The CSRF token is still required.
    const plainTarget = await createUser(s, { email: email('csrf-target') });
    r = await a.post(`/admin/users/${plainTarget.user.id}/disable`, { _csrf: '' });
    expect(r.status).toBe(403);
    expect(s.ctx.auth.user(plainTarget.user.id)?.disabled_at).toBeNull();
  });

  it('shows locked accounts and unlocks them', async () => {
    const admin = await createUser(s, { email: email('admin'), instanceRole: 'admin', totp: true });
    const locked = await createUser(s, { email: email('locked') });
    const throttle = new Throttle(s.ctx.db, s.ctx.now);
    // Locked from one network (the hard lock is per account + network); sign-in from 127.0.0.1 is another.
    for (let i = 0; i < lockRules.lockAfter; i++) throttle.fail(lockKey(locked.user.id, '203.0.113.9'), lockRules);
    expect(s.ctx.userAdmin.isLocked(locked.user.id)).toBe(true);

    const c = await signedInClient(s, admin.user);
    const page = await c.get('/admin/users');
    expect(page.text).toMatch(new RegExp(`data-user="${locked.user.id}">(?:(?!</tr>).)*<td>active, locked</td>`, 's'));
    expect(page.text).toContain(`/admin/users/${locked.user.id}/unlock`);
    const r = await c.post(`/admin/users/${locked.user.id}/unlock`);
    expect(r.status).toBe(303);
    expect(s.ctx.userAdmin.isLocked(locked.user.id)).toBe(false);
    expect(auditFor(s, 'auth.unlocked', locked.user.id)).toHaveLength(1);
    expect((await loginViaHttp(s, locked)).cookies.size).toBeGreaterThan(0);
  });
});

describe('instance administration with SMTP configured', () => {
  let s: TestServer;
  let sink: SmtpSink;
  withSmtpServer((server, mailSink) => {
    s = server;
    sink = mailSink;
  });

  it('says mail is delivered instead of listing an outbox', async () => {
    const owner = await createUser(s, { email: email('owner'), instanceRole: 'owner', totp: true });
    const c = await signedInClient(s, owner.user);
    const r = await c.get('/admin/mail');
    expect(r.status).toBe(200);
    expect(r.text).toContain('An SMTP server is configured');
    expect(r.text).not.toContain('<pre>');
  });
});

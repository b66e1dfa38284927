import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/audit/service.ts';
import { totpCodeAt } from '../src/auth/totp.ts';
import { Client } from './support/client.ts';
import { Clock, addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const SESSION = '__Host-tessera_session';

describe('re-authentication for sensitive actions', () => {
  let s: TestServer;
  const clock = new Clock();
  beforeAll(async () => {
    s = await startTestServer({}, { now: clock.now });
  });
  afterAll(() => s.close());

  it('setting up an authenticator asks for re-authentication, except the forced first enrolment', async () => {
    // Not forced (plain user, no org requiring 2FA): a stale session cannot plant an authenticator.
    const plain = await createUser(s, { email: testEmail('reauth-totp-plain') });
    const stale = await signedInClient(s, plain.user, { reauth: false });
    const page = await stale.get('/account/2fa/setup');
    expect(page.status).toBe(303);
    expect(page.location).toBe(`/account/reauth?next=${encodeURIComponent('/account/2fa/setup')}`);
    const r = await stale.post('/account/2fa/setup', { code: '123456' });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`/account/reauth?next=${encodeURIComponent('/account/2fa/setup')}`);
    expect(s.ctx.auth.user(plain.user.id)!.totp_secret).toBeNull();

    // Forced: an instance admin without a second factor enrols even with an older session.
    const admin = await createUser(s, { email: testEmail('reauth-totp-forced'), instanceRole: 'admin' });
    const forced = await signedInClient(s, admin.user, { reauth: false });
    const setup = await forced.get('/account/2fa/setup');
    expect(setup.status).toBe(200);
    const secret = /data-testid="totp-secret">([A-Z2-7]+)</.exec(setup.text)![1]!;
    const done = await forced.post('/account/2fa/setup', { code: totpCodeAt(secret, s.ctx.now()) });
    expect(done.status).toBe(200);
    expect(s.ctx.auth.user(admin.user.id)!.totp_secret).not.toBeNull();
  });

  it('revoking sessions asks for re-authentication first', async () => {
    const u = await createUser(s, { email: testEmail('reauth-sessions') });
    const a = await signedInClient(s, u.user, { reauth: false });
    const b = await signedInClient(s, u.user);
    const bId = b.cookies.get(SESSION)!.split('.')[0]!;
    const back = `/account/reauth?next=${encodeURIComponent('/account/sessions')}`;
    let r = await a.post(`/account/sessions/${bId}/revoke`);
    expect(r.location).toBe(back);
    r = await a.post('/account/sessions/revoke-others');
    expect(r.location).toBe(back);
    expect((await b.get('/account')).status).toBe(200);
  });

  it('revoking API tokens, disabling and removing members ask for re-authentication first', async () => {
    const owner = await createUser(s, { email: testEmail('reauth-org-owner'), totp: true });
    const member = await createUser(s, { email: testEmail('reauth-org-member') });
    const org = createOrg(s, owner.user, uniqueSlug('reauth'));
    addMember(s, org, member.user, 'viewer');
    const tok = s.ctx.orgs.createToken(org, owner.user, 'owner', { name: 'x', permissions: ['org.read'], days: 30 }, systemContext());
    if (!tok.ok) throw new Error(tok.message);
    const stale = await signedInClient(s, owner.user, { reauth: false });
    const members = `/account/reauth?next=${encodeURIComponent(`/orgs/${org.slug}/members`)}`;
    expect((await stale.post(`/orgs/${org.slug}/tokens/${tok.id}/revoke`)).location).toBe(`/account/reauth?next=${encodeURIComponent(`/orgs/${org.slug}/tokens`)}`);
    expect(s.ctx.orgs.tokens(org.id).filter((t) => t.revoked_at === null)).toHaveLength(1);
    expect((await stale.post(`/orgs/${org.slug}/members/${member.user.id}/disable`)).location).toBe(members);
    expect((await stale.post(`/orgs/${org.slug}/members/${member.user.id}/remove`)).location).toBe(members);
    expect(s.ctx.orgs.members(org.id).find((m) => m.user_id === member.user.id)?.disabled_at).toBeNull();

    // A fresh session does what was asked.
    const fresh = await signedInClient(s, owner.user);
    expect((await fresh.post(`/orgs/${org.slug}/tokens/${tok.id}/revoke`)).status).toBe(303);
    expect((await fresh.post(`/orgs/${org.slug}/members/${member.user.id}/remove`)).status).toBe(303);
    expect(s.ctx.orgs.members(org.id).find((m) => m.user_id === member.user.id)).toBeUndefined();
  });

  it('re-authentication issues a new session id; the old token stops working', async () => {
    const u = await createUser(s, { email: testEmail('reauth-rotate'), totp: true });
    const c = await signedInClient(s, u.user, { reauth: false });
    const before = c.cookies.get(SESSION)!;
    await c.get('/account/reauth');
    clock.advance(30_000);
    const wrong = await c.post('/account/reauth?next=%2Faccount', { password: u.password, code: '000000' });
    expect(wrong.status).toBe(401);
    expect(c.cookies.get(SESSION)).toBe(before);
    clock.advance(30_000);
    const ok = await c.post('/account/reauth?next=%2Faccount', { password: u.password, code: totpCodeAt(u.totpSecret!, s.ctx.now()) });
    expect(ok.location).toBe('/account');
    const after = c.cookies.get(SESSION)!;
    expect(after.split('.')[0]).not.toBe(before.split('.')[0]);
    expect((await c.get('/account')).status).toBe(200);
    const old = new Client(s.url);
    old.cookies.set(SESSION, before);
    expect((await old.get('/account')).status).toBe(303);
  });

  it('signing in over a live session ends the old one', async () => {
    const u = await createUser(s, { email: testEmail('reauth-relogin') });
    const c = await signedInClient(s, u.user);
    const before = c.cookies.get(SESSION)!;
    const r = await c.post('/login', { email: u.user.email, password: u.password });
    expect(r.status).toBe(303);
    const after = c.cookies.get(SESSION)!;
    expect(after).not.toBe(before);
    const old = new Client(s.url);
    old.cookies.set(SESSION, before);
    expect((await old.get('/account')).status).toBe(303);
    expect(s.ctx.sessions.list(u.user.id)).toHaveLength(1);
  });
});

describe('context words in passwords', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ instanceName: 'Northwind' });
  });
  afterAll(() => s.close());

  it('a new password built around the instance, an organization or "tessera" is refused', async () => {
    const owner = await createUser(s, { email: testEmail('ctx-owner') });
    const org = createOrg(s, owner.user, uniqueSlug('ctx'), 'Bluebird Festival');
    const u = await createUser(s, { email: testEmail('ctx-member') });
    addMember(s, org, u.user, 'viewer');
    const c = await signedInClient(s, u.user);
    for (const pw of ['Bluebird Festival 2026', 'northwind-northwind!', 'Tessera!Tessera!']) {
      const r = await c.post('/account/password', { current: u.password, password: pw });
      expect(r.status, pw).toBe(400);
      expect(r.text).toContain('Do not build your password around');
    }
    expect((await c.post('/account/password', { current: u.password, password: 'seven violet lanterns over bluebird' })).location).toBe('/account?done=password');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt } from '../src/auth/totp.ts';
import { Client } from './support/client.ts';
import { Clock, createUser, loginViaHttp, signedInClient } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

const auditActions = (s: TestServer, action: string) =>
  s.ctx.db.prepare('SELECT result, details, actor_id FROM audit_log WHERE action = ? ORDER BY seq').all(action) as { result: string; details: string; actor_id: string | null }[];

describe('first-owner setup', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.close());

  it('the printed link creates the owner once, forces TOTP enrolment, and then is dead', async () => {
    const link = /(\/setup\?token=[A-Za-z0-9_-]+)/.exec(s.announced.join('\n'))?.[1];
    expect(link).toBeDefined();
    const c = new Client(s.url);
    expect((await c.follow('/setup?token=not-the-token')).status).toBe(404);
    // The link's token moves into a short-lived cookie; the form lives at the clean URL.
    expect((await c.get(link!)).location).toBe('/setup');
    const page = await c.get('/setup');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Create owner account');

    const weak = await c.post('/setup', { name: 'Olga Pseudonymova', email: testEmail('owner'), password: 'qwerty123456' });
    expect(weak.status).toBe(400);
    expect(weak.text).toContain('most commonly used passwords');
    expect(s.ctx.auth.userByEmail(testEmail('owner'))).toBeUndefined();

    const ok = await c.post('/setup', { name: 'Olga Pseudonymova', email: testEmail('owner'), password: 'a long and unusual owner passphrase' });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe('/account/2fa/setup');
    // Forced enrolment: any other page sends the owner back to 2FA set-up.
    expect((await c.get('/orgs')).location).toBe('/account/2fa/setup');
    const setup = await c.get('/account/2fa/setup');
    const secret = /data-testid="totp-secret">([A-Z2-7]+)</.exec(setup.text)?.[1];
    expect(secret).toBeDefined();
    expect(setup.text).toContain('<svg');
    const bad = await c.post('/account/2fa/setup', { code: '000000' });
    expect(bad.status).toBe(400);
    const done = await c.post('/account/2fa/setup', { code: totpCodeAt(secret!, s.ctx.now()) });
    expect(done.status).toBe(200);
    const codes = [...done.text.matchAll(/<code>([a-z0-9-]{29})<\/code>/g)].map((m) => m[1]);
    expect(codes).toHaveLength(10);
    expect((await c.get('/account')).status).toBe(200);

    // The link is single use, and the instance now has an owner.
    expect((await new Client(s.url).follow(link!)).status).toBe(410);
    expect(auditActions(s, 'user.created')).toHaveLength(1);
    expect(auditActions(s, 'auth.2fa_enabled')).toHaveLength(1);
  });
});

describe('sign-in, sessions and second factor', () => {
  let s: TestServer;
  const clock = new Clock();
  beforeAll(async () => {
    s = await startTestServer({ sessionIdleMinutes: 30, sessionAbsoluteHours: 2 }, { now: clock.now });
  });
  afterAll(() => s.close());

  it('unknown email and wrong password give the same answer in similar time', async () => {
    const c = new Client(s.url);
    await c.get('/login');
    const msg = (t: string) => /class="flash error"[^>]*>([^<]+)</.exec(t)?.[1];
    const timed = async (email: string) => {
      const t0 = performance.now();
      const res = await c.post('/login', { email, password: 'whatever whatever 1' });
      expect(res.status).toBe(401);
      return { ms: performance.now() - t0, msg: msg(res.text) };
    };
    // One pair of samples is at the mercy of whatever else the machine does: the median of
    // five, in alternating order, is not. A fresh account each round stays under the back-off.
    const ratios: number[] = [];
    for (let i = 0; i < 5; i++) {
      const u = await createUser(s, { email: testEmail(`same-answer-${i}`) });
      const pair = [() => timed(testEmail(`nobody-here-${i}`)), () => timed(u.user.email)];
      const [first, second] = [await pair[i % 2]!(), await pair[(i + 1) % 2]!()];
      const [unknown, wrong] = i % 2 === 0 ? [first, second] : [second, first];
      expect(unknown.msg).toBeDefined();
      expect(unknown.msg).toBe(wrong.msg);
      ratios.push(unknown.ms / wrong.ms);
    }
    clock.advance(2 * 60 * 60_000); // the address's failures are forgotten for the tests after
    const ratio = ratios.sort((a, b) => a - b)[2] as number;
    expect(ratio).toBeGreaterThan(0.33);
    expect(ratio).toBeLessThan(3);
    const rows = auditActions(s, 'auth.login').filter((r) => r.result === 'failure');
    expect(rows.map((r) => JSON.parse(r.details).reason)).toEqual(expect.arrayContaining(['unknown_email', 'bad_password']));
    // The audit log never holds the typed email in clear for unknown accounts.
    expect(JSON.stringify(rows)).not.toContain('nobody-here');
  });

  it('login issues a new session id (no fixation) and logout kills it server-side', async () => {
    const u = await createUser(s, { email: testEmail('fixation') });
    const c = new Client(s.url);
    c.cookies.set('__Host-tessera_session', 'attacker-chosen.session-value-that-is-long-enough-000000000');
    await c.get('/login');
    expect(c.cookies.has('__Host-tessera_session')).toBe(false);
    await c.post('/login', { email: u.user.email, password: u.password });
    const token = c.cookies.get('__Host-tessera_session');
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    // Only the hash of the secret is stored.
    const [id, secret] = token!.split('.');
    const row = s.ctx.db.prepare('SELECT secret_hash FROM sessions WHERE id = ?').get(id) as { secret_hash: Buffer };
    expect(row.secret_hash.toString('hex')).not.toContain(Buffer.from(secret!).toString('hex'));
    expect((await c.get('/account')).status).toBe(200);
    await c.post('/logout');
    const replay = new Client(s.url);
    replay.cookies.set('__Host-tessera_session', token!);
    expect((await replay.get('/account')).location).toBe('/login?next=%2Faccount');
  });

  it('idle timeout and absolute lifetime end sessions (clock moved)', async () => {
    const u = await createUser(s, { email: testEmail('expiry') });
    const c = await signedInClient(s, u.user);
    clock.advance(29 * 60_000);
    expect((await c.get('/account')).status).toBe(200);
    clock.advance(29 * 60_000); // slid: still alive after 58 minutes of activity
    expect((await c.get('/account')).status).toBe(200);
    clock.advance(31 * 60_000); // idle past 30 minutes
    expect((await c.get('/account')).status).toBe(303);

    const d = await signedInClient(s, u.user);
    for (let i = 0; i < 4; i++) {
      clock.advance(25 * 60_000);
      expect((await d.get('/account')).status, `step ${i}`).toBe(200);
    }
    clock.advance(25 * 60_000); // 125 minutes > 2 h absolute, although never idle
    expect((await d.get('/account')).status).toBe(303);
  });

  it('a disabled user with a live session is rejected at the next request', async () => {
    const admin = await createUser(s, { email: testEmail('disabler'), instanceRole: 'owner', totp: true });
    const u = await createUser(s, { email: testEmail('disabled') });
    const c = await signedInClient(s, u.user);
    expect((await c.get('/account')).status).toBe(200);
    const r = s.ctx.userAdmin.setDisabled(admin.user, u.user.id, true, { actor: { type: 'user', id: admin.user.id } }, () => {});
    expect(r.ok).toBe(true);
    expect((await c.get('/account')).status).toBe(303);
    const again = new Client(s.url);
    await again.get('/login');
    const login = await again.post('/login', { email: u.user.email, password: u.password });
    expect(login.status).toBe(403);
    expect(login.text).toContain('account is disabled');
    // Without the right password the disabled state is not revealed.
    const wrong = await again.post('/login', { email: u.user.email, password: 'not the password at all' });
    expect(wrong.text).not.toContain('account is disabled');
  });

  it('TOTP: codes work once; replay is refused; recovery codes are single use', async () => {
    const u = await createUser(s, { email: testEmail('totp'), totp: true });
    clock.advance(60_000);
    const c = new Client(s.url);
    await c.get('/login');
    expect((await c.post('/login', { email: u.user.email, password: u.password })).location).toBe('/login/2fa');
    // The half-signed-in session cannot reach anything else.
    expect((await c.get('/account')).location).toBe('/login/2fa');
    await c.get('/login/2fa');
    const code = totpCodeAt(u.totpSecret!, s.ctx.now());
    expect((await c.post('/login/2fa', { code })).status).toBe(303);
    expect((await c.get('/account')).status).toBe(200);

    const c2 = new Client(s.url);
    await c2.get('/login');
    await c2.post('/login', { email: u.user.email, password: u.password });
    await c2.get('/login/2fa');
    const replay = await c2.post('/login/2fa', { code });
    expect(replay.status).toBe(401);
    expect(replay.text).toContain('already used');

    const codes = s.ctx.totp.regenerateRecoveryCodes(u.user.id, { actor: { type: 'user', id: u.user.id } });
    const rc = await c2.post('/login/2fa', { code: codes[0]!.toUpperCase() });
    expect(rc.status).toBe(303);
    const c3 = new Client(s.url);
    await c3.get('/login');
    await c3.post('/login', { email: u.user.email, password: u.password });
    await c3.get('/login/2fa');
    expect((await c3.post('/login/2fa', { code: codes[0]! })).status).toBe(401);
    expect(s.ctx.totp.recoveryCodesLeft(u.user.id)).toBe(9);
  });

  it('brute force: back-off, then a lock with a clear message; an admin unlocks', async () => {
    const u = await createUser(s, { email: testEmail('brute') });
    const c = new Client(s.url);
    await c.get('/login');
    let last = await c.post('/login', { email: u.user.email, password: 'wrong password number 0' });
    for (let i = 1; i < 10; i++) {
      clock.advance(61_000); // wait out each back-off so every attempt is really checked
      last = await c.post('/login', { email: u.user.email, password: `wrong password number ${i}` });
    }
    clock.advance(61_000);
    const locked = await c.post('/login', { email: u.user.email, password: u.password });
    expect(locked.status).toBe(429);
    expect(locked.text).toContain('locked');
    expect(last.status).toBe(401);
    expect(auditActions(s, 'auth.login').some((r) => r.result === 'denied' && JSON.parse(r.details).reason === 'locked')).toBe(true);
    // Back-off without lock: two quick failures after the free ones are throttled.
    s.ctx.userAdmin.unlock(u.user.id, { actor: { type: 'system' } });
    expect((await c.post('/login', { email: u.user.email, password: u.password })).status).toBe(303);
  });

  it('back-off asks to wait before the lock', async () => {
    const u = await createUser(s, { email: testEmail('backoff') });
    const c = new Client(s.url);
    await c.get('/login');
    for (let i = 0; i < 4; i++) await c.post('/login', { email: u.user.email, password: `nope nope nope ${i}` });
    const r = await c.post('/login', { email: u.user.email, password: u.password });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(r.text).toContain('Wait');
    clock.advance(120_000);
    expect((await c.post('/login', { email: u.user.email, password: u.password })).status).toBe(303);
  });

  it('sessions page lists sessions; revoking one and all others works', async () => {
    const u = await createUser(s, { email: testEmail('sessions') });
    const a = await signedInClient(s, u.user);
    const b = await signedInClient(s, u.user);
    const d = await signedInClient(s, u.user);
    const page = await a.get('/account/sessions');
    expect((page.text.match(/<tr>/g) ?? []).length).toBe(4); // header + 3
    const bId = b.cookies.get('__Host-tessera_session')!.split('.')[0]!;
    await a.post(`/account/sessions/${bId}/revoke`);
    expect((await b.get('/account')).status).toBe(303);
    expect((await d.get('/account')).status).toBe(200);
    await a.post('/account/sessions/revoke-others');
    expect((await d.get('/account')).status).toBe(303);
    expect((await a.get('/account')).status).toBe(200);
    // Another user's session id cannot be revoked through my page.
    const other = await createUser(s, { email: testEmail('sessions-other') });
    const o = await signedInClient(s, other.user);
    const oId = o.cookies.get('__Host-tessera_session')!.split('.')[0]!;
    await a.post(`/account/sessions/${oId}/revoke`);
    expect((await o.get('/account')).status).toBe(200);
  });

  it('sensitive changes need re-authentication within 10 minutes; password change ends other sessions', async () => {
    const u = await createUser(s, { email: testEmail('reauth'), totp: true });
    const other = await signedInClient(s, u.user);
    clock.advance(30_000);
    const c = await loginViaHttp(s, u, clock);
    clock.advance(11 * 60_000);
    const r = await c.post('/account/password', { current: u.password, password: 'a brand new long passphrase' });
    expect(r.location).toBe('/account/reauth?next=%2Faccount');
    await c.get('/account/reauth');
    clock.advance(30_000);
    const bad = await c.post('/account/reauth?next=%2Faccount', { password: u.password, code: '000000' });
    expect(bad.status).toBe(401);
    clock.advance(30_000);
    const ok = await c.post('/account/reauth?next=%2Faccount', { password: u.password, code: totpCodeAt(u.totpSecret!, s.ctx.now()) });
    expect(ok.location).toBe('/account');
    await c.get('/account');
    const changed = await c.post('/account/password', { current: u.password, password: 'a brand new long passphrase' });
    expect(changed.location).toBe('/account?done=password');
    expect((await c.get('/account')).status).toBe(200);
    expect((await other.get('/account')).status).toBe(303);
  });
});

describe('CSRF', () => {
  let s: TestServer;
  let called = 0;
  beforeAll(async () => {
    s = await startTestServer({}, { extendApp: (app) => app.post('/__test/mutate', (c) => (called++, c.text('done'))) });
  });
  afterAll(() => s.close());

  it('rejects missing or wrong tokens and cross-site posts without calling the handler', async () => {
    const u = await createUser(s, { email: testEmail('csrf') });
    const c = await signedInClient(s, u.user);
    const missing = await c.request('POST', '/__test/mutate', { body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(missing.status).toBe(403);
    const wrong = await c.post('/__test/mutate', { _csrf: 'x'.repeat(43) });
    expect(wrong.status).toBe(403);
    const crossSite = await c.post('/__test/mutate', {}, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const foreignOrigin = await c.post('/__test/mutate', {}, { origin: 'https://evil.example' });
    expect(foreignOrigin.status).toBe(403);
    expect(called).toBe(0);
    const ok = await c.post('/__test/mutate', {}, { 'sec-fetch-site': 'same-origin' });
    expect(ok.status).toBe(200);
    expect(called).toBe(1);
    // The htmx way: token in a header.
    const viaHeader = await c.request('POST', '/__test/mutate', { headers: { 'x-csrf-token': c.csrf } });
    expect(viaHeader.status).toBe(200);
    expect(auditActions(s, 'security.csrf_rejected').length).toBe(4);
  });

  it('without a session, the browser\'s same-origin proof replaces the token; with a session it does not', async () => {
    const u = await createUser(s, { email: testEmail('csrf-fetch-meta') });
    const body = new URLSearchParams({ email: u.user.email, password: u.password });
    const sameOrigin = await fetch(`${s.url}/login`, { method: 'POST', body, headers: { 'sec-fetch-site': 'same-origin' }, redirect: 'manual' });
    expect(sameOrigin.status).toBe(303);
    const withOrigin = await fetch(`${s.url}/login`, { method: 'POST', body, headers: { origin: s.url }, redirect: 'manual' });
    expect(withOrigin.status).toBe(303);
    const c = await signedInClient(s, u.user);
    const before = called;
    const r = await c.request('POST', '/__test/mutate', { headers: { 'sec-fetch-site': 'same-origin', origin: s.url } });
    expect(r.status).toBe(403);
    expect(called).toBe(before);
  });

  it('protects the login form too (pre-session token)', async () => {
    const u = await createUser(s, { email: testEmail('csrf-login') });
    const r = await fetch(`${s.url}/login`, { method: 'POST', body: new URLSearchParams({ email: u.user.email, password: u.password }), redirect: 'manual' });
    expect(r.status).toBe(403);
    expect(r.headers.getSetCookie().some((c) => c.startsWith('__Host-tessera_session'))).toBe(false);
  });
});

describe('password reset and email confirmation', () => {
  let s: TestServer;
  let sink: SmtpSink;
  const clock = new Clock();
  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url }, { now: clock.now });
  });
  afterAll(async () => {
    await s.close();
    await sink.close();
  });

  const linkIn = (text: string, path: string) => new RegExp(`https?://[^\\s]+(${path.replace('?', '\\?')}[^\\s]+)`).exec(text)?.[1];

  it('reset link works once, ends sessions, and does not bypass 2FA', async () => {
    const u = await createUser(s, { email: testEmail('reset'), totp: true });
    const live = await signedInClient(s, u.user);
    const c = new Client(s.url);
    await c.get('/password/forgot');
    const sent = await c.post('/password/forgot', { email: u.user.email });
    expect(sent.text).toContain('If an account uses that address');
    const unknown = await c.post('/password/forgot', { email: testEmail('no-such-person') });
    expect(unknown.text).toContain('If an account uses that address');
    const mail = await sink.waitFor((m) => m.to.includes(u.user.email));
    expect(mail.subject).toBe('Reset your password');
    const link = linkIn(mail.text, '/password/reset?token=');
    expect(link).toBeDefined();
    expect((await c.follow(link!)).status).toBe(200);
    const weak = await c.post('/password/reset', { password: 'short' });
    expect(weak.status).toBe(400);
    const copy = c.cookies.get('__Host-tessera_link_reset')!;
    const done = await c.post('/password/reset', { password: 'my new reset passphrase is long' });
    expect(done.location).toBe('/login?reset=1');
    expect((await live.get('/account')).status).toBe(303);
    // Reuse is refused.
    c.cookies.set('__Host-tessera_link_reset', copy);
    expect((await c.post('/password/reset', { password: 'another new passphrase here' })).status).toBe(410);
    // Signing in with the new password still asks for the second factor.
    await c.get('/login');
    const login = await c.post('/login', { email: u.user.email, password: 'my new reset passphrase is long' });
    expect(login.location).toBe('/login/2fa');
    expect((await c.get('/account')).location).toBe('/login/2fa');
  });

  it('reset link expires after 30 minutes', async () => {
    const u = await createUser(s, { email: testEmail('reset-expiry') });
    s.ctx.emailLinks.requestPasswordReset(u.user.email, { actor: { type: 'system' } });
    const mail = await sink.waitFor((m) => m.to.includes(u.user.email));
    const token = new URL(`http://x${linkIn(mail.text, '/password/reset?token=')}`).searchParams.get('token')!;
    clock.advance(31 * 60_000);
    const c = new Client(s.url);
    expect((await c.follow(`/password/reset?token=${token}`)).status).toBe(410);
    await c.get('/login');
    expect((await c.post('/password/reset', { password: 'yet another long passphrase' })).status).toBe(410);
  });

  it('email change needs re-auth, confirmation at the new address, then applies', async () => {
    const u = await createUser(s, { email: testEmail('change-me') });
    const c = await signedInClient(s, u.user);
    const r = await c.post('/account/email', { email: testEmail('changed-to') });
    expect(r.location).toBe('/account?done=email');
    expect(s.ctx.auth.user(u.user.id)!.email).toBe(testEmail('change-me'));
    const mail = await sink.waitFor((m) => m.to.includes(testEmail('changed-to')));
    const link = linkIn(mail.text, '/email/confirm?');
    expect((await c.follow(link!)).status).toBe(200);
    expect((await c.post('/email/confirm?change=1')).status).toBe(200);
    expect(s.ctx.auth.user(u.user.id)!.email).toBe(testEmail('changed-to'));
    expect((await c.follow(link!)).status).toBe(410);
  });
});

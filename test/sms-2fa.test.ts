import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { Clock, addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmsStub, startSmsStub } from './support/sms-stub.ts';

/** SMS as a second factor, end to end against a Twilio-compatible stub that records requests. */
describe('SMS second factor', () => {
  let s: TestServer;
  let stub: SmsStub;
  const clock = new Clock();
  const phone = '+41446681800';
  beforeAll(async () => {
    stub = await startSmsStub();
    s = await startTestServer({ smsUrl: stub.url, smsAccountSid: stub.sid, smsAuthToken: stub.token, smsFrom: '+15005550006' }, { now: clock.now });
  });
  afterAll(async () => {
    await s?.close();
    await stub?.close();
  });

  const lastCode = () => /(\d{6}) is your/.exec(stub.requests.at(-1)?.body ?? '')?.[1];

  it('enrols a phone, then signs in with a texted code; codes are single use and sends are rate-limited', async () => {
    const owner = await createUser(s, { email: testEmail('sms-owner') });
    const org = createOrg(s, owner.user, uniqueSlug('sms'));
    const u = await createUser(s, { email: testEmail('sms-user') });
    addMember(s, org, u.user, 'viewer');
    s.ctx.orgs.setRequire2fa(org, true, { actor: { type: 'system' } });

    const c = await signedInClient(s, u.user);
    // The org requires 2FA: the member is sent to enrolment, where SMS is offered.
    expect((await c.get(`/orgs/${org.slug}`)).location).toBe('/account/2fa/setup');
    expect((await c.get('/account/2fa/setup')).text).toContain('/account/phone');
    await c.get('/account/phone');
    const bad = await c.post('/account/phone', { phone: '044 668 18 00' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('international format');
    expect((await c.post('/account/phone', { phone: '+41 44 668 18 00' })).location).toBe('/account/phone?sent=1');
    await stub.waitFor(1);
    const sent = stub.requests[0]!;
    expect(sent.to).toBe(phone);
    expect(sent.auth).toEqual({ user: stub.sid, pass: stub.token });
    await c.get('/account/phone?sent=1');
    expect((await c.post('/account/phone/confirm', { code: '000000' === lastCode() ? '111111' : '000000' })).status).toBe(400);
    expect((await c.post('/account/phone/confirm', { code: lastCode()! })).location).toBe('/account/phone');
    expect(s.ctx.auth.user(u.user.id)!.phone).toBe(phone);
    // Now the org lets them in.
    expect((await c.get(`/orgs/${org.slug}`)).status).toBe(200);

    // Sign in again: password, then a code by SMS.
    clock.advance(120_000);
    const d = new Client(s.url);
    await d.get('/login');
    expect((await d.post('/login', { email: u.user.email, password: u.password })).location).toBe('/login/2fa');
    const page = await d.get('/login/2fa');
    expect(page.text).toContain('Text me a code');
    expect((await d.post('/login/2fa/sms')).location).toBe('/login/2fa?sent=1');
    await stub.waitFor(2);
    const code = lastCode()!;
    await d.get('/login/2fa?sent=1');
    expect((await d.post('/login/2fa', { code })).status).toBe(303);
    expect((await d.get('/account')).status).toBe(200);

    // The same code cannot be used again.
    const e = new Client(s.url);
    await e.get('/login');
    await e.post('/login', { email: u.user.email, password: u.password });
    await e.get('/login/2fa');
    expect((await e.post('/login/2fa', { code })).status).toBe(401);

    // Sends are rate-limited per account.
    expect((await e.post('/login/2fa/sms')).status).toBe(303);
    const limited = await e.post('/login/2fa/sms');
    expect(limited.status).toBe(429);
    expect(limited.text).toContain('Wait');

    // The technical log never saw the number or a code.
    const { readFileSync } = await import('node:fs');
    const log = readFileSync(s.logFile, 'utf8');
    expect(log).not.toContain('668 18 00');
    expect(log).not.toContain(phone);
    expect(log).not.toContain(code);
    const audited = s.ctx.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE action IN ('auth.sms_code_sent', 'auth.sms_enabled')`).get() as { n: number };
    expect(audited.n).toBeGreaterThanOrEqual(3);
  });

  it('a texted sign-in code works only for the pending sign-in that asked for it', async () => {
    const u = await createUser(s, { email: testEmail('sms-bound') });
    s.ctx.db.prepare('UPDATE users SET phone = ?, phone_verified_at = ? WHERE id = ?').run('+41446681801', new Date().toISOString(), u.user.id);
    const signIn = async () => {
      const c = new Client(s.url);
      await c.get('/login');
      expect((await c.post('/login', { email: u.user.email, password: u.password })).location).toBe('/login/2fa');
      await c.get('/login/2fa');
      return c;
    };
    const mine = await signIn();
    const other = await signIn();
    const before = stub.requests.length;
    expect((await mine.post('/login/2fa/sms')).location).toBe('/login/2fa?sent=1');
    await stub.waitFor(before + 1);
    const code = lastCode()!;
    // Another pending sign-in of the same account (say, a phishing relay) cannot use it.
    expect((await other.post('/login/2fa', { code })).status).toBe(401);
    expect((await mine.post('/login/2fa', { code })).status).toBe(303);
    expect((await mine.get('/account')).status).toBe(200);
  });

  it('explains the risks of SMS where a phone is enrolled, and offers the stronger app', async () => {
    const u = await createUser(s, { email: testEmail('sms-risk'), totp: true });
    const c = await signedInClient(s, u.user);
    const page = await c.get('/account/phone');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/data-testid="sms-risk"[^>]*>\s*<small>SMS is the weaker second factor: messages can be intercepted, and a number can be taken over by a SIM swap/);
    expect(page.text).toContain('An authenticator app is safer');
  });
});

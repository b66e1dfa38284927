import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Resp } from './support/client.ts';
import { Clock, createUser, signedInClient } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

/** The Set-Cookie line for a cookie name, or undefined. */
const setCookie = (r: Resp, name: string) => r.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));

/** The one-time-link cookie must be __Host-, HttpOnly, Secure, SameSite=Lax and short-lived. */
function expectLinkCookie(r: Resp, name: string): void {
  const line = setCookie(r, name);
  expect(line).toBeDefined();
  expect(line).toMatch(/; Path=\//);
  expect(line).toMatch(/; HttpOnly/);
  expect(line).toMatch(/; Secure/);
  expect(line).toMatch(/; SameSite=Lax/);
  const maxAge = Number(/Max-Age=(\d+)/.exec(line!)?.[1]);
  expect(maxAge).toBeGreaterThan(0);
  expect(maxAge).toBeLessThanOrEqual(15 * 60);
  expect(line).not.toMatch(/Domain=/);
}

describe('one-time links: the token leaves the URL', () => {
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

  it('a reset link is exchanged for a short-lived cookie and a clean URL; the form works from the cookie only', async () => {
    const u = await createUser(s, { email: testEmail('link-reset') });
    s.ctx.emailLinks.requestPasswordReset(u.user.email, { actor: { type: 'system' } });
    const mail = await sink.waitFor((m) => m.to.includes(u.user.email) && m.subject === 'Reset your password');
    const link = linkIn(mail.text, '/password/reset?token=')!;
    const token = new URL(`http://x${link}`).searchParams.get('token')!;
    const c = new Client(s.url);
    const first = await c.get(link);
    expect(first.status).toBe(303);
    expect(first.location).toBe('/password/reset');
    expectLinkCookie(first, '__Host-tessera_link_reset');
    const form = await c.get('/password/reset');
    expect(form.status).toBe(200);
    expect(form.text).not.toContain(token);
    expect(form.text).toContain('Choose a new password');

    // Without the cookie (another browser, or a tampered cookie) the form is refused.
    const other = new Client(s.url);
    await other.get('/login');
    expect((await other.post('/password/reset', { token, password: 'another long passphrase 12' })).status).toBe(410);
    other.cookies.set('__Host-tessera_link_reset', `${token.slice(0, -2)}xx`);
    expect((await other.get('/password/reset')).status).toBe(410);
    expect((await other.post('/password/reset', { password: 'another long passphrase 12' })).status).toBe(410);

    const done = await c.post('/password/reset', { password: 'my new reset passphrase is long' });
    expect(done.location).toBe('/login?reset=1');
    expect(c.cookies.has('__Host-tessera_link_reset')).toBe(false);
  });

  it('an expired link cookie is refused (the token behind it expired)', async () => {
    const u = await createUser(s, { email: testEmail('link-expired') });
    s.ctx.emailLinks.requestPasswordReset(u.user.email, { actor: { type: 'system' } });
    const mail = await sink.waitFor((m) => m.to.includes(u.user.email));
    const c = new Client(s.url);
    await c.get(linkIn(mail.text, '/password/reset?token=')!);
    clock.advance(31 * 60_000);
    expect((await c.get('/password/reset')).status).toBe(410);
  });

  it('the email-change link shows a confirmation button; only the POST applies the change', async () => {
    const u = await createUser(s, { email: testEmail('link-change') });
    const me = await signedInClient(s, u.user);
    expect((await me.post('/account/email', { email: testEmail('link-changed') })).location).toBe('/account?done=email');
    const mail = await sink.waitFor((m) => m.to.includes(testEmail('link-changed')));
    const link = linkIn(mail.text, '/email/confirm?')!;
    // A mail scanner follows the link (and the redirect): nothing changes.
    const scanner = new Client(s.url);
    const hop = await scanner.get(link);
    expect(hop.status).toBe(303);
    expect(hop.location).not.toContain('token');
    expectLinkCookie(hop, '__Host-tessera_link_change');
    const page = await scanner.get(hop.location!);
    expect(page.status).toBe(200);
    const action = /<form method="post" action="(\/email\/confirm[^"]*)"/.exec(page.text)?.[1];
    expect(action).toBe('/email/confirm?change=1');
    expect(s.ctx.auth.user(u.user.id)!.email).toBe(testEmail('link-change'));
    // The person presses the button.
    const done = await scanner.post(action!);
    expect(done.status).toBe(200);
    expect(done.text).toContain('confirmed');
    expect(s.ctx.auth.user(u.user.id)!.email).toBe(testEmail('link-changed'));
    // Used: a second press and the old link are refused.
    expect((await scanner.post(action!)).status).toBe(410);
    const again = new Client(s.url);
    await again.get(link);
    expect((await again.get('/email/confirm?change=1')).status).toBe(410);
  });

  it('the verification link works the same way (GET shows, POST confirms)', async () => {
    const u = await createUser(s, { email: testEmail('link-verify'), verified: false });
    s.ctx.emailLinks.sendVerification(u.user.id);
    const mail = await sink.waitFor((m) => m.to.includes(u.user.email));
    const c = new Client(s.url);
    const hop = await c.get(linkIn(mail.text, '/email/confirm?')!);
    expectLinkCookie(hop, '__Host-tessera_link_verify');
    await c.get(hop.location!);
    expect(s.ctx.auth.user(u.user.id)!.email_verified_at).toBeNull();
    expect((await c.post('/email/confirm')).status).toBe(200);
    expect(s.ctx.auth.user(u.user.id)!.email_verified_at).not.toBeNull();
  });
});

describe('one-time links: the setup link', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s.close());

  it('the printed setup link is exchanged for a cookie; the form posts to a clean URL', async () => {
    const link = /(\/setup\?token=[A-Za-z0-9_-]+)/.exec(s.announced.join('\n'))![1]!;
    const c = new Client(s.url);
    const hop = await c.get(link);
    expect(hop.status).toBe(303);
    expect(hop.location).toBe('/setup');
    expectLinkCookie(hop, '__Host-tessera_link_setup');
    const page = await c.get('/setup');
    expect(page.status).toBe(200);
    expect(page.text).toContain('action="/setup"');
    // Another browser without the cookie cannot use the form.
    const other = new Client(s.url);
    await other.get('/login');
    expect((await other.post('/setup', { name: 'Mallory Pseudonym', email: testEmail('mallory'), password: 'a long and unusual passphrase' })).status).toBe(404);
    const ok = await c.post('/setup', { name: 'Olga Pseudonymova', email: testEmail('link-owner'), password: 'a long and unusual owner passphrase' });
    expect(ok.status).toBe(303);
    expect(c.cookies.has('__Host-tessera_link_setup')).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { Clock, createUser, signedInClient } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const unescape = (html: string) => html.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');
const flash = (html: string) => unescape(/class="flash [a-z]+"[^>]*>([^<]+)</.exec(html)?.[1] ?? '');
const mailsTo = (s: TestServer, to: string) => s.ctx.mailer.devOutbox(1000).filter((m) => m.to_address === to).length;

describe('throttles on auth mail and SMS', () => {
  let s: TestServer;
  const clock = new Clock();
  beforeAll(async () => {
    // Per-network limit set low for this test; per-recipient limits are the defaults (3 / 15 min, 10 / day).
    s = await startTestServer({ trustProxy: 'true', authSendsPerNetworkHour: 8 }, { now: clock.now });
  });
  afterAll(() => s.close());

  const from = (ip: string) => new Client(s.url, { 'x-forwarded-for': ip });

  it('password-reset mail: at most 3 per 15 minutes per address, with the same answer whether or not an account exists', async () => {
    const u = await createUser(s, { email: testEmail('quota-reset') });
    const ghost = testEmail('quota-nobody');
    const answers: Record<string, string[]> = { known: [], unknown: [] };
    for (let i = 0; i < 4; i++) {
      const c = from(`192.0.2.${i + 1}`);
      await c.get('/password/forgot');
      const known = await c.post('/password/forgot', { email: u.user.email });
      const unknown = await c.post('/password/forgot', { email: ghost });
      answers.known!.push(`${known.status} ${flash(known.text) ?? ''}`);
      answers.unknown!.push(`${unknown.status} ${flash(unknown.text) ?? ''}`);
    }
    expect(mailsTo(s, u.user.email)).toBe(3);
    expect(answers.known).toEqual(answers.unknown);
    expect(answers.known![3]).toMatch(/^429 We've sent several emails to this address recently; wait 15 minutes/);
    // The window passes: another mail may go.
    clock.advance(15 * 60_000);
    const c = from('192.0.2.50');
    await c.get('/password/forgot');
    expect((await c.post('/password/forgot', { email: u.user.email })).status).toBe(200);
    expect(mailsTo(s, u.user.email)).toBe(4);
  });

  it('password-reset mail: at most 10 per day per address', async () => {
    const u = await createUser(s, { email: testEmail('quota-day') });
    for (let i = 0; i < 11; i++) {
      if (i % 3 === 0) clock.advance(15 * 60_000);
      s.ctx.emailLinks.requestPasswordReset(u.user.email, { actor: { type: 'system' }, ip: `198.51.100.${i + 1}` });
    }
    expect(mailsTo(s, u.user.email)).toBe(10);
    const r = s.ctx.emailLinks.requestPasswordReset(u.user.email, { actor: { type: 'system' }, ip: '198.51.100.99' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/wait \d+ (minutes|hours)/);
  });

  it('per network: generous, then a clear answer', async () => {
    const c = from('203.0.113.77');
    await c.get('/password/forgot');
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await c.post('/password/forgot', { email: testEmail(`quota-net-${i}`) })).status);
    expect(statuses.slice(0, 8).every((x) => x === 200)).toBe(true);
    expect(statuses[8]).toBe(429);
    const last = await c.post('/password/forgot', { email: testEmail('quota-net-x') });
    expect(flash(last.text)).toMatch(/from your network/);
    // Another network is not affected.
    const other = from('203.0.113.78');
    await other.get('/password/forgot');
    expect((await other.post('/password/forgot', { email: testEmail('quota-net-y') })).status).toBe(200);
  });

  it('email-change mail: at most 3 per 15 minutes to one address', async () => {
    const target = testEmail('quota-change-target');
    const results: string[] = [];
    for (let i = 0; i < 4; i++) {
      const u = await createUser(s, { email: testEmail(`quota-change-${i}`) });
      const c = await signedInClient(s, u.user);
      const r = await c.post('/account/email', { email: target });
      results.push(r.status === 303 ? 'sent' : `${r.status} ${unescape(r.text).includes("We've sent several emails to this address recently") ? 'limited' : 'other'}`);
    }
    expect(results).toEqual(['sent', 'sent', 'sent', '429 limited']);
    expect(mailsTo(s, target)).toBe(3);
  });

  it('SMS codes: at most 3 per 15 minutes to one number, whichever account asks', async () => {
    const phone = '+41 44 668 18 00';
    const results: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const u = await createUser(s, { email: testEmail(`quota-sms-${i}`) });
      const r = s.ctx.phone.startPhoneEnrolment(u.user.id, phone, { actor: { type: 'user', id: u.user.id }, ip: `192.0.2.${100 + i}` });
      results.push(r.ok);
      if (!r.ok && i === 3) expect(r.message).toMatch(/We've sent several codes to this number recently; wait 15 minutes/);
    }
    expect(results).toEqual([true, true, true, false]);
  });
});

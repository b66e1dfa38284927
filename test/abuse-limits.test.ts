import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgRow } from '../src/orgs/repo.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { Clock, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

/**
 * Abuse limits on public registration (issue 23): per network and event, per address and event,
 * per address across events. Small limits here so the tests are short; the defaults are generous.
 * --trust-proxy lets each client say which network it comes from, as a proxy would.
 */
describe('registration limits', () => {
  let s: TestServer;
  let org: OrgRow;
  const clock = new Clock();

  beforeAll(async () => {
    s = await startTestServer({ trustProxy: true, registrationLimitNetwork: 3, registrationLimitAddressEvent: 2, registrationLimitAddressHour: 4 }, { now: clock.now });
    const owner = await createUser(s, { email: testEmail('lim-owner') });
    org = createOrg(s, owner.user, uniqueSlug('lim'));
  });
  afterAll(async () => {
    await s?.close();
  });

  const from = (ip: string) => new Client(s.url, { 'sec-fetch-site': 'same-origin', 'x-forwarded-for': ip });
  const count = (eventId: string) => (s.ctx.db.prepare('SELECT count(*) AS n FROM registrations WHERE event_id = ?').get(eventId) as { n: number }).n;
  let n = 0;
  const someone = () => testEmail(`lim-${++n}`);

  it('per network and event: refuses with 429, Retry-After and the input kept; other networks, IPv6 by /64, and the next window go through', async () => {
    const e = createEvent(s, org, { duplicate_policy: 'allow' });
    for (let i = 0; i < 3; i++) expect((await from('198.51.100.7').post(`/e/${e.slug}/register`, { email: someone(), name: 'Crowd Member' })).status).toBe(201);
    const kept = someone();
    const refused = await from('198.51.100.7').post(`/e/${e.slug}/register`, { email: kept, name: 'Fourth Person' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(600);
    expect(refused.text).toContain('Many people on your network');
    expect(refused.text).toContain(`value="${kept}"`);
    expect(refused.text).toContain('value="Fourth Person"');
    expect(count(e.id)).toBe(3);
    // Another network, and another event for the same network, are not affected.
    expect((await from('203.0.113.9').post(`/e/${e.slug}/register`, { email: someone(), name: 'Other Net' })).status).toBe(201);
    const e2 = createEvent(s, org);
    expect((await from('198.51.100.7').post(`/e/${e2.slug}/register`, { email: someone(), name: 'Other Event' })).status).toBe(201);
    // IPv6: the whole /64 is one network.
    for (let i = 1; i <= 3; i++) expect((await from(`2001:db8:7:7::${i}`).post(`/e/${e.slug}/register`, { email: someone(), name: 'Six' })).status).toBe(201);
    expect((await from('2001:db8:7:7:ffff::1').post(`/e/${e.slug}/register`, { email: someone(), name: 'Six' })).status).toBe(429);
    expect((await from('2001:db8:7:8::1').post(`/e/${e.slug}/register`, { email: someone(), name: 'Six' })).status).toBe(201);
    // After the window the network may register again; the refusal was audited once, without the address.
    clock.advance(10 * 60_000);
    expect((await from('198.51.100.7').post(`/e/${e.slug}/register`, { email: kept, name: 'Fourth Person' })).status).toBe(201);
    const audited = s.ctx.db.prepare("SELECT details FROM audit_log WHERE action = 'registration.throttled' AND target_id = ?").all(e.id) as { details: string }[];
    expect(audited.length).toBe(2);
    expect(audited.map((a) => a.details).join('')).not.toContain('@');
  });

  it('a refused submission spends nothing, and an invalid one is not counted', async () => {
    const e = createEvent(s, org);
    for (let i = 0; i < 5; i++) expect((await from('192.0.2.50').post(`/e/${e.slug}/register`, { email: 'not an email', name: 'Typo' })).status).toBe(422);
    for (let i = 0; i < 3; i++) expect((await from('192.0.2.50').post(`/e/${e.slug}/register`, { email: someone(), name: 'Valid' })).status).toBe(201);
    expect((await from('192.0.2.50').post(`/e/${e.slug}/register`, { email: someone(), name: 'Late' })).status).toBe(429);
  });

  it('per address: the same address for one event a few times a day, and across events a few times an hour', async () => {
    const target = testEmail('lim-victim');
    const e = createEvent(s, org, { duplicate_policy: 'allow' });
    // Different networks each time: the address limit holds whoever sends.
    expect((await from('192.0.2.1').post(`/e/${e.slug}/register`, { email: target, name: 'A' })).status).toBe(201);
    expect((await from('192.0.2.2').post(`/e/${e.slug}/register`, { email: target.toUpperCase(), name: 'B' })).status).toBe(201);
    const third = await from('192.0.2.3').post(`/e/${e.slug}/register`, { email: target, name: 'C' });
    expect(third.status).toBe(429);
    expect(third.text).toContain('This email address has been used for several registrations for this event today');
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(3600);
    // Across events: 4 registrations (so 4 mails) per hour; two are spent above.
    for (let i = 0; i < 2; i++) expect((await from(`192.0.2.${10 + i}`).post(`/e/${createEvent(s, org).slug}/register`, { email: target, name: 'D' })).status).toBe(201);
    const bombed = await from('192.0.2.20').post(`/e/${createEvent(s, org).slug}/register`, { email: target, name: 'E' });
    expect(bombed.status).toBe(429);
    expect(bombed.text).toContain('This email address has received many registration emails');
    clock.advance(3_600_000);
    expect((await from('192.0.2.21').post(`/e/${createEvent(s, org).slug}/register`, { email: target, name: 'F' })).status).toBe(201);
  });
});

describe('invitation limits', () => {
  let s: TestServer;
  const clock = new Clock();
  beforeAll(async () => {
    s = await startTestServer({ invitationLimitOrg: 3, invitationLimitAddress: 2 }, { now: clock.now });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('per organization per hour and per address per day: 429 with Retry-After, input kept, nothing sent', async () => {
    const owner = await createUser(s, { email: testEmail('inv-lim-owner') });
    const orgA = createOrg(s, owner.user, uniqueSlug('inva'));
    const orgB = createOrg(s, owner.user, uniqueSlug('invb'));
    let c = await signedInClient(s, owner.user);
    const invite = async (slug: string, to: string) => {
      await c.get(`/orgs/${slug}/members`);
      return c.post(`/orgs/${slug}/members/invite`, { email: to, role: 'viewer' });
    };
    const mails = (to: string) => s.ctx.mailer.devOutbox(500).filter((m) => m.to_address === to).length;
    const victim = testEmail('inv-lim-victim');
    // Per address, across organizations: two a day.
    expect((await invite(orgA.slug, victim)).status).toBe(303);
    expect((await invite(orgB.slug, victim.toUpperCase())).status).toBe(303);
    const third = await invite(orgA.slug, victim);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(3600);
    expect(third.text).toContain('This address has received several invitations today');
    expect(third.text).toContain(`value="${victim}"`);
    expect(mails(victim)).toBe(1);
    // Per organization: three an hour (one spent above); other organizations keep their own budget.
    expect((await invite(orgA.slug, testEmail('inv-lim-1'))).status).toBe(303);
    expect((await invite(orgA.slug, testEmail('inv-lim-2'))).status).toBe(303);
    const over = await invite(orgA.slug, testEmail('inv-lim-3'));
    expect(over.status).toBe(429);
    expect(over.text).toContain('This organization has sent many invitations in the last hour');
    expect(mails(testEmail('inv-lim-3'))).toBe(0);
    expect((await invite(orgB.slug, testEmail('inv-lim-4'))).status).toBe(303);
    clock.advance(3_600_000);
    // An hour idle ends an owner's session (AAL2: 30 minutes): sign in again, as the owner would.
    c = await signedInClient(s, owner.user);
    expect((await invite(orgA.slug, testEmail('inv-lim-3'))).status).toBe(303);
  });
});

describe('registration limit defaults', () => {
  it('are generous per network (a crowd behind one NAT) and tight per address', async () => {
    const { loadConfig } = await import('../src/config/config.ts');
    const cfg = loadConfig({}, {});
    expect(cfg.registrationLimitNetwork).toBeGreaterThanOrEqual(500);
    expect(cfg.registrationLimitAddressEvent).toBeLessThanOrEqual(5);
    expect(cfg.registrationLimitAddressHour).toBeLessThanOrEqual(10);
    expect(loadConfig({}, { TESSERA_REGISTRATION_LIMIT_NETWORK: '0' }).registrationLimitNetwork).toBe(0);
    expect(cfg.invitationLimitAddress).toBeLessThanOrEqual(5);
  });
});

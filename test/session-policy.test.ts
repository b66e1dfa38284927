import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from './support/client.ts';
import { Clock, addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('session lengths by role (NIST SP 800-63B AAL2 for attendee data)', () => {
  let s: TestServer;
  const clock = new Clock();
  beforeAll(async () => {
    // The instance defaults (12 h idle, 7 days absolute) stay for everyone else.
    s = await startTestServer({}, { now: clock.now });
  });
  afterAll(() => s.close());

  const alive = async (c: Client) => (await c.get('/account')).status === 200;

  it('a member who reads attendee data is signed out after 30 minutes idle; a check-in member is not', async () => {
    const owner = await createUser(s, { email: testEmail('sp-owner'), totp: true });
    const organizer = await createUser(s, { email: testEmail('sp-organizer') });
    const checkin = await createUser(s, { email: testEmail('sp-checkin') });
    const org = createOrg(s, owner.user, uniqueSlug('sp'));
    addMember(s, org, organizer.user, 'organizer');
    addMember(s, org, checkin.user, 'checkin');
    const o = await signedInClient(s, organizer.user);
    const k = await signedInClient(s, checkin.user);
    clock.advance(29 * MIN);
    expect(await alive(o)).toBe(true);
    clock.advance(31 * MIN);
    expect(await alive(o)).toBe(false);
    expect(await alive(k)).toBe(true);
  });

  it('and after 12 hours in total, however active', async () => {
    const owner = await createUser(s, { email: testEmail('sp-abs-owner'), totp: true });
    const organizer = await createUser(s, { email: testEmail('sp-abs-organizer') });
    const org = createOrg(s, owner.user, uniqueSlug('spabs'));
    addMember(s, org, organizer.user, 'organizer');
    const o = await signedInClient(s, organizer.user);
    for (let elapsed = 0; elapsed < 11.5 * HOUR; elapsed += 20 * MIN) {
      clock.advance(20 * MIN);
      expect(await alive(o)).toBe(true);
    }
    clock.advance(40 * MIN);
    expect(await alive(o)).toBe(false);
  });

  it('an organization sets its own values; a user in several organizations gets the strictest', async () => {
    const ownerA = await createUser(s, { email: testEmail('sp-a-owner') });
    const ownerB = await createUser(s, { email: testEmail('sp-b-owner') });
    const both = await createUser(s, { email: testEmail('sp-both') });
    const orgA = createOrg(s, ownerA.user, uniqueSlug('spa'));
    const orgB = createOrg(s, ownerB.user, uniqueSlug('spb'));
    addMember(s, orgA, both.user, 'organizer');
    addMember(s, orgB, both.user, 'organizer');
    const a = await signedInClient(s, ownerA.user);
    await a.get(`/orgs/${orgA.slug}/settings`);
    expect((await a.post(`/orgs/${orgA.slug}/settings/sessions`, { idle_minutes: '120', absolute_hours: '10' })).location).toBe(`/orgs/${orgA.slug}/settings?done=sessions`);
    const b = await signedInClient(s, ownerB.user);
    await b.get(`/orgs/${orgB.slug}/settings`);
    expect((await b.post(`/orgs/${orgB.slug}/settings/sessions`, { idle_minutes: '15', absolute_hours: '12' })).status).toBe(303);
    expect((await b.get(`/orgs/${orgB.slug}/settings`)).text).toContain('value="15"');

    const c = await signedInClient(s, both.user);
    clock.advance(14 * MIN);
    expect(await alive(c)).toBe(true);
    clock.advance(16 * MIN);
    expect(await alive(c)).toBe(false);
    const audit = s.ctx.db.prepare(`SELECT org_id, result FROM audit_log WHERE action = 'org.session_policy_changed'`).all() as { org_id: string }[];
    expect(audit.map((r) => r.org_id).sort()).toEqual([orgA.id, orgB.id].sort());
  });

  it('refuses values out of range, and members without org.settings', async () => {
    const owner = await createUser(s, { email: testEmail('sp-bad-owner') });
    const organizer = await createUser(s, { email: testEmail('sp-bad-organizer') });
    const org = createOrg(s, owner.user, uniqueSlug('spbad'));
    addMember(s, org, organizer.user, 'organizer');
    const c = await signedInClient(s, owner.user);
    await c.get(`/orgs/${org.slug}/settings`);
    expect((await c.post(`/orgs/${org.slug}/settings/sessions`, { idle_minutes: '2', absolute_hours: '12' })).status).toBe(400);
    expect((await c.post(`/orgs/${org.slug}/settings/sessions`, { idle_minutes: '30', absolute_hours: '0' })).status).toBe(400);
    const o = await signedInClient(s, organizer.user);
    await o.get(`/orgs/${org.slug}`);
    expect((await o.post(`/orgs/${org.slug}/settings/sessions`, { idle_minutes: '600', absolute_hours: '100' })).status).toBe(403);
    expect(s.ctx.orgs.bySlug(org.slug)).toMatchObject({ session_idle_minutes: 30, session_absolute_hours: 12 });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgRow } from '../src/orgs/repo.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const browser = { 'sec-fetch-site': 'same-origin' };

describe('injection', () => {
  let s: TestServer;
  let org: OrgRow;
  beforeAll(async () => {
    s = await startTestServer();
    const owner = await createUser(s, { email: testEmail('inj-owner'), totp: true });
    org = createOrg(s, owner.user, uniqueSlug('inj'));
  });
  afterAll(async () => {
    await s?.close();
  });

  it('stores SQL metacharacters as data: a quote in an address is matched exactly, never as SQL', async () => {
    const e = createEvent(s, org);
    const quoted = `o'brien--${Date.now()}@example.org`;
    const anon = new Client(s.url, browser);
    expect((await anon.post(`/e/${e.slug}/register`, { email: quoted, name: `x'); DROP TABLE registrations; --` })).status).toBe(201);
    // The duplicate check finds exactly that address (the event refuses duplicates)...
    const again = await anon.post(`/e/${e.slug}/register`, { email: quoted, name: 'Again' });
    expect(again.status).toBe(409);
    // ...and an address that would match everything, were it pasted into SQL, matches nothing.
    expect((await anon.post(`/e/${e.slug}/register`, { email: `it's'--or--1@example.org`, name: 'Other' })).status).toBe(201);
    const rows = s.ctx.db.prepare('SELECT email, name FROM registrations WHERE event_id = ? ORDER BY created_at').all(e.id) as { email: string; name: string }[];
    expect(rows).toEqual([
      { email: quoted, name: `x'); DROP TABLE registrations; --` },
      { email: `it's'--or--1@example.org`, name: 'Other' },
    ]);
  });

  it('encodes data in JSON answers: a name that closes a script tag comes back as the same string', async () => {
    const e = createEvent(s, org);
    const name = `</script><script>alert("x")</script> \\" \u2028 Ada`;
    const anon = new Client(s.url, browser);
    expect((await anon.post(`/e/${e.slug}/register`, { email: testEmail('inj-json'), name })).status).toBe(201);
    const staff = await createUser(s, { email: testEmail('inj-staff'), totp: true });
    addMember(s, org, staff.user, 'organizer');
    const c = await signedInClient(s, staff.user);
    const r = await c.get(`/orgs/${org.slug}/events/${e.id}/attendees/export.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    const data = JSON.parse(r.text) as { name?: string }[] | { attendees?: { name?: string }[] };
    const list = Array.isArray(data) ? data : (data.attendees ?? []);
    expect(list.map((a) => a.name)).toContain(name);
    // A download, never rendered as a page: the browser is told not to sniff it into HTML.
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment;/);
  });
});

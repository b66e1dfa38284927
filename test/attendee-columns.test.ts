import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRow } from '../src/auth/repo.ts';
import type { EventRow } from '../src/events/repo.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { createEvent } from './support/events.ts';
import { addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const sys = { actor: { type: 'system' as const } };

/** The column headers of the attendee table in a page. */
const headers = (html: string) => {
  const table = /<table class="striped attendee-table">[\s\S]*?<\/thead>/.exec(html)?.[0] ?? '';
  return [...table.matchAll(/<th scope="col">([^<]*)/g)].map((m) => m[1]!.trim()).filter(Boolean);
};

describe('attendee list columns, remembered per staff member', () => {
  let s: TestServer;
  let org: OrgRow;
  let event: EventRow;
  let other: EventRow;
  let organizer: UserRow;
  let admin: UserRow;
  let viewer: UserRow;
  const base = () => `/orgs/${org.slug}/events/${event.id}`;

  beforeAll(async () => {
    s = await startTestServer();
    const owner = await createUser(s, { email: testEmail('cols-owner') });
    organizer = (await createUser(s, { email: testEmail('cols-organizer') })).user;
    admin = (await createUser(s, { email: testEmail('cols-admin') })).user;
    viewer = (await createUser(s, { email: testEmail('cols-viewer') })).user;
    org = createOrg(s, owner.user, uniqueSlug('cols'));
    addMember(s, org, organizer, 'organizer');
    addMember(s, org, admin, 'admin');
    addMember(s, org, viewer, 'viewer');
    event = createEvent(s, org, { publish: false });
    const r = s.ctx.events.addField(event, { key: 'diet', type: 'short_text', label: 'Diet', help: '', required: false, options: [], personal: false, sensitive: false, purpose: '', consent_text: '' }, sys);
    if (!r.ok) throw new Error(r.message);
    s.ctx.events.setStatus(org, event, 'published', sys);
    event = s.ctx.events.get(org, event.id)!;
    const reg = await s.ctx.registrations.register(event, { email: testEmail('cols-guest'), name: `Guest ${PERSON_SURNAME}`, diet: 'vegan' }, sys);
    if (!reg.ok) throw new Error(reg.message);
    other = createEvent(s, org);
    const inOther = await s.ctx.registrations.register(other, { email: testEmail('cols-other'), name: `Other ${PERSON_SURNAME}` }, sys);
    if (!inOther.ok) throw new Error(inOther.message);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('shows every column until someone chooses, then only their choice, for them and this event only', async () => {
    const c = await signedInClient(s, organizer);
    expect(headers((await c.get(`${base()}/attendees`)).text)).toEqual(['Name', 'Email', 'Code', 'Status', 'Checked in', 'Diet']);

    const saved = await c.post(`${base()}/attendee-columns`, { columns: ['status', 'diet', 'no-such-field'] });
    expect(saved.status).toBe(303);
    expect(saved.location).toBe(`${base()}/attendees?done=columns`);
    const after = await c.get(`${base()}/attendees?done=columns`);
    expect(headers(after.text)).toEqual(['Name', 'Status', 'Diet']);
    expect(after.text).toContain('Columns saved.');
    // The unknown key was dropped, not stored.
    const row = s.ctx.db.prepare('SELECT columns FROM attendee_list_columns WHERE event_id = ? AND user_id = ?').get(event.id, organizer.id) as { columns: string };
    expect(JSON.parse(row.columns)).toEqual(['status', 'diet']);
    const audited = s.ctx.audit.recentForOrg(org.id, 100).filter((r) => r.action === 'attendee.columns_chosen');
    expect(audited).toHaveLength(1);
    expect(audited[0]!.details).not.toContain('Guest');

    // A new session (another device) keeps the choice; a colleague and another event do not get it.
    const again = await signedInClient(s, organizer);
    expect(headers((await again.get(`${base()}/attendees`)).text)).toEqual(['Name', 'Status', 'Diet']);
    const colleague = await signedInClient(s, admin);
    expect(headers((await colleague.get(`${base()}/attendees`)).text)).toEqual(['Name', 'Email', 'Code', 'Status', 'Checked in', 'Diet']);
    expect(headers((await c.get(`/orgs/${org.slug}/events/${other.id}/attendees`)).text)).toEqual(['Name', 'Email', 'Code', 'Status', 'Checked in']);

    // Choosing nothing hides every optional column; the name stays (it links to the record).
    await c.post(`${base()}/attendee-columns`, {});
    expect(headers((await c.get(`${base()}/attendees`)).text)).toEqual(['Name']);
  });

  it('folds row actions into one menu per row for those who may act, and refuses roles without the list', async () => {
    const c = await signedInClient(s, organizer);
    const page = (await c.get(`${base()}/attendees`)).text;
    expect(page).toMatch(/<details class="row-menu"><summary>Actions<span class="visually-hidden"> for Guest/);
    expect(page).toContain('/resend"');
    expect(page).toContain('/cancel"');

    const v = await signedInClient(s, viewer);
    expect((await v.post(`${base()}/attendee-columns`, { columns: ['status'] })).status).toBe(403);
    expect(s.ctx.db.prepare('SELECT count(*) AS n FROM attendee_list_columns WHERE user_id = ?').get(viewer.id)).toEqual({ n: 0 });
  });

  it('answers 404 for another organization’s event and stores nothing', async () => {
    const strangerOwner = await createUser(s, { email: testEmail('cols-stranger') });
    const foreignOrg = createOrg(s, strangerOwner.user, uniqueSlug('cols-b'));
    const foreign = createEvent(s, foreignOrg);
    const c = await signedInClient(s, organizer);
    expect((await c.post(`/orgs/${org.slug}/events/${foreign.id}/attendee-columns`, { columns: ['status'] })).status).toBe(404);
    expect(s.ctx.db.prepare('SELECT count(*) AS n FROM attendee_list_columns WHERE event_id = ?').get(foreign.id)).toEqual({ n: 0 });
  });
});

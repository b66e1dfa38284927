import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../src/events/repo.ts';
import { eventAccessRoutes } from '../src/events/access-routes.tsx';
import { eventFormRoutes } from '../src/events/form-routes.tsx';
import { eventAdminRoutes } from '../src/events/routes.tsx';
import { guard } from '../src/http/guard.ts';
import { RouteTable } from '../src/http/route-permissions.ts';
import type { OrgRole } from '../src/orgs/permissions.ts';
import { type OrgRow, orgsRepo } from '../src/orgs/repo.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { type TestUser, addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const sys = { actor: { type: 'system' as const } };
const browser = { 'sec-fetch-site': 'same-origin' };
const htmx = { 'hx-request': 'true' };
const slug = (p = 'ev') => `${p}-${randomBytes(4).toString('hex')}`;

/** A complete, valid event form as a browser would send it (times are the event's wall clock). */
const eventForm = (over: Record<string, string> = {}): Record<string, string> => ({
  title: 'Autumn Summit',
  slug: slug(),
  description_md: 'Talks and **workshops**.',
  starts_at: '2026-09-10T09:00',
  ends_at: '2026-09-10T17:00',
  timezone: 'Europe/Zurich',
  venue: 'Hall 2',
  online_url: '',
  capacity: '',
  registration_opens_at: '',
  registration_closes_at: '',
  duplicate_policy: 'reject',
  organizer_contact: 'events@example.test',
  privacy_notice: '',
  controller_contact: '',
  access_mode: 'public',
  intent: 'save',
  ...over,
});

describe('organizer event pages', () => {
  let s: TestServer;
  let org: OrgRow;
  let other: OrgRow;
  const people = {} as Record<OrgRole, TestUser>;
  const clients = {} as Record<OrgRole, Client>;

  beforeAll(async () => {
    s = await startTestServer();
    for (const role of ['owner', 'admin', 'organizer', 'checkin', 'viewer'] as const) people[role] = await createUser(s, { email: testEmail(`evadm-${role}-${randomBytes(2).toString('hex')}`, 'a') });
    org = createOrg(s, people.owner.user, uniqueSlug('evadm'));
    for (const role of ['admin', 'organizer', 'checkin', 'viewer'] as const) addMember(s, org, people[role].user, role);
    for (const role of Object.keys(people) as OrgRole[]) clients[role] = await signedInClient(s, people[role].user);
    const otherOwner = await createUser(s, { email: testEmail('evadm-other', 'b') });
    other = createOrg(s, otherOwner.user, uniqueSlug('evother'));
  });
  afterAll(() => s?.close());

  const base = () => `/orgs/${org.slug}/events`;
  const eventRow = (id: string) => s.ctx.db.prepare('SELECT * FROM events WHERE id = ?').get(id) as EventRow | undefined;
  const eventsOf = (o: OrgRow) => (s.ctx.db.prepare('SELECT count(*) AS n FROM events WHERE org_id = ?').get(o.id) as { n: number }).n;
  const audit = (action: string) => s.ctx.audit.recentForOrg(org.id, 2000).filter((r) => r.action === action);
  const idFrom = (location: string | null) => /\/events\/([0-9a-f-]{36})/.exec(location ?? '')?.[1] ?? '';
  const fields = (e: { id: string }) => s.ctx.events.fields({ org_id: org.id, id: e.id });

  async function createViaHttp(c: Client, over: Record<string, string> = {}): Promise<{ id: string; location: string }> {
    await c.get(`${base()}/new`);
    const r = await c.post(base(), eventForm(over));
    expect(r.status, r.text.slice(0, 2000)).toBe(303);
    return { id: idFrom(r.location), location: r.location ?? '' };
  }

  it('creates, edits and publishes an event; times are read in the chosen zone; the list shows status and seats', async () => {
    const c = clients.organizer;
    const form = await c.get(`${base()}/new`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('<option value="Europe/Zurich"');
    expect(form.text).toContain('shown on the public event page');

    const { id, location } = await createViaHttp(c, { title: 'Autumn Summit', slug: 'autumn-summit-2026' });
    expect(location).toBe(`${base()}/${id}?done=created`);
    const row = eventRow(id)!;
    expect(row).toMatchObject({ org_id: org.id, status: 'draft', title: 'Autumn Summit', starts_at: '2026-09-10T07:00:00.000Z', ends_at: '2026-09-10T15:00:00.000Z', capacity: null, access_mode: 'public' });
    expect(fields(row).map((f) => f.key)).toEqual(['email', 'name']);

    const page = await c.get(location);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Event created as a draft');
    expect(page.text).toMatch(/data-testid="event-status">Draft</);
    expect(page.text).toContain('/e/autumn-summit-2026');
    expect(page.text).toContain(`href="${base()}/${id}/attendees"`);
    expect(page.text).toContain(`href="${base()}/${id}/checkin"`);

    // The edit form shows the stored instants back as the wall clock in the event's zone.
    const edit = await c.get(`${base()}/${id}/edit`);
    expect(edit.text).toContain('value="2026-09-10T09:00"');
    expect(edit.text).toContain('Talks and **workshops**.');
    expect(edit.text).toContain('<strong>workshops</strong>');

    const saved = await c.post(`${base()}/${id}/edit`, eventForm({ title: 'Autumn Summit 2026', slug: 'autumn-summit-2026', timezone: 'America/New_York', capacity: '50', waitlist_enabled: 'on', double_opt_in: 'on', registration_opens_at: '2026-08-01T08:00', registration_closes_at: '2026-09-09T20:00', online_url: 'https://stream.example.test/live', privacy_notice: 'Only for this event.\nDeleted after 30 days.' }));
    expect(saved.status, saved.text.slice(0, 1500)).toBe(303);
    expect(saved.location).toBe(`${base()}/${id}?done=saved`);
    expect(eventRow(id)).toMatchObject({
      title: 'Autumn Summit 2026',
      timezone: 'America/New_York',
      starts_at: '2026-09-10T13:00:00.000Z',
      capacity: 50,
      waitlist_enabled: 1,
      double_opt_in: 1,
      registration_opens_at: '2026-08-01T12:00:00.000Z',
      registration_closes_at: '2026-09-10T00:00:00.000Z',
      online_url: 'https://stream.example.test/live',
      privacy_notice: 'Only for this event.\nDeleted after 30 days.',
    });

    const publish = await c.post(`${base()}/${id}/status`, { to: 'publish' });
    expect(publish.status).toBe(303);
    expect(eventRow(id)?.status).toBe('published');
    const anon = new Client(s.url, browser);
    expect((await anon.get('/e/autumn-summit-2026')).status).toBe(200);

    const list = await c.get(base());
    expect(list.status).toBe(200);
    const tr = new RegExp(`<tr data-event="${id}">[\\s\\S]*?</tr>`).exec(list.text)?.[0] ?? '';
    expect(tr).toContain('Autumn Summit 2026');
    expect(tr).toContain('Published');
    expect(tr).toMatch(/data-testid="seats">0 \/ 50</);
    expect(tr).toContain('Thu 10 Sept 2026, 09:00–17:00 EDT');

    // Close, reopen, archive: each a status change; a change that makes no sense is refused.
    expect((await c.post(`${base()}/${id}/status`, { to: 'close' })).status).toBe(303);
    expect(eventRow(id)?.status).toBe('closed');
    expect((await c.post(`${base()}/${id}/status`, { to: 'close' })).status).toBe(409);
    expect((await c.post(`${base()}/${id}/status`, { to: 'reopen' })).status).toBe(303);
    expect(eventRow(id)?.status).toBe('published');
    expect((await c.post(`${base()}/${id}/status`, { to: 'archive' })).status).toBe(303);
    expect(eventRow(id)?.status).toBe('archived');
    expect((await anon.get('/e/autumn-summit-2026')).status).toBe(404);
    expect((await c.post(`${base()}/${id}/status`, { to: 'vanish' })).status).toBe(400);

    const actions = ['event.created', 'event.updated', 'event.published', 'event.closed', 'event.archived'];
    for (const a of actions) expect(audit(a).some((r) => r.target_id === id), a).toBe(true);
  });

  it('raising the capacity moves people from the waiting list to confirmed', async () => {
    const c = clients.organizer;
    const { id } = await createViaHttp(c, { capacity: '1', waitlist_enabled: 'on' });
    await c.post(`${base()}/${id}/status`, { to: 'publish' });
    const e = eventRow(id)!;
    for (const who of ['wl-a', 'wl-b', 'wl-c']) expect((await s.ctx.registrations.register(e, { email: testEmail(who), name: 'N' }, sys)).ok).toBe(true);
    expect(s.ctx.attendees.counts(e)).toMatchObject({ confirmed: 1, waitlisted: 2 });
    const r = await c.post(`${base()}/${id}/edit`, eventForm({ slug: e.slug, capacity: '2', waitlist_enabled: 'on' }));
    expect(r.location).toBe(`${base()}/${id}?done=saved&promoted=1`);
    expect((await c.get(r.location!)).text).toContain('1 person moved from the waiting list to confirmed.');
    expect(s.ctx.attendees.counts(e)).toMatchObject({ confirmed: 2, waitlisted: 1 });
    // Unlimited frees every seat.
    await c.post(`${base()}/${id}/edit`, eventForm({ slug: e.slug, capacity: '', waitlist_enabled: 'on' }));
    expect(s.ctx.attendees.counts(e)).toMatchObject({ confirmed: 3, waitlisted: 0 });
  });

  it('refuses bad event input with a message next to the field, keeps the input and stores nothing', async () => {
    const c = clients.organizer;
    await c.get(`${base()}/new`);
    const cases: [Record<string, string>, string, string][] = [
      [{ title: '' }, 'title', 'Required.'],
      [{ slug: 'Not A Slug!' }, 'slug', '3–60 lowercase letters'],
      [{ slug: '-starts-with-hyphen' }, 'slug', '3–60 lowercase letters'],
      [{ starts_at: '2026-09-10T18:00', ends_at: '2026-09-10T09:00' }, 'ends_at', 'The end must be after the start.'],
      [{ starts_at: '2026-02-30T10:00' }, 'starts_at', 'Enter a date and time'],
      [{ timezone: 'Mars/Olympus_Mons' }, 'timezone', 'Choose a time zone from the list.'],
      [{ online_url: 'javascript:alert(1)' }, 'online_url', 'starting with https:// or http://'],
      [{ online_url: 'ftp://files.example.test/' }, 'online_url', 'starting with https:// or http://'],
      [{ capacity: '-5' }, 'capacity', 'Enter a whole number from 1'],
      [{ capacity: '2.5' }, 'capacity', 'Enter a whole number from 1'],
      [{ registration_opens_at: '2026-09-01T10:00', registration_closes_at: '2026-08-01T10:00' }, 'registration_closes_at', 'Registration must close after it opens.'],
      [{ duplicate_policy: 'sometimes' }, 'duplicate_policy', 'Choose one of the options.'],
      [{ access_mode: 'secret' }, 'access_mode', 'Choose one of the options.'],
      [{ waitlist_enabled: 'maybe' }, 'waitlist_enabled', 'Invalid value.'],
      [{ venue: 'Hall\u0007 3' }, 'venue', 'Contains characters that are not allowed.'],
      [{ description_md: 'x'.repeat(20_001) }, 'description_md', 'At most 20000 characters.'],
    ];
    const before = eventsOf(org);
    for (const [over, field, message] of cases) {
      const r = await c.post(base(), eventForm({ title: 'Kept Title 77', ...over }));
      const label = JSON.stringify(over).slice(0, 80);
      expect(r.status, label).toBe(400);
      expect(r.text, label).toContain(`id="f-${field}-error"`);
      expect(r.text, label).toContain(message);
      expect(r.text, label).toContain('Nothing was saved');
      if (field !== 'title') expect(r.text, label).toContain('value="Kept Title 77"');
    }
    // Several problems at once are all reported.
    const many = await c.post(base(), eventForm({ title: '', ends_at: '2026-09-01T09:00' }));
    expect(many.text).toContain('id="f-title-error"');
    expect(many.text).toContain('The end must be after the start.');
    // A body larger than the server accepts.
    const huge = await c.post(base(), eventForm({ description_md: 'x'.repeat(1100 * 1024) }));
    expect(huge.status).toBe(413);
    // An address that another event already uses.
    const taken = createEvent(s, other, { publish: false });
    const dup = await c.post(base(), eventForm({ slug: taken.slug }));
    expect(dup.status).toBe(409);
    expect(dup.text).toContain('already used by another event');
    expect(eventsOf(org)).toBe(before);

    // The same rules on edit: nothing changes.
    const { id } = await createViaHttp(c, { title: 'Unchanged' });
    const snapshot = eventRow(id);
    for (const [over] of cases.slice(0, 9)) expect((await c.post(`${base()}/${id}/edit`, eventForm({ ...over }))).status).toBe(400);
    expect(eventRow(id)).toEqual(snapshot);

    // "Update preview" shows the rendered Markdown and saves nothing; the htmx preview answers a fragment.
    const preview = await c.post(`${base()}/${id}/edit`, eventForm({ title: 'Not saved', description_md: '# Hello\n\n<img src=x onerror=alert(1)>', intent: 'preview' }));
    expect(preview.status).toBe(200);
    expect(preview.text).toContain('<h1>Hello</h1>');
    expect(preview.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(eventRow(id)?.title).toBe('Unchanged');
    const frag = await c.post(`${base()}/markdown-preview`, { description_md: '*hi*' }, htmx);
    expect(frag.text).toBe('<div id="description-preview" class="description-preview" aria-live="polite"><p><em>hi</em></p>\n</div>');
  });

  it('handles daylight-saving gaps and overlaps in Europe/Zurich by a stated rule', async () => {
    const c = clients.organizer;
    // 02:30 on 2026-03-29 does not exist (02:00 → 03:00): moved forward by the gap, to 03:30 CEST.
    const spring = await createViaHttp(c, { starts_at: '2026-03-29T02:30', ends_at: '2026-03-29T05:00' });
    expect(spring.location).toContain('dst=starts_at.skipped');
    expect(eventRow(spring.id)?.starts_at).toBe('2026-03-29T01:30:00.000Z');
    expect(eventRow(spring.id)?.ends_at).toBe('2026-03-29T03:00:00.000Z');
    const page = await c.get(spring.location);
    expect(page.text).toContain('does not exist in Europe/Zurich that day');
    expect(page.text).toContain('2026-03-29 03:30');
    expect((await c.get(`${base()}/${spring.id}/edit`)).text).toContain('value="2026-03-29T03:30"');

    // 02:30 on 2026-10-25 happens twice (03:00 → 02:00): the first one, in summer time (00:30Z).
    const autumn = await createViaHttp(c, { starts_at: '2026-10-25T02:30', ends_at: '2026-10-25T04:00' });
    expect(autumn.location).toContain('dst=starts_at.ambiguous');
    expect(eventRow(autumn.id)?.starts_at).toBe('2026-10-25T00:30:00.000Z');
    expect((await c.get(autumn.location)).text).toContain('happens twice in Europe/Zurich');
    // Saving the form again unchanged keeps the same instant.
    await c.post(`${base()}/${autumn.id}/edit`, eventForm({ slug: eventRow(autumn.id)!.slug, starts_at: '2026-10-25T02:30', ends_at: '2026-10-25T04:00' }));
    expect(eventRow(autumn.id)?.starts_at).toBe('2026-10-25T00:30:00.000Z');
    // An end at the second 02:45 cannot be typed; 02:15 (first occurrence) before a 02:30 start is refused.
    const before = await c.post(base(), eventForm({ starts_at: '2026-10-25T02:30', ends_at: '2026-10-25T02:15' }));
    expect(before.status).toBe(400);
  });

  it('viewers read but cannot create or edit; check-in staff can read', async () => {
    const e = createEvent(s, org, { title: 'Readable Event' });
    const viewer = clients.viewer;
    const list = await viewer.get(base());
    expect(list.status).toBe(200);
    expect(list.text).toContain('Readable Event');
    expect(list.text).not.toContain('New event');
    expect((await viewer.get(`${base()}/${e.id}`)).status).toBe(200);
    const formPage = await viewer.get(`${base()}/${e.id}/form`);
    expect(formPage.status).toBe(200);
    expect(formPage.text).not.toContain('Add a field');
    const before = eventsOf(org);
    for (const [method, path] of [
      ['GET', `${base()}/new`],
      ['POST', base()],
      ['GET', `${base()}/${e.id}/edit`],
      ['POST', `${base()}/${e.id}/edit`],
      ['POST', `${base()}/${e.id}/status`],
      ['POST', `${base()}/${e.id}/form/fields`],
      ['GET', `${base()}/${e.id}/share-links`],
    ] as const) {
      const r = method === 'GET' ? await viewer.get(path) : await viewer.post(path, eventForm({ to: 'archive', label: 'x', type: 'short_text' }));
      expect(r.status, `${method} ${path}`).toBe(403);
    }
    expect(eventsOf(org)).toBe(before);
    expect(eventRow(e.id)?.status).toBe('published');
    expect((await clients.checkin.get(base())).text).toContain('Readable Event');
    expect((await clients.checkin.get(`${base()}/${e.id}`)).status).toBe(200);
    expect((await clients.checkin.get(`${base()}/${e.id}/edit`)).status).toBe(403);
  });

  it("answers 404 on every event route for another organization's event, and changes nothing there", async () => {
    const foreign = createEvent(s, other, { title: 'Foreign Event' });
    const field = s.ctx.events.addField(foreign, { type: 'short_text', label: 'Company', help: '', required: false, options: [], personal: true, sensitive: false, purpose: '', consent_text: '' }, sys);
    const link = await s.ctx.events.createShareLink(foreign, { label: 'partners', password: 'password-123', expiresAt: null }, sys);
    expect(field.ok).toBe(true);
    const before = { event: eventRow(foreign.id), fields: fields({ id: foreign.id }).length };
    // The routes these files declare, not a hand-written list.
    const table = new RouteTable(guard);
    const mine = [eventAdminRoutes(table), eventAccessRoutes(table), eventFormRoutes(table)].flatMap((a) => a.routes).filter((r) => r.method !== 'ALL' && r.path.includes(':eventId'));
    expect(mine.length).toBeGreaterThanOrEqual(14);
    for (const who of ['owner', 'organizer'] as const) {
      for (const r of mine) {
        const path = r.path
          .replace(':orgSlug', org.slug)
          .replace(':eventId', foreign.id)
          .replace(':fieldId', field.ok ? field.field.id : '')
          .replace(':linkId', link.link.id);
        const res = r.method === 'GET' ? await clients[who].get(path) : await clients[who].post(path, { ...eventForm({ slug: foreign.slug }), to: 'archive', confirm_slug: foreign.slug, passcode: 'abcdefgh', direction: 'up' });
        expect(res.status, `${who} ${r.method} ${r.path}`).toBe(404);
        expect(res.text).not.toContain('Foreign Event');
      }
    }
    expect(eventRow(foreign.id)).toEqual(before.event);
    expect(fields({ id: foreign.id })).toHaveLength(before.fields);
    expect(s.ctx.events.shareLinks(foreign)[0]?.revoked_at).toBeNull();
  });

  it('limits a scoped organizer to chosen events: others are not listed and answer 404', async () => {
    const mine = createEvent(s, org, { title: 'Scoped Mine' });
    const notMine = createEvent(s, org, { title: 'Scoped Not Mine' });
    const owner = clients.owner;
    const members = await owner.get(`/orgs/${org.slug}/members`);
    const row = new RegExp(`<tr data-member="${people.organizer.user.id}">[\\s\\S]*?</tr>`).exec(members.text)?.[0] ?? '';
    expect(row).toContain(`/members/${people.organizer.user.id}/scope`);
    expect(row).toContain('All events');
    expect(new RegExp(`<tr data-member="${people.viewer.user.id}">[\\s\\S]*?</tr>`).exec(members.text)?.[0]).not.toContain('/scope');

    const set = await owner.post(`/orgs/${org.slug}/members/${people.organizer.user.id}/scope`, { mode: 'some', events: [mine.id] });
    expect(set.status).toBe(303);
    expect(orgsRepo(s.ctx.db).membership(org.id, people.organizer.user.id)?.event_scope).toBe(JSON.stringify([mine.id]));
    expect(audit('member.scope_changed').some((r) => r.target_id === people.organizer.user.id)).toBe(true);
    expect((await owner.get(`/orgs/${org.slug}/members`)).text).toContain('Limited to 1 event');

    const org2 = clients.organizer;
    const list = await org2.get(base());
    expect(list.text).toContain('Scoped Mine');
    expect(list.text).not.toContain('Scoped Not Mine');
    expect(list.text).toContain('limited to chosen events');
    expect((await org2.get(`${base()}/${mine.id}`)).status).toBe(200);
    expect((await org2.get(`${base()}/${notMine.id}`)).status).toBe(404);
    expect((await org2.post(`${base()}/${notMine.id}/status`, { to: 'archive' })).status).toBe(404);
    expect(eventRow(notMine.id)?.status).toBe('published');
    expect((await org2.get(`${base()}/new`)).status).toBe(403);
    const denied = s.ctx.audit.recentForOrg(org.id, 2000).filter((r) => r.action === 'access.denied' && r.target_id === notMine.id);
    expect(denied.length).toBeGreaterThan(0);

    // Bad scope requests change nothing.
    expect((await owner.post(`/orgs/${org.slug}/members/${people.organizer.user.id}/scope`, { mode: 'some' })).status).toBe(400);
    const foreign = createEvent(s, other);
    expect((await owner.post(`/orgs/${org.slug}/members/${people.organizer.user.id}/scope`, { mode: 'some', events: [foreign.id] })).status).toBe(400);
    expect((await owner.post(`/orgs/${org.slug}/members/${people.viewer.user.id}/scope`, { mode: 'some', events: [mine.id] })).status).toBe(409);
    expect(orgsRepo(s.ctx.db).membership(org.id, people.viewer.user.id)?.event_scope).toBeNull();
    expect((await clients.organizer.post(`/orgs/${org.slug}/members/${people.organizer.user.id}/scope`, { mode: 'all' })).status).toBe(403);
    expect(orgsRepo(s.ctx.db).membership(org.id, people.organizer.user.id)?.event_scope).toBe(JSON.stringify([mine.id]));

    // Back to all events.
    expect((await owner.post(`/orgs/${org.slug}/members/${people.organizer.user.id}/scope`, { mode: 'all', events: [mine.id] })).status).toBe(303);
    expect(orgsRepo(s.ctx.db).membership(org.id, people.organizer.user.id)?.event_scope).toBeNull();
    expect((await org2.get(base())).text).toContain('Scoped Not Mine');
  });

  it('refuses to publish a passcode event without a passcode; sets, uses and removes the passcode', async () => {
    const c = clients.organizer;
    const { id } = await createViaHttp(c, { access_mode: 'passcode', slug: slug('pc') });
    const refused = await c.post(`${base()}/${id}/status`, { to: 'publish' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('Set a passcode before publishing');
    expect(eventRow(id)?.status).toBe('draft');

    const short = await c.post(`${base()}/${id}/passcode`, { passcode: 'abc12' });
    expect(short.status).toBe(400);
    expect(short.text).toContain('At least 6 characters.');
    // The passcode lives on the Access page: its errors come back there, next to the field.
    expect(short.text).toContain(`<h1>Access to ${eventRow(id)!.title}</h1>`);
    expect(short.text).toContain('id="f-passcode-error"');
    const past = await c.post(`${base()}/${id}/passcode`, { passcode: 'open-sesame', expires_at: '2020-01-01T10:00' });
    expect(past.status).toBe(400);
    expect(past.text).toContain('Choose a time in the future');
    expect(eventRow(id)?.passcode_hash).toBeNull();

    const setIt = await c.post(`${base()}/${id}/passcode`, { passcode: 'open-sesame', expires_at: '2099-01-01T10:00' });
    expect(setIt.status).toBe(303);
    expect(setIt.location).toBe(`${base()}/${id}/share-links?done=passcode-set#passcode`);
    expect((await c.get(setIt.location!)).text).toMatch(/data-testid="passcode-state">set, valid until [^<]*1 Jan 2099, 10:00/);
    expect(eventRow(id)?.passcode_hash).toMatch(/^\$argon2id\$/);
    expect(eventRow(id)?.passcode_expires_at).toBe('2099-01-01T09:00:00.000Z');
    expect((await c.post(`${base()}/${id}/status`, { to: 'publish' })).status).toBe(303);
    const e = eventRow(id)!;
    const anon = new Client(s.url, browser);
    expect((await anon.get(`/e/${e.slug}`)).status).toBe(401);
    expect((await anon.post(`/e/${e.slug}/passcode`, { passcode: 'open-sesame' })).status).toBe(303);
    expect((await anon.get(`/e/${e.slug}`)).status).toBe(200);

    expect((await c.post(`${base()}/${id}/passcode/remove`)).status).toBe(303);
    expect(eventRow(id)?.passcode_hash).toBeNull();
    expect(audit('event.passcode_removed').some((r) => r.target_id === id)).toBe(true);

    // A published public event cannot be switched to "passcode" before it has one.
    const pub = createEvent(s, org);
    const sw = await c.post(`${base()}/${pub.id}/edit`, eventForm({ slug: pub.slug, access_mode: 'passcode' }));
    expect(sw.status).toBe(409);
    expect(sw.text).toContain('Set a passcode under Access first');
    expect(eventRow(pub.id)?.access_mode).toBe('public');
  });

  it('creates a share link shown once, counts its use, and revokes it', async () => {
    const c = clients.organizer;
    const e = createEvent(s, org, { access_mode: 'passcode', publish: false });
    await s.ctx.events.setPasscode(org, e, 'unused-passcode', null, sys);
    s.ctx.events.setStatus(org, eventRow(e.id)!, 'published', sys);
    const url = `${base()}/${e.id}/share-links`;
    expect((await c.get(url)).text).toContain('No share links yet.');

    const bad = await c.post(url, { label: '', password: 'short' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('At least 8 characters.');
    expect(bad.text).toContain('id="f-label-error"');
    expect(s.ctx.events.shareLinks(e)).toHaveLength(0);

    const created = await c.post(url, { label: 'Partner school', password: 'partner-pass-1', expires_at: '' });
    expect(created.status).toBe(201);
    const link = /data-testid="new-share-link">\s*(https?:\/\/[^<\s]+\/s\/([A-Za-z0-9_-]{32}))\s*</.exec(created.text);
    expect(link).not.toBeNull();
    const token = link![2]!;
    expect(link![1]).toBe(`${s.ctx.baseUrl()}/s/${token}`);
    const stored = s.ctx.events.shareLinks(e);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.token_hash.toString('utf8')).not.toContain(token);
    // Shown once: the list page does not carry it.
    const again = await c.get(url);
    expect(again.text).not.toContain(token);
    expect(again.text).toContain('Partner school');

    const anon = new Client(s.url, browser);
    expect((await anon.follow(`/s/${token}`)).status).toBe(200);
    expect((await anon.post('/share', { passcode: 'partner-pass-1' })).status).toBe(303);
    expect((await anon.get(`/e/${e.slug}`)).status).toBe(200);
    const row = new RegExp(`<tr data-link="${stored[0]!.id}">[\\s\\S]*?</tr>`).exec((await c.get(url)).text)?.[0] ?? '';
    expect(row).toMatch(/<td>1<\/td>\s*<td>active<\/td>/);

    expect((await c.post(`${url}/${stored[0]!.id}/revoke`)).status).toBe(303);
    expect((await anon.get(`/s/${token}`)).status).toBe(404);
    expect((await c.get(url)).text).toMatch(/<td>revoked<\/td>/);
    expect((await c.post(`${url}/${stored[0]!.id}/revoke`)).status).toBe(404);
    expect(audit('event.share_link_revoked').some((r) => r.target_id === stored[0]!.id && r.result === 'success')).toBe(true);
  });

  it('builds the registration form: add, edit, move, remove, with htmx and without', async () => {
    const c = clients.organizer;
    const { id } = await createViaHttp(c);
    const url = `${base()}/${id}/form/fields`;
    const keys = () => fields({ id }).map((f) => f.key);

    const one = await c.post(url, { type: 'single_select', label: 'Meal', options: 'Vegetarian', personal: 'on', purpose: 'Catering' });
    expect(one.status).toBe(400);
    expect(one.text).toContain('at least two options');
    expect(one.text).toContain('value="Meal"');
    for (const [form, message] of [
      [{ type: 'spreadsheet', label: 'X' }, 'Choose a field type from the list.'],
      [{ type: 'short_text', label: '' }, 'Required.'],
      [{ type: 'consent', label: 'Photos', consent_text: '' }, 'Write what the attendee consents to.'],
      [{ type: 'multi_select', label: 'Days', options: 'Mon\nMon' }, 'Each option may appear only once.'],
      [{ type: 'short_text', label: 'Email' }, 'not &quot;email&quot; or &quot;name&quot;'],
    ] as const) {
      const r = await c.post(url, form);
      expect(r.status, form.label).toBeGreaterThanOrEqual(400);
      expect(r.text, form.label).toContain(message);
    }
    expect(keys()).toEqual(['email', 'name']);

    expect((await c.post(url, { type: 'single_select', label: 'Meal', options: 'Vegetarian\r\nVegan\r\n\r\nAnything', personal: 'on', purpose: 'Catering' })).status).toBe(303);
    expect((await c.post(url, { type: 'long_text', label: 'Allergies', sensitive: 'on', purpose: 'Catering safety' })).status).toBe(303);
    expect((await c.post(url, { type: 'consent', label: 'Photos', consent_text: 'I agree to be photographed.', required: 'on' })).status).toBe(303);
    expect(keys()).toEqual(['email', 'name', 'meal', 'allergies', 'photos']);
    const meal = fields({ id }).find((f) => f.key === 'meal')!;
    expect(JSON.parse(meal.options)).toEqual(['Vegetarian', 'Vegan', 'Anything']);
    const allergies = fields({ id }).find((f) => f.key === 'allergies')!;
    expect(allergies).toMatchObject({ sensitive: 1, personal: 1, required: 0, purpose: 'Catering safety' });

    // Edit: a choice field keeps needing two options.
    expect((await c.get(`${url}/${meal.id}`)).text).toContain('Vegetarian\nVegan\nAnything');
    expect((await c.post(`${url}/${meal.id}`, { label: 'Meal', options: 'Vegan', personal: 'on' })).status).toBe(400);
    expect((await c.post(`${url}/${meal.id}`, { label: 'Lunch choice', options: 'Vegan\nFish', required: 'on', personal: 'on', purpose: 'Catering' })).status).toBe(303);
    expect(fields({ id }).find((f) => f.key === 'meal')).toMatchObject({ label: 'Lunch choice', required: 1, options: '["Vegan","Fish"]' });

    // Move without JavaScript: a redirect back to the page.
    const moved = await c.post(`${url}/${allergies.id}/move`, { direction: 'up' });
    expect(moved.status).toBe(303);
    expect(moved.location).toBe(`${base()}/${id}/form?done=moved`);
    expect(keys()).toEqual(['email', 'name', 'allergies', 'meal', 'photos']);
    // With htmx: just the list, updated.
    const frag = await c.post(`${url}/${allergies.id}/move`, { direction: 'up' }, htmx);
    expect(frag.status).toBe(200);
    expect(frag.text.startsWith('<section id="field-list"')).toBe(true);
    expect(frag.text).not.toContain('<html');
    expect(keys()).toEqual(['email', 'allergies', 'name', 'meal', 'photos']);
    expect(frag.text.indexOf('data-field="allergies"')).toBeLessThan(frag.text.indexOf('data-field="name"'));
    expect((await c.post(`${url}/${allergies.id}/move`, { direction: 'sideways' })).status).toBe(400);

    // The email field stays; name can go.
    const email = fields({ id }).find((f) => f.builtin === 'email')!;
    const name = fields({ id }).find((f) => f.builtin === 'name')!;
    const refused = await c.post(`${url}/${email.id}/remove`);
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('The email address is always collected');
    const refusedHx = await c.post(`${url}/${email.id}/remove`, {}, htmx);
    expect(refusedHx.status).toBe(409);
    expect(refusedHx.text.startsWith('<section id="field-list"')).toBe(true);
    expect(refusedHx.text).toContain('The email address is always collected');
    expect((await c.post(`${url}/${name.id}/remove`)).status).toBe(303);
    const removedHx = await c.post(`${url}/${allergies.id}/remove`, {}, htmx);
    expect(removedHx.status).toBe(200);
    expect(removedHx.text).not.toContain('data-field="allergies"');
    expect(keys()).toEqual(['email', 'meal', 'photos']);
    expect((await c.post(`${url}/00000000-0000-4000-8000-000000000000/remove`)).status).toBe(404);

    // The builder page previews the public form, disabled.
    const page = await c.get(`${base()}/${id}/form`);
    expect(page.text).toContain('<fieldset disabled="" class="form-preview">');
    expect(page.text).toContain('I agree to be photographed.');
    expect(page.text).toContain('<option value="Fish">Fish</option>');
    for (const a of ['event.field_added', 'event.field_updated', 'event.field_moved', 'event.field_removed']) expect(audit(a).length, a).toBeGreaterThan(0);
  });

  it('deletes an event with its registrations only after re-authentication and typing its address', async () => {
    const e = createEvent(s, org, { title: 'Doomed Event' });
    for (const who of ['del-a', 'del-b']) expect((await s.ctx.registrations.register(e, { email: testEmail(who), name: 'N' }, sys)).ok).toBe(true);
    const regs = () => (s.ctx.db.prepare('SELECT count(*) AS n FROM registrations WHERE event_id = ?').get(e.id) as { n: number }).n;
    expect(regs()).toBe(2);

    // A session without a recent password confirmation is sent to confirm first.
    const stale = await signedInClient(s, people.organizer.user, { reauth: false });
    const first = await stale.post(`${base()}/${e.id}/delete`, { confirm_slug: e.slug });
    expect(first.status).toBe(303);
    expect(first.location).toMatch(/^\/account\/reauth\?next=/);
    expect(decodeURIComponent(first.location!)).toContain(`${base()}/${e.id}/edit#delete`);
    expect(eventRow(e.id)).toBeDefined();
    await stale.get(first.location!);
    const confirmed = await stale.request('POST', first.location!, { form: { password: people.organizer.password } });
    expect(confirmed.status).toBe(303);
    // Re-authentication rotated the session (and its CSRF token): follow the redirect as a browser does.
    await stale.get(confirmed.location!);

    const wrong = await stale.post(`${base()}/${e.id}/delete`, { confirm_slug: 'not-the-slug' });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain(`Type ${e.slug} exactly to confirm.`);
    // The refusal shows the Settings page again, with the message in its danger zone.
    expect(wrong.text).toMatch(/<section id="delete" class="danger-zone"[\s\S]*id="f-confirm_slug-error"/);
    expect(eventRow(e.id)).toBeDefined();

    const done = await stale.post(`${base()}/${e.id}/delete`, { confirm_slug: e.slug });
    expect(done.status).toBe(303);
    expect(done.location).toBe(`${base()}?done=deleted`);
    expect(eventRow(e.id)).toBeUndefined();
    expect(regs()).toBe(0);
    expect(s.ctx.db.prepare('SELECT count(*) AS n FROM form_fields WHERE event_id = ?').get(e.id)).toEqual({ n: 0 });
    expect(audit('event.deleted').some((r) => r.target_id === e.id)).toBe(true);
    expect((await stale.get(`${base()}/${e.id}`)).status).toBe(404);
    expect((await stale.get(done.location!)).text).toContain('Event deleted, with all its registrations.');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zonedToUtc } from '../src/events/zoned-time.ts';
import type { EventRow } from '../src/events/repo.ts';
import type { OrgRole } from '../src/orgs/permissions.ts';
import { type OrgRow, orgsRepo } from '../src/orgs/repo.ts';
import type { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { Clock, type TestUser, addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const sys = { actor: { type: 'system' as const } };
const TZ = 'America/New_York';
/** "Now" for the whole file: 7 Dec 2026, 15:00 in New York (20:00 UTC). */
const NOW = Date.parse(zonedToUtc('2026-12-07T15:00', TZ));
const DAY = 86_400_000;

/** Every bar of the overview's chart: its day and the number it draws. */
const chartBars = (html: string) => Object.fromEntries([...html.matchAll(/<g data-key="(\d{4}-\d{2}-\d{2})" data-value="(\d+)">/g)].map((m) => [m[1]!, Number(m[2])]));
const between = (html: string, start: string, end: string) => html.slice(html.indexOf(start), html.indexOf(end, html.indexOf(start)));

describe('organization dashboard and event overview', () => {
  let s: TestServer;
  const clock = new Clock();
  let org: OrgRow;
  let other: OrgRow;
  let otherOwner: TestUser;
  const people = {} as Record<OrgRole, TestUser>;
  const clients = {} as Record<OrgRole, Client>;

  beforeAll(async () => {
    clock.t = NOW;
    s = await startTestServer({}, { now: clock.now });
    for (const role of ['owner', 'admin', 'organizer', 'checkin', 'viewer'] as const) people[role] = await createUser(s, { email: testEmail(`dash-${role}`) });
    org = createOrg(s, people.owner.user, uniqueSlug('dash'), 'Harbour Events');
    for (const role of ['admin', 'organizer', 'checkin', 'viewer'] as const) addMember(s, org, people[role].user, role);
    for (const role of Object.keys(people) as OrgRole[]) clients[role] = await signedInClient(s, people[role].user);
    otherOwner = await createUser(s, { email: testEmail('dash-other', 'b') });
    other = createOrg(s, otherOwner.user, uniqueSlug('dashother'));
  });
  afterAll(() => s?.close());

  /** Registers at a given instant (the server's clock moved there and back). */
  async function registerAt(e: EventRow, at: number, who: string, name = 'Ada Quayside') {
    clock.t = at;
    try {
      const r = await s.ctx.registrations.register(s.ctx.events.eventById(e.org_id, e.id)!, { email: testEmail(who), name }, sys);
      if (!r.ok) throw new Error(r.message);
      return r.reg;
    } finally {
      clock.t = NOW;
    }
  }
  function eventCreatedAt(at: number, o: OrgRow, over: Parameters<typeof createEvent>[2] = {}): EventRow {
    clock.t = at;
    try {
      return createEvent(s, o, { timezone: TZ, ...over });
    } finally {
      clock.t = NOW;
    }
  }
  const local = (wall: string) => Date.parse(zonedToUtc(wall, TZ));

  it("draws registrations per day in the event's time zone, and the numbers match the database", async () => {
    const e = eventCreatedAt(NOW - 5 * DAY, org, { title: 'Quayside Summit', capacity: 4, waitlist_enabled: true });
    // Either side of New York's midnight (05:00 UTC): the UTC date would put both on the same day.
    const first = await registerAt(e, local('2026-12-03T23:59'), 'c-1');
    await registerAt(e, local('2026-12-04T00:01'), 'c-2');
    await registerAt(e, local('2026-12-04T12:00'), 'c-3');
    await registerAt(e, local('2026-12-06T09:00'), 'c-4');
    await registerAt(e, local('2026-12-07T08:00'), 'w-1');
    await registerAt(e, local('2026-12-07T14:59'), 'w-2');
    expect(s.ctx.attendees.checkIn(e, first.id, false, sys).ok).toBe(true);

    const page = await clients.organizer.get(`/orgs/${org.slug}/events/${e.id}`);
    expect(page.status).toBe(200);
    const bars = chartBars(page.text);

    // The database, grouped here independently: each registration's local calendar date in New York.
    const dateIn = new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' });
    const rows = s.ctx.db.prepare('SELECT created_at FROM registrations WHERE event_id = ?').all(e.id) as { created_at: string }[];
    const fromDb: Record<string, number> = {};
    for (const r of rows) fromDb[dateIn.format(new Date(r.created_at))] = (fromDb[dateIn.format(new Date(r.created_at))] ?? 0) + 1;
    expect(Object.keys(bars)).toEqual(['2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06', '2026-12-07']);
    for (const [day, n] of Object.entries(bars)) expect(n, day).toBe(fromDb[day] ?? 0);
    expect(Object.values(bars).reduce((a, b) => a + b, 0)).toBe(rows.length);
    expect(bars).toMatchObject({ '2026-12-03': 1, '2026-12-04': 2, '2026-12-05': 0, '2026-12-07': 2 });
    // The same numbers in the table under the chart, and in words.
    const table = [...between(page.text, '<details class="chart-numbers">', '</details>').matchAll(/<tr data-key="([\d-]+)"><th scope="row">[^<]+<\/th><td data-value="(\d+)">/g)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(table)).toEqual(bars);
    expect(page.text).toContain('<desc id="per-day-desc">6 registrations from Wed 2 Dec 2026 to Mon 7 Dec 2026; the most, 2, on Fri 4 Dec 2026.</desc>');

    // The big figures first, then the check-in progress: 4 confirmed of 4, 2 waiting, 1 checked in.
    expect(page.text).toMatch(/data-testid="count-confirmed">4<span class="figure-of"> of 4<\/span>/);
    expect(page.text).toMatch(/data-testid="count-waitlisted">2</);
    expect(page.text).toMatch(/data-testid="count-checked-in">1<span class="figure-of"> of 4<\/span>/);
    expect(page.text).toContain('data-chart="progress" data-value="1" data-max="4"');
    expect(page.text.indexOf('count-confirmed')).toBeLessThan(page.text.indexOf('data-chart="bars"'));
    // No personal data on the overview.
    expect(page.text).not.toContain('Ada Quayside');
    expect(page.text).not.toContain(testEmail('c-1'));
  });

  it('shows the public link with a copy button that needs script, a QR code of that link, and the actions for the state', async () => {
    const e = createEvent(s, org, { title: 'Draft Fair', publish: false });
    const url = `/orgs/${org.slug}/events/${e.id}`;
    const draft = await clients.organizer.get(url);
    const publicUrl = `${s.ctx.baseUrl()}/e/${e.slug}`;
    expect(draft.text).toContain(`<a href="/e/${e.slug}" id="public-url" data-testid="public-url">${publicUrl}</a>`);
    // Hidden until app.js shows it: without script the link is there to select and copy.
    expect(draft.text).toMatch(/<button type="button" class="secondary outline" data-copy="public-url" hidden="">/);
    expect(draft.text).toContain(`<div class="qr" role="img" aria-label="QR code that opens ${publicUrl}"><svg`);
    // A draft leads with Publish (the primary button); archive is secondary. No access or delete forms here.
    const actions = between(draft.text, '<div class="event-actions">', '</section>');
    expect(actions).toMatch(/<input type="hidden" name="to" value="publish"\/><button type="submit">Publish<\/button>/);
    expect(actions).toMatch(/<button type="submit" class="secondary">Archive<\/button>/);
    expect(actions).not.toContain('Close registration');
    expect(draft.text).not.toContain('name="passcode"');
    expect(draft.text).not.toContain('name="confirm_slug"');
    expect(draft.text).toContain(`href="${url}/share-links"`);

    expect((await clients.organizer.post(`${url}/status`, { to: 'publish' })).status).toBe(303);
    const published = between((await clients.organizer.get(url)).text, '<div class="event-actions">', '</section>');
    expect(published).toMatch(/class="secondary">Close registration</);
    expect(published).not.toContain('>Publish<');
    // Viewers and check-in staff see the numbers and the link, not the actions.
    for (const who of ['viewer', 'checkin'] as const) {
      const r = await clients[who].get(url);
      expect(r.status, who).toBe(200);
      expect(r.text, who).toContain('data-testid="count-confirmed"');
      expect(r.text, who).not.toContain('event-actions');
      expect(r.text, who).not.toContain('Manage access');
    }
  });

  it('the dashboard lists coming events with seats and a sparkline, what needs attention, and the newest registrations without names', async () => {
    const full = eventCreatedAt(NOW - 20 * DAY, org, { title: 'Full House Gala', capacity: 1, waitlist_enabled: true });
    await registerAt(full, NOW - 3 * DAY, 'fh-1', 'Grace Hopperton');
    await registerAt(full, NOW - 1 * DAY, 'fh-2', 'Linus Waitlister');
    const closing = createEvent(s, org, { title: 'Closing Soon Expo', registration_closes_at: new Date(NOW + 2 * DAY).toISOString() });
    const opening = createEvent(s, org, { title: 'Opening Soon Forum', registration_opens_at: new Date(NOW + 3 * DAY).toISOString() });
    // Outside the 7-day window, or already past: not "soon".
    createEvent(s, org, { title: 'Later Expo', registration_opens_at: new Date(NOW - DAY).toISOString(), registration_closes_at: new Date(NOW + 8 * DAY).toISOString() });
    const draftSoon = createEvent(s, org, { title: 'Forgotten Draft', publish: false, starts_at: new Date(NOW + 2 * DAY).toISOString(), ends_at: new Date(NOW + 2 * DAY + 3600_000).toISOString() });
    const running = createEvent(s, org, { title: 'Running Marathon', starts_at: new Date(NOW - 3600_000).toISOString(), ends_at: new Date(NOW + 3600_000).toISOString() });
    const past = createEvent(s, org, { title: 'Long Gone Meetup', starts_at: new Date(NOW - 10 * DAY).toISOString(), ends_at: new Date(NOW - 9 * DAY).toISOString() });
    const archived = createEvent(s, org, { title: 'Archived Soiree' });
    s.ctx.events.setStatus(org, archived, 'archived', sys);
    const foreign = createEvent(s, other, { title: 'Foreign Carnival' });
    await registerAt(foreign, NOW - 3600_000, 'foreign-1', 'Foreign Person');
    const invited = s.ctx.orgs.invite(org, people.owner.user, 'owner', { email: testEmail('dash-invitee'), role: 'viewer' }, sys);
    expect(invited.ok).toBe(true);

    const dash = await clients.owner.get(`/orgs/${org.slug}`);
    expect(dash.status).toBe(200);
    const t = dash.text;
    const coming = between(t, 'id="dash-events-heading"', '</section>');
    for (const ev of [full, closing, opening, draftSoon, running]) expect(coming, ev.title).toContain(`data-event="${ev.id}"`);
    for (const ev of [past, archived, foreign]) expect(coming, ev.title).not.toContain(ev.title);
    // Running first (it started already), with its end; others by start.
    expect(coming.indexOf('Running Marathon')).toBeLessThan(coming.indexOf('Forgotten Draft'));
    expect(coming).toContain('Running now, until');
    const fullRow = between(coming, `data-event="${full.id}"`, '<tr data-event=');
    expect(fullRow).toContain('Full House Gala');
    expect(fullRow).not.toContain('Closing Soon Expo');
    expect(fullRow).toMatch(/data-testid="dash-seats">1 \/ 1<br\/><small>1 waiting<\/small>/);
    // The sparkline draws the stats service's last 14 days, which match the database.
    const trend = s.ctx.stats.perDay(s.ctx.events.get(org, full.id)!, 14);
    expect(trend).toHaveLength(14);
    expect(trend.reduce((a, d) => a + d.count, 0)).toBe(2);
    expect(fullRow).toContain(`data-values="${trend.map((d) => d.count).join(',')}"`);

    const attention = between(t, 'data-testid="attention"', '</section>');
    expect(attention).toMatch(/data-kind="full-with-waitlist">[\s\S]*Full House Gala<\/a> is full, with 1 person on the waiting list/);
    expect(attention).toMatch(/data-kind="registration-closes">Registration for <a [^>]+>Closing Soon Expo<\/a> closes/);
    expect(attention).toMatch(/data-kind="registration-opens">Registration for <a [^>]+>Opening Soon Forum<\/a> opens/);
    expect(attention).toMatch(/data-kind="draft-starts-soon">[\s\S]*Forgotten Draft/);
    expect(attention).toMatch(/data-kind="invitations">[\s\S]*1 invitation not accepted yet/);
    expect(attention).not.toContain('Later Expo');

    // Newest registrations: which event and state, linked to the (audited) record; never a name or address.
    const recent = between(t, 'data-testid="recent"', '</section>');
    const newest = s.ctx.db.prepare('SELECT id, event_id FROM registrations WHERE org_id = ? ORDER BY created_at DESC LIMIT 1').get(org.id) as { id: string; event_id: string };
    expect(recent.indexOf(`data-registration="${newest.id}"`)).toBeGreaterThan(-1);
    expect(recent).toContain(`href="/orgs/${org.slug}/events/${newest.event_id}/attendees/${newest.id}"`);
    expect(recent).toMatch(/for Full House Gala, on the waiting list, <time datetime="[^"]+">1 day ago<\/time>/);
    for (const secret of ['Grace Hopperton', 'Linus Waitlister', testEmail('fh-1'), 'Foreign Person', 'Foreign Carnival']) expect(t).not.toContain(secret);
    // Showing the dashboard reads no personal data, so it leaves no attendee audit row.
    expect(s.ctx.audit.recentForOrg(org.id, 500).filter((r) => r.action.startsWith('attendee.'))).toEqual([]);

    // Check-in staff: the same events, no invitations, no links into attendee records.
    const desk = (await clients.checkin.get(`/orgs/${org.slug}`)).text;
    expect(desk).toContain('Full House Gala');
    expect(desk).not.toContain('data-kind="invitations"');
    expect(between(desk, 'data-testid="recent"', '</section>')).not.toContain('/attendees/');
  });

  it('limits a scoped member to their events, and shows nothing of another organization', async () => {
    const mine = createEvent(s, org, { title: 'Scoped Regatta' });
    const notMine = createEvent(s, org, { title: 'Hidden Ball', capacity: 1, waitlist_enabled: true });
    await registerAt(notMine, NOW - 60_000, 'hb-1');
    await registerAt(notMine, NOW - 30_000, 'hb-2');
    const scoped = await createUser(s, { email: testEmail('dash-scoped') });
    orgsRepo(s.ctx.db).insertMembership({ org_id: org.id, user_id: scoped.user.id, role: 'organizer', event_scope: JSON.stringify([mine.id]), created_at: new Date(NOW).toISOString() });
    const c = await signedInClient(s, scoped.user);
    const t = (await c.get(`/orgs/${org.slug}`)).text;
    expect(t).toContain('Scoped Regatta');
    expect(t).not.toContain('Hidden Ball');
    expect(t).not.toContain(`data-event="${notMine.id}"`);
    expect(between(t, 'data-testid="recent"', '</section>')).not.toContain(notMine.id);

    // Org B's owner opening org A's dashboard is refused; org B's own dashboard has none of A's events.
    const ownerB = await signedInClient(s, otherOwner.user);
    expect((await ownerB.get(`/orgs/${org.slug}`)).status).toBe(404);
    const bDash = (await ownerB.get(`/orgs/${other.slug}`)).text;
    expect(bDash).not.toContain('Scoped Regatta');
    expect(bDash).toContain('Foreign Carnival');
  });

  it('walks a new organization to its first event', async () => {
    const owner = await createUser(s, { email: testEmail('dash-new-owner') });
    const fresh = createOrg(s, owner.user, uniqueSlug('dashnew'), 'Brand New Club');
    const viewer = await createUser(s, { email: testEmail('dash-new-viewer') });
    addMember(s, fresh, viewer.user, 'viewer');
    const page = (await (await signedInClient(s, owner.user)).get(`/orgs/${fresh.slug}`)).text;
    expect(page).toContain('data-testid="first-steps"');
    expect(page).toContain(`<a role="button" href="/orgs/${fresh.slug}/events/new">Create your first event</a>`);
    expect(page).toContain(`href="/orgs/${fresh.slug}/members">Invite your team</a>`);
    expect(page).not.toContain('Needs attention');
    const seen = (await (await signedInClient(s, viewer.user)).get(`/orgs/${fresh.slug}`)).text;
    expect(seen).toContain('This organization has no events yet.');
    expect(seen).not.toContain('Create your first event');
    // The first event ends the walk-through.
    createEvent(s, fresh, { title: 'First Light' });
    const after = (await (await signedInClient(s, owner.user)).get(`/orgs/${fresh.slug}`)).text;
    expect(after).not.toContain('data-testid="first-steps"');
    expect(after).toContain('First Light');
  });
});

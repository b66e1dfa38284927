import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../src/events/repo.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { Clock, type TestUser, addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';
import { waitFor } from './support/wait.ts';

const sys = { actor: { type: 'system' as const } };
const browserHeaders = { 'sec-fetch-site': 'same-origin' };

/**
 * The attendee's data page and the requests it creates (issue 21): the emailed single-use link,
 * the page and its downloads, who has seen the data, correction, erasure through the eraser port
 * with its receipt, the admins' notifications, and the organizer's requests page.
 */
describe('attendee self-service and data requests', () => {
  let s: TestServer;
  let sink: SmtpSink;
  let org: OrgRow;
  let owner: TestUser;
  let organizer: TestUser;
  let e1: EventRow;
  let e2: EventRow;
  const clock = new Clock();

  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url }, { now: clock.now });
    owner = await createUser(s, { email: testEmail('ss-owner'), name: 'Olga Owner', totp: true });
    org = createOrg(s, owner.user, uniqueSlug('ss'));
    organizer = await createUser(s, { email: testEmail('ss-organizer'), name: 'Otto Organizer', totp: true });
    addMember(s, org, organizer.user, 'organizer');
    e1 = createEvent(s, org, { title: 'Spring Forum' });
    e2 = createEvent(s, org, { title: 'Autumn Forum' });
    const diet = s.ctx.events.addField(e1, { type: 'short_text', label: 'Diet', help: '', required: false, options: [], personal: true, sensitive: true, purpose: 'Catering', consent_text: '' }, sys);
    if (!diet.ok) throw new Error(diet.message);
    e1 = s.ctx.events.eventById(org.id, e1.id)!;
  });
  afterAll(async () => {
    await s?.close();
    await sink?.close();
  });

  const anon = () => new Client(s.url, browserHeaders);
  const register = async (e: EventRow, email: string, name: string, extra: Record<string, string> = {}) => {
    const r = await s.ctx.registrations.register(s.ctx.events.eventById(org.id, e.id)!, { email, name, ...extra }, sys);
    if (!r.ok) throw new Error(r.message);
    return r.reg;
  };
  const withoutCsrf = (html: string) => html.replace(/name="_csrf" value="[^"]*"/g, '').replace(/<meta name="csrf-token" content="[^"]*"/g, '');
  /** Every text cell of every table, searched for a value (the erasure proof). */
  const tablesHolding = (needle: string, skip: string[] = []) => {
    const tables = (s.ctx.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((t) => t.name).filter((t) => !skip.includes(t));
    const found: string[] = [];
    for (const t of tables) {
      const cols = (s.ctx.db.prepare(`SELECT name FROM pragma_table_info(?)`).all(t) as { name: string }[]).map((c) => c.name);
      for (const c of cols) if (s.ctx.db.prepare(`SELECT 1 FROM "${t}" WHERE CAST("${c}" AS TEXT) LIKE ? LIMIT 1`).get(`%${needle}%`)) found.push(`${t}.${c}`);
    }
    return found;
  };
  const linkFrom = (text: string) => /\/privacy\/open\?token=[A-Za-z0-9_-]{43}/.exec(text)?.[0] ?? '';

  async function openDataPage(email: string): Promise<Client> {
    const before = sink.messages.length;
    const c = anon();
    await c.get(`/o/${org.slug}/privacy`);
    expect((await c.post(`/o/${org.slug}/privacy`, { email })).status).toBe(200);
    const mail = await sink.waitFor((m) => sink.messages.indexOf(m) >= before && m.to.includes(email) && m.subject.startsWith('Your data at'));
    const link = linkFrom(mail.text);
    expect(link).not.toBe('');
    const exchanged = await c.get(link);
    expect(exchanged.location).toBe('/privacy/open');
    const page = await c.follow('/privacy/open');
    expect(page.text).toContain('Show my data');
    const opened = await c.post('/privacy/open');
    expect(opened.location).toBe('/privacy/me');
    return c;
  }

  it('emails a single-use link, the same answer for unknown addresses, throttled per address', async () => {
    const known = testEmail('ss-known');
    await register(e2, known, 'K');
    const a = anon();
    await a.get(`/o/${org.slug}/privacy`);
    const r1 = await a.post(`/o/${org.slug}/privacy`, { email: known });
    const r2 = await a.post(`/o/${org.slug}/privacy`, { email: testEmail('ss-nobody') });
    expect(r1.status).toBe(200);
    expect(r2.status).toBe(200);
    expect(withoutCsrf(r1.text)).toBe(withoutCsrf(r2.text));
    expect(r1.text).toContain('If ');
    const mail = await sink.waitFor((m) => m.to.includes(known) && m.subject.startsWith('Your data at'));
    expect(mail.text).toContain('expires in 60 minutes');
    // Nothing at all is queued for an address the organization does not know.
    expect(s.ctx.db.prepare('SELECT count(*) AS n FROM mail_outbox WHERE to_address = ?').get(testEmail('ss-nobody'))).toEqual({ n: 0 });

    // Single use: a second browser with the same link gets nothing.
    const link = linkFrom(mail.text);
    const first = anon();
    await first.get(link);
    await first.follow('/privacy/open');
    expect((await first.post('/privacy/open')).location).toBe('/privacy/me');
    const second = anon();
    await second.get(link);
    const used = await second.follow('/privacy/open');
    expect(used.text).toContain('already used or has expired');
    expect((await second.post('/privacy/open')).status).toBe(404);
    expect((await second.get('/privacy/me')).status).toBe(404);
    // Expired: an hour later an unused link does not open.
    await a.post(`/o/${org.slug}/privacy`, { email: known });
    const late = await sink.waitFor((m) => m.to.includes(known) && m.subject.startsWith('Your data at') && linkFrom(m.text) !== link);
    clock.advance(61 * 60_000);
    const lateClient = anon();
    await lateClient.get(linkFrom(late.text));
    expect((await lateClient.post('/privacy/open')).status).toBe(404);
    clock.t -= 61 * 60_000; // the audit log keeps real time: the next tests compare against it

    // Per address: a few links an hour, then 429 with Retry-After, for known and unknown alike.
    const t = anon();
    await t.get(`/o/${org.slug}/privacy`);
    const target = testEmail('ss-flood');
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await t.post(`/o/${org.slug}/privacy`, { email: target })).status);
    expect(codes).toEqual([200, 200, 200, 429]);
    const refused = await t.post(`/o/${org.slug}/privacy`, { email: target });
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await t.post(`/o/${org.slug}/privacy`, { email: testEmail('ss-other') })).status).toBe(200);
  });

  it('shows everything held about the address, who of the staff read it (roles, names only if chosen), and downloads exactly that', async () => {
    const email = testEmail('ss-person');
    const name = `Petra ${PERSON_SURNAME}`;
    const reg1 = await register(e1, email, name, { diet: 'no nuts' });
    await register(e2, email, name);
    const other = await register(e1, testEmail('ss-neighbour'), 'Nina Neighbour', { diet: 'vegan' });

    // The organizer opens the record and reveals the sensitive answer; the owner exports the event.
    const staff = await signedInClient(s, organizer.user);
    await staff.get(`/orgs/${org.slug}/events/${e1.id}/attendees/${reg1.id}`);
    expect((await staff.post(`/orgs/${org.slug}/events/${e1.id}/attendees/${reg1.id}/reveal`, { reason: 'event-logistics' })).status).toBe(200);
    const own = await signedInClient(s, owner.user, { reauth: true });
    expect((await own.get(`/orgs/${org.slug}/events/${e1.id}/attendees/export.csv`)).status).toBe(200);
    // A read of someone else's record is not this person's business.
    await staff.get(`/orgs/${org.slug}/events/${e1.id}/attendees/${other.id}`);

    const c = await openDataPage(email);
    const page = await c.get('/privacy/me');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Spring Forum');
    expect(page.text).toContain('Autumn Forum');
    expect(page.text).toContain('no nuts');
    expect(page.text).not.toContain('Nina Neighbour');
    const reads = /<table data-testid="reads">[\s\S]*?<\/table>/.exec(page.text)?.[0] ?? '';
    expect(reads).toContain('organizer');
    expect(reads).toContain('opened your registration');
    expect(reads).toContain('revealed your sensitive answers');
    expect(reads).toContain('exported the attendee list');
    expect(reads).toContain('owner');
    expect(reads).not.toContain('Otto Organizer');
    // The plain view and the reveal (which shows the record again); the neighbour's view is not listed.
    expect((reads.match(/opened your registration/g) ?? []).length).toBe(2);

    // The organization may choose to name staff.
    expect((await own.post(`/orgs/${org.slug}/privacy/settings`, { show_staff_names: 'on' })).status).toBe(303);
    expect((await c.get('/privacy/me')).text).toContain('Otto Organizer, organizer');

    // The downloads hold exactly this person's registrations and answers.
    const json = JSON.parse((await c.get('/privacy/me/export.json')).text) as { email: string; registrations: { event: string; answers: { label: string; value: string }[] }[]; readsByStaff: unknown[] };
    expect(json.email).toBe(email);
    expect(json.registrations.map((r) => r.event).sort()).toEqual(['Autumn Forum', 'Spring Forum']);
    expect(json.registrations.flatMap((r) => r.answers.map((a) => a.value))).toEqual(expect.arrayContaining([email, name, 'no nuts']));
    expect(JSON.stringify(json)).not.toContain('Neighbour');
    expect(json.readsByStaff.length).toBeGreaterThanOrEqual(3);
    const csv = await c.get('/privacy/me/export.csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text.split('\n')[0]).toBe('event,status,registered,question,answer');
    expect(csv.text).toContain('no nuts');
    expect(csv.text).not.toContain('vegan');

    // The opening was an access request: recorded, completed, and the owner was told with a link.
    const notice = await sink.waitFor((m) => m.to.includes(owner.user.email) && m.subject.startsWith('Data request (access'));
    const reqId = /\/privacy\/requests\/([0-9a-f-]{36})/.exec(notice.text)?.[1];
    expect(reqId).toBeDefined();
    expect(notice.text).not.toContain(email);
    expect((await own.get(`/orgs/${org.slug}/privacy/requests/${reqId}`)).text).toContain('completed');
  });

  it('takes a correction request, erases on request with a receipt, and leaves no trace of the person while counts remain', async () => {
    const email = testEmail('ss-eraseme');
    const name = `Erika ${PERSON_SURNAME}`;
    await register(e1, email, name, { diet: 'halal' });
    await register(e2, email, name);
    const c = await openDataPage(email);

    expect((await c.post('/privacy/me/correction', { text: 'My name is spelled Erica.' })).location).toBe('/privacy/me?done=corrected');
    await sink.waitFor((m) => m.to.includes(owner.user.email) && m.subject.startsWith('Data request (correction'));

    // Not without the confirmation box.
    expect((await c.post('/privacy/me/erase', {})).status).toBe(400);
    const count = () => (s.ctx.db.prepare('SELECT count(*) AS n FROM registrations WHERE org_id = ?').get(org.id) as { n: number }).n;
    const before = count();
    const erased = await c.post('/privacy/me/erase', { confirm: 'yes' });
    expect(erased.status).toBe(200);
    expect(erased.text).toContain('Your data was erased');
    expect(count()).toBe(before);

    const receipt = await sink.waitFor((m) => m.to.includes(email) && m.subject.includes('was erased'));
    expect(receipt.text).toContain('2 registration(s)');
    // The session is gone with the data.
    expect((await c.get('/privacy/me')).status).toBe(404);

    // No table holds the address or the name any more. The outbox is the erasure capability's to
    // clear (the receipt itself is addressed there until it is sent), so it is left out here.
    expect(tablesHolding(email, ['mail_outbox'])).toEqual([]);
    expect(tablesHolding(name, ['mail_outbox'])).toEqual([]);
    expect(tablesHolding('halal', ['mail_outbox'])).toEqual([]);
    expect(tablesHolding('spelled Erica')).toEqual([]);
    // Once sent, the receipt goes too, with the next retention pass: then no table at all holds the address.
    expect(tablesHolding(email)).toEqual(['mail_outbox.to_address']);
    await waitFor(() => (s.ctx.db.prepare(`SELECT status FROM mail_outbox WHERE template = 'erasureReceipt' AND to_address = ?`).get(email) as { status: string } | undefined)?.status === 'sent', { what: 'the receipt to be marked sent' });
    await s.ctx.retention.run();
    expect(tablesHolding(email)).toEqual([]);
    expect(tablesHolding(name)).toEqual([]);

    // The organizer sees the erasure as a completed request, with its receipt, and the correction as open.
    const own = await signedInClient(s, owner.user);
    const list = await own.get(`/orgs/${org.slug}/privacy/requests`);
    const rows = [...list.text.matchAll(/<tr data-request="([0-9a-f-]{36})"[^>]*>([\s\S]*?)<\/tr>/g)].map((m) => m[2]!);
    expect(rows.some((r) => r.includes('Erasure') && r.includes('completed'))).toBe(true);
    const notice = await sink.waitFor((m) => m.to.includes(owner.user.email) && m.subject.startsWith('Data request (erasure'));
    const id = /\/privacy\/requests\/([0-9a-f-]{36})/.exec(notice.text)![1]!;
    const detail = await own.get(`/orgs/${org.slug}/privacy/requests/${id}`);
    expect(detail.text).toContain('2 registration(s) erased');
    expect(detail.text).toContain('erased (the address is not kept after an erasure)');
  });

  it('the manage link opens the same page for that registration only', async () => {
    const email = testEmail('ss-manage');
    const reg = await register(e1, email, 'M', { diet: 'none' });
    await register(e2, email, 'M');
    const c = anon();
    await c.get(s.ctx.links.managePath(reg));
    const manage = await c.get('/my-registration');
    expect(manage.text).toContain('href="/my-registration/privacy"');
    expect((await c.get('/my-registration/privacy')).location).toBe('/privacy/me');
    const page = await c.get('/privacy/me');
    expect(page.text).toContain('Spring Forum');
    expect(page.text).not.toContain('Autumn Forum');
    expect(page.text).toContain('Email me that link');
    expect(page.text).not.toContain('action="/privacy/me/erase"');
    expect((await c.post('/privacy/me/erase', { confirm: 'yes' })).status).toBe(403);
    expect(s.ctx.attendees.ofPerson(org.id, email)).toHaveLength(2);
  });

  it('a registration on legal hold is listed on the access page with its reason, and erasing keeps it, listed on the receipt', async () => {
    const email = testEmail('ss-held');
    const held = await register(e1, email, 'Hella Held', { diet: 'kosher' });
    const free = await register(e2, email, 'Hella Held');
    const until = new Date(clock.now() + 20 * 86_400_000).toISOString().slice(0, 10);
    expect(s.ctx.holds.place(org.id, held.id, { reason: 'Chargeback dispute', until }, { actor: { type: 'user', id: owner.user.id } }).ok).toBe(true);

    const c = await openDataPage(email);
    const page = (await c.get('/privacy/me')).text;
    const section = (id: string) => new RegExp(`<section data-registration="${id}"[\\s\\S]*?</section>`).exec(page)?.[0] ?? '';
    expect(section(held.id)).toContain('data-testid="holds"');
    expect(section(held.id)).toContain(`On hold until ${until}`);
    expect(section(held.id)).toContain('Reason: Chargeback dispute');
    expect(section(free.id)).not.toBe('');
    expect(section(free.id)).not.toContain('On hold');

    const erased = await c.post('/privacy/me/erase', { confirm: 'yes' });
    expect(erased.status).toBe(200);
    expect(/<ul data-testid="held">[\s\S]*?<\/ul>/.exec(erased.text)?.[0]).toContain('Chargeback dispute');
    // The held registration keeps its data; the other one is erased.
    expect(s.ctx.attendees.ofPerson(org.id, email).map((r) => r.id)).toEqual([held.id]);
  });

  it('organizers record requests made another way, run the export or erasure from them, and see overdue ones', async () => {
    const email = testEmail('ss-byphone');
    await register(e2, email, 'Phone Person');
    const own = await signedInClient(s, owner.user);
    await own.get(`/orgs/${org.slug}/privacy/requests`);
    expect((await own.post(`/orgs/${org.slug}/privacy/requests`, { type: 'access', email: 'not-an-address' })).status).toBe(400);
    const access = await own.post(`/orgs/${org.slug}/privacy/requests`, { type: 'access', email, message: 'Asked by phone' });
    expect(access.status).toBe(303);
    const detail = await own.follow(access.location!);
    expect(detail.text).toContain('Download the person');
    const json = JSON.parse((await own.get(`${access.location!.split('?')[0]}/export.json`)).text) as { registrations: { event: string }[] };
    expect(json.registrations.map((r) => r.event)).toEqual(['Autumn Forum']);

    // A correction stays open; a month later it is overdue on the list.
    const corr = await own.post(`/orgs/${org.slug}/privacy/requests`, { type: 'correction', email, message: 'Wrong company' });
    const corrId = /requests\/([0-9a-f-]{36})/.exec(corr.location!)![1]!;
    expect((await own.get(`/orgs/${org.slug}/privacy/requests`)).text).toMatch(new RegExp(`<tr data-request="${corrId}">`));
    clock.advance(32 * 86_400_000);
    const later = await signedInClient(s, owner.user);
    const list = await later.get(`/orgs/${org.slug}/privacy/requests`);
    expect(list.text).toMatch(new RegExp(`<tr data-request="${corrId}" class="overdue">`));
    expect(list.text).toContain('overdue (due');
    expect((await later.post(`/orgs/${org.slug}/privacy/requests/${corrId}/complete`, { outcome: 'Company fixed' })).status).toBe(303);
    expect((await later.post(`/orgs/${org.slug}/privacy/requests/${corrId}/complete`, { outcome: 'again' })).status).toBe(409);

    // Erasure on behalf of the person needs a fresh sign-in; then it is done at once, receipt mailed to them.
    const stale = await signedInClient(s, owner.user, { reauth: false });
    await stale.get(`/orgs/${org.slug}/privacy/requests`);
    expect((await stale.post(`/orgs/${org.slug}/privacy/requests`, { type: 'erasure', email })).location).toMatch(/^\/account\/reauth\?next=/);
    expect(s.ctx.attendees.ofPerson(org.id, email)).toHaveLength(1);
    const erase = await later.post(`/orgs/${org.slug}/privacy/requests`, { type: 'erasure', email });
    expect(erase.location).toMatch(/done=erased$/);
    await sink.waitFor((m) => m.to.includes(email) && m.subject.includes('was erased'));
    expect(s.ctx.attendees.ofPerson(org.id, email)).toEqual([]);

    // Organizers (no privacy.requests permission) are refused.
    const orgr = await signedInClient(s, organizer.user);
    expect((await orgr.get(`/orgs/${org.slug}/privacy/requests`)).status).toBe(403);
    // Every step is audited, and no audit row holds an address.
    const actions = (s.ctx.db.prepare(`SELECT action FROM audit_log WHERE org_id = ? AND action LIKE 'privacy.%'`).all(org.id) as { action: string }[]).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['privacy.request_received', 'privacy.request_completed', 'privacy.exported', 'privacy.person_erased', 'privacy.requests_listed', 'privacy.request_viewed', 'privacy.link_sent', 'privacy.subject_viewed']));
    expect(s.ctx.db.prepare(`SELECT count(*) AS n FROM audit_log WHERE details LIKE '%@%'`).get()).toEqual({ n: 0 });
  });
});

describe('the link form, throttled per network', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(() => s?.close());

  it('20 requests an hour from one network, whatever the addresses; the 21st gets 429 with Retry-After, audited once', async () => {
    const owner = await createUser(s, { email: testEmail('ssn-owner') });
    const org = createOrg(s, owner.user, uniqueSlug('ssn'));
    const c = new Client(s.url, browserHeaders);
    await c.get(`/o/${org.slug}/privacy`);
    const codes: number[] = [];
    for (let i = 0; i < 22; i++) codes.push((await c.post(`/o/${org.slug}/privacy`, { email: testEmail(`ssn-${i}`) })).status);
    expect(codes).toEqual([...Array(20).fill(200), 429, 429]);
    const refused = await c.post(`/o/${org.slug}/privacy`, { email: testEmail('ssn-last') });
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const rows = s.ctx.db.prepare(`SELECT details FROM audit_log WHERE org_id = ? AND action = 'privacy.link_throttled'`).all(org.id) as { details: string }[];
    expect(rows.map((r) => JSON.parse(r.details))).toEqual([{ limit: 'network' }]);
  });
});

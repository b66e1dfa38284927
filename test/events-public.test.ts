import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgRow } from '../src/orgs/repo.ts';
import { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { Clock, createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { type SmtpSink, startSmtpSink } from './support/smtp-sink.ts';

const sys = { actor: { type: 'system' as const } };
const browserHeaders = { 'sec-fetch-site': 'same-origin' };

describe('public event pages and registration', () => {
  let s: TestServer;
  let sink: SmtpSink;
  let org: OrgRow;
  const clock = new Clock();

  beforeAll(async () => {
    sink = await startSmtpSink();
    s = await startTestServer({ smtpUrl: sink.url }, { now: clock.now });
    const owner = await createUser(s, { email: testEmail('ev-owner'), totp: true });
    org = createOrg(s, owner.user, uniqueSlug('pub'));
  });
  afterAll(async () => {
    await s?.close();
    await sink?.close();
  });

  const anon = () => new Client(s.url, browserHeaders);
  const count = (eventId: string, status?: string) =>
    (s.ctx.db.prepare(`SELECT count(*) AS n FROM registrations WHERE event_id = ?${status ? ' AND status = ?' : ''}`).get(...(status ? [eventId, status] : [eventId])) as { n: number }).n;

  it('shows a published event without JavaScript, renders Markdown safely, and lists it on the org page', async () => {
    const e = createEvent(s, org, { description_md: '# Welcome\n\n<script>alert(1)</script> **bold** [x](javascript:alert(1))' });
    const page = await anon().get(`/e/${e.slug}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<strong>bold</strong>');
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).toContain('&lt;script&gt;');
    expect(page.text).not.toContain('href="javascript:');
    expect(page.text).toMatch(/<form method="post" action="\/e\/[^"]+\/register"/);
    expect((await anon().get(`/o/${org.slug}`)).text).toContain(e.title);
    const ics = await anon().get(`/e/${e.slug}/event.ics`);
    expect(ics.headers.get('content-type')).toContain('text/calendar');
    expect(ics.text).toContain('BEGIN:VEVENT');
    expect(ics.text).toMatch(/DTSTART:\d{8}T\d{6}Z/);
    // A draft is not public.
    const draft = createEvent(s, org, { publish: false });
    expect((await anon().get(`/e/${draft.slug}`)).status).toBe(404);
    expect((await anon().get('/e/no-such-event')).status).toBe(404);
  });

  it('registers: confirmation page with code, QR and manage link; email with code, QR and .ics', async () => {
    const e = createEvent(s, org, { title: 'Ticket Day' });
    const c = anon();
    const r = await c.post(`/e/${e.slug}/register`, { email: testEmail('reg-one'), name: 'Rita Pseudonymova' });
    expect(r.status).toBe(201);
    const code = /data-testid="attendee-code">([A-Z2-9]{8})</.exec(r.text)?.[1];
    expect(code).toBeDefined();
    const manage = /href="(\/r\/[^"]+)" data-testid="manage-link"/.exec(r.text)?.[1];
    expect(manage).toBeDefined();
    expect(r.text).toContain(`src="${manage}/ticket.svg"`);
    const qr = await c.get(`${manage}/ticket.svg`);
    expect(qr.headers.get('content-type')).toBe('image/svg+xml');
    expect(qr.text).toContain('<svg');
    const mail = await sink.waitFor((m) => m.to.includes(testEmail('reg-one')));
    expect(mail.subject).toBe('Your ticket: Ticket Day');
    expect(mail.text).toContain(code!);
    expect(mail.text).toContain(manage!);
    const names = mail.attachments.map((a) => a.filename).sort();
    expect(names).toEqual(['event.ics', 'ticket.png']);
    expect(mail.attachments.find((a) => a.filename === 'ticket.png')!.content.subarray(1, 4).toString()).toBe('PNG');
    // The outbox keeps a reference to the registration, not a copy of its name, code or links.
    const row = s.ctx.db.prepare('SELECT params, attachments FROM mail_outbox WHERE to_address = ?').get(testEmail('reg-one')) as { params: string; attachments: string };
    expect(row.params).toMatch(/^\{"\$registration":"[A-Za-z0-9-]+\/[A-Za-z0-9-]+"\}$/);
    expect(row.params + row.attachments).not.toContain('Rita');
    expect(row.params + row.attachments).not.toContain(code!);
    expect(row.params + row.attachments).not.toContain(manage!.slice(3));
    // The reference resolves only inside its own organization.
    const regId = (JSON.parse(row.params) as { $registration: string }).$registration.split('/')[1]!;
    expect(s.ctx.links.params('registrationConfirmed', org.id, regId)).toMatchObject({ name: 'Rita Pseudonymova', code });
    expect(s.ctx.links.ticketLink(org.id, regId)).toBeDefined();
    const other = createOrg(s, (await createUser(s, { email: testEmail('ev-other-owner') })).user, uniqueSlug('other'));
    expect(s.ctx.links.params('registrationConfirmed', other.id, regId)).toBeUndefined();
    expect(s.ctx.links.ticketLink(other.id, regId)).toBeUndefined();
    // The manage link shows the registration (at a clean address, see link-tokens.test.ts) and audits the view.
    const m = await c.follow(manage!);
    expect(m.status).toBe(200);
    expect(m.text).toContain(testEmail('reg-one'));
    // A tampered link is refused.
    expect((await anon().get(`${manage!.slice(0, -2)}xx`)).status).toBe(404);
  });

  it('answers each registration with its own code, address and links, escaped, when the page comes from the per-event frame', async () => {
    const e = createEvent(s, org, { title: 'Frame Day', capacity: 2, waitlist_enabled: true });
    const emails = ["o'brien+a@example.org", "d'arcy@example.org", testEmail('frame-third')];
    const pages = [];
    for (const email of emails) pages.push(await anon().post(`/e/${e.slug}/register`, { email, name: 'Frame Tester' }));
    const rows = s.ctx.db.prepare('SELECT email, attendee_code, status FROM registrations WHERE event_id = ? ORDER BY created_at, rowid').all(e.id) as { email: string; attendee_code: string; status: string }[];
    expect(rows.map((r) => r.status)).toEqual(['confirmed', 'confirmed', 'waitlisted']);
    const manages = new Set<string>();
    pages.forEach((p, i) => {
      expect(p.status).toBe(201);
      const row = rows[i]!;
      const escaped = row.email.replace(/&/g, '&amp;').replace(/'/g, '&#39;');
      expect(p.text).toContain(`We also sent this to ${escaped}.`);
      expect(p.text).not.toContain('\u0001');
      const manage = /href="(\/r\/[^"]+)" data-testid="manage-link"/.exec(p.text)?.[1];
      expect(manage).toBeDefined();
      manages.add(manage!);
      if (row.status === 'confirmed') {
        expect(p.text).toContain(`data-testid="attendee-code">${row.attendee_code}<`);
        expect(p.text).toContain(`src="${manage}/ticket.svg"`);
      } else {
        expect(p.text).toContain('You are on the waiting list');
        expect(p.text).not.toContain('attendee-code');
      }
      // Nobody else's values leak into the shared frame.
      for (const other of rows.filter((_, j) => j !== i)) expect(p.text).not.toContain(other.attendee_code);
    });
    expect(manages.size).toBe(3);
    // The manage links work: each is the attendee's own.
    for (const [i, m] of [...manages].entries()) expect((await anon().follow(m)).text).toContain(rows[i]!.email.replace(/&/g, '&amp;').replace(/'/g, '&#39;'));
  });

  it('validates every field type server side: clear errors, input kept, nothing stored', async () => {
    const e = createEvent(s, org);
    const add = (type: Parameters<typeof s.ctx.events.addField>[1]['type'], label: string, extra: Partial<Parameters<typeof s.ctx.events.addField>[1]> = {}) => {
      const r = s.ctx.events.addField(e, { type, label, help: '', required: true, options: [], personal: true, sensitive: false, purpose: '', consent_text: '', ...extra }, sys);
      if (!r.ok) throw new Error(r.message);
      return r.field.key;
    };
    const k = {
      text: add('short_text', 'Company'),
      long: add('long_text', 'Bio'),
      mail: add('email', 'Work email'),
      phone: add('phone', 'Phone'),
      num: add('number', 'Age'),
      date: add('date', 'Arrival'),
      one: add('single_select', 'Meal', { options: ['Vegan', 'Meat'] }),
      many: add('multi_select', 'Workshops', { options: ['A', 'B', 'C'] }),
      box: add('checkbox', 'Newsletter', { required: false }),
      consent: add('consent', 'Photo consent', { consent_text: 'I agree to be photographed.' }),
    };
    const good: Record<string, string | string[]> = {
      email: testEmail('valid-all'),
      name: 'Val Pseudonymova',
      [k.text]: 'ACME',
      [k.long]: 'Line one\nLine two',
      [k.mail]: testEmail('work'),
      [k.phone]: '+41 44 668 18 00',
      [k.num]: '42',
      [k.date]: '2026-12-24',
      [k.one]: 'Vegan',
      [k.many]: ['A', 'C'],
      [k.consent]: 'on',
    };
    const bad: [string, Record<string, string | string[]>, string][] = [
      ['wrong type (number)', { ...good, [k.num]: 'forty-two' }, k.num],
      ['wrong type (date)', { ...good, [k.date]: '2026-02-30' }, k.date],
      ['wrong type (email)', { ...good, [k.mail]: 'not-an-email' }, k.mail],
      ['wrong type (phone)', { ...good, [k.phone]: 'call me' }, k.phone],
      ['too long', { ...good, [k.text]: 'x'.repeat(201) }, k.text],
      ['missing required', { ...good, [k.text]: '' }, k.text],
      ['missing consent', { ...good, [k.consent]: '' }, k.consent],
      ['unknown option', { ...good, [k.one]: 'Fish' }, k.one],
      ['unknown option in multi', { ...good, [k.many]: ['A', 'Z'] }, k.many],
      ['control characters', { ...good, [k.text]: 'AC\u0007ME' }, k.text],
      ['unknown field', { ...good, sneaky_extra: 'x' }, 'sneaky_extra'],
    ];
    for (const [label, form, key] of bad) {
      const r = await anon().post(`/e/${e.slug}/register`, form);
      expect(r.status, label).toBe(422);
      expect(r.text, label).toMatch(new RegExp(`id="f-${key}-error"|${key}: `));
      // The person's other input is still there.
      expect(r.text, label).toContain('value="ACME"'.replace('ACME', form[k.text] === 'ACME' ? 'ACME' : String(good.name)));
    }
    const huge = await anon().request('POST', `/e/${e.slug}/register`, { body: `email=${'a'.repeat(2 * 1024 * 1024)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(huge.status).toBe(413);
    expect(count(e.id)).toBe(0);

    const ok = await anon().post(`/e/${e.slug}/register`, good);
    expect(ok.status).toBe(201);
    const row = s.ctx.db.prepare('SELECT answers FROM registrations WHERE event_id = ?').get(e.id) as { answers: string };
    const answers = JSON.parse(row.answers) as Record<string, unknown>;
    expect(answers[k.num]).toBe(42);
    expect(answers[k.many]).toEqual(['A', 'C']);
    expect(answers[k.box]).toBe(false);
    expect(answers[k.consent]).toMatchObject({ accepted: true, text: 'I agree to be photographed.' });
  });

  it('never oversells: many parallel registrations for the last seats confirm exactly the capacity', async () => {
    const e = createEvent(s, org, { capacity: 5, waitlist_enabled: false });
    const attempts = Array.from({ length: 60 }, (_, i) => anon().post(`/e/${e.slug}/register`, { email: testEmail(`rush-${i}`), name: `Rush ${i}` }));
    const results = await Promise.all(attempts);
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 409)).toHaveLength(55);
    expect(results.find((r) => r.status === 409)!.text).toContain('full');
    expect(count(e.id, 'confirmed')).toBe(5);
    expect(count(e.id)).toBe(5);
  });

  it('waiting list: full event waitlists in order and a cancellation promotes the first, with an email', async () => {
    const e = createEvent(s, org, { capacity: 1, waitlist_enabled: true, title: 'Tiny Event' });
    const a = await anon().post(`/e/${e.slug}/register`, { email: testEmail('wl-a'), name: 'A' });
    const b = await anon().post(`/e/${e.slug}/register`, { email: testEmail('wl-b'), name: 'B' });
    clock.advance(1000);
    const cc = await anon().post(`/e/${e.slug}/register`, { email: testEmail('wl-c'), name: 'C' });
    expect([a.status, b.status, cc.status]).toEqual([201, 201, 201]);
    expect(b.text).toContain('waiting list');
    expect(count(e.id, 'waitlisted')).toBe(2);
    const manageA = /href="(\/r\/[^"]+)" data-testid="manage-link"/.exec(a.text)![1]!;
    const client = anon();
    await client.follow(manageA);
    expect((await client.post('/my-registration/cancel')).location).toBe('/my-registration?done=cancelled');
    const promoted = await sink.waitFor((m) => m.to.includes(testEmail('wl-b')) && m.subject.startsWith('Your ticket'));
    expect(promoted.subject).toBe('Your ticket: Tiny Event');
    const status = (email: string) => (s.ctx.db.prepare('SELECT status FROM registrations WHERE event_id = ? AND email = ?').get(e.id, email) as { status: string }).status;
    expect(status(testEmail('wl-a'))).toBe('cancelled');
    expect(status(testEmail('wl-b'))).toBe('confirmed');
    expect(status(testEmail('wl-c'))).toBe('waitlisted');
  });

  it('duplicate registrations: rejected with a clear message, or allowed when configured', async () => {
    const strict = createEvent(s, org, { duplicate_policy: 'reject' });
    expect((await anon().post(`/e/${strict.slug}/register`, { email: testEmail('dup'), name: 'D' })).status).toBe(201);
    const again = await anon().post(`/e/${strict.slug}/register`, { email: testEmail('DUP').toUpperCase(), name: 'D' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('already registered');
    const loose = createEvent(s, org, { duplicate_policy: 'allow' });
    expect((await anon().post(`/e/${loose.slug}/register`, { email: testEmail('dup'), name: 'D' })).status).toBe(201);
    expect((await anon().post(`/e/${loose.slug}/register`, { email: testEmail('dup'), name: 'D' })).status).toBe(201);
  });

  it('double opt-in: no seat until the emailed link is confirmed (a GET alone changes nothing)', async () => {
    const e = createEvent(s, org, { double_opt_in: true, capacity: 1, title: 'Opt In Day' });
    const r = await anon().post(`/e/${e.slug}/register`, { email: testEmail('optin'), name: 'O' });
    expect(r.status).toBe(201);
    expect(count(e.id, 'pending')).toBe(1);
    const mail = await sink.waitFor((m) => m.to.includes(testEmail('optin')) && m.subject.startsWith('Please confirm'));
    const link = /https?:\/\/\S+(\/r\/\S+\/confirm)/.exec(mail.text)![1]!;
    const c = anon();
    expect((await c.follow(link)).status).toBe(200);
    expect(count(e.id, 'pending')).toBe(1);
    const done = await c.post('/my-registration/confirm');
    expect(done.status).toBe(200);
    expect(done.text).toContain('You are registered');
    expect(count(e.id, 'confirmed')).toBe(1);
  });

  it('the anonymous page, shared between visitors, follows a seat taken, the window closing by the clock and a switch to passcode', async () => {
    const e = createEvent(s, org, { capacity: 3, registration_closes_at: new Date(clock.now() + 60_000).toISOString() });
    const first = await anon().get(`/e/${e.slug}`);
    expect(first.text).toContain('3 left');
    // Nothing of one visitor is in the bytes the next one gets.
    expect(first.headers.get('set-cookie')).toBeNull();
    expect(first.text).not.toContain('name="_csrf"');
    expect((await anon().get(`/e/${e.slug}`)).text).toBe(first.text);
    expect((await anon().post(`/e/${e.slug}/register`, { email: testEmail('shared-page'), name: 'S' })).status).toBe(201);
    expect((await anon().get(`/e/${e.slug}`)).text).toContain('2 left');
    // No write happens when the window closes: the copy is checked against the clock on each hit.
    clock.advance(61_000);
    const closed = await anon().get(`/e/${e.slug}`);
    expect(closed.text).toContain('Registration for this event is closed.');
    expect(closed.text).not.toMatch(/<form method="post" action="\/e\/[^"]+\/register"/);
    const { id: _id, org_id: _org, status: _status, passcode_hash: _hash, passcode_expires_at: _exp, created_at: _created, updated_at: _updated, ...input } = e;
    expect(s.ctx.events.update(org, e, { ...input, waitlist_enabled: false, double_opt_in: false, show_ticket: true, access_mode: 'passcode' }, sys).ok).toBe(true);
    const locked = await anon().get(`/e/${e.slug}`);
    expect(locked.status).toBe(401);
    expect(locked.text).not.toContain(e.description_md.replace(/\*/g, ''));
  });

  it('registration window: not yet open, and closed', async () => {
    const later = createEvent(s, org, { registration_opens_at: new Date(clock.now() + 86_400_000).toISOString() });
    const p = await anon().get(`/e/${later.slug}`);
    expect(p.text).toContain('Registration opens');
    expect((await anon().post(`/e/${later.slug}/register`, { email: testEmail('early'), name: 'E' })).status).toBe(400);
    const closed = createEvent(s, org);
    s.ctx.events.setStatus(org, closed, 'closed', sys);
    expect((await anon().post(`/e/${closed.slug}/register`, { email: testEmail('late'), name: 'L' })).status).toBe(400);
    expect(count(later.id) + count(closed.id)).toBe(0);
  });

  it('attendees can edit their answers (not their email) and cancel through their link', async () => {
    const e = createEvent(s, org);
    const r = await anon().post(`/e/${e.slug}/register`, { email: testEmail('editor'), name: 'Old Name' });
    const manage = /href="(\/r\/[^"]+)" data-testid="manage-link"/.exec(r.text)![1]!;
    const c = anon();
    await c.follow(manage);
    expect((await c.post('/my-registration', { name: 'New Name', email: testEmail('hijack') })).location).toBe('/my-registration?done=saved');
    const row = s.ctx.db.prepare('SELECT name, email FROM registrations WHERE event_id = ?').get(e.id) as { name: string; email: string };
    expect(row).toEqual({ name: 'New Name', email: testEmail('editor') });
    const badEdit = await c.post('/my-registration', { name: '' });
    expect(badEdit.status).toBe(422);
    expect((s.ctx.db.prepare('SELECT name FROM registrations WHERE event_id = ?').get(e.id) as { name: string }).name).toBe('New Name');
  });
});

describe('access modes', () => {
  let s: TestServer;
  let org: OrgRow;
  beforeAll(async () => {
    s = await startTestServer({ trustProxy: 'true' });
    const owner = await createUser(s, { email: testEmail('acc-owner'), totp: true });
    org = createOrg(s, owner.user, uniqueSlug('acc'));
  });
  afterAll(() => s?.close());

  const anon = (ip = '198.51.100.10') => new Client(s.url, { ...browserHeaders, 'x-forwarded-for': ip });
  const audits = (action: string) => s.ctx.db.prepare('SELECT result FROM audit_log WHERE action = ? ORDER BY seq').all(action) as { result: string }[];

  it('unlisted events are reachable by link but not listed', async () => {
    const e = createEvent(s, org, { access_mode: 'unlisted', title: 'Hidden Gem' });
    expect((await anon().get(`/e/${e.slug}`)).status).toBe(200);
    expect((await anon().get(`/o/${org.slug}`)).text).not.toContain('Hidden Gem');
  });

  it('passcode: hidden until the right passcode; wrong ones audited and throttled; expiry ends access', async () => {
    const e = createEvent(s, org, { access_mode: 'passcode', publish: false });
    expect(s.ctx.events.setStatus(org, e, 'published', sys).ok).toBe(false);
    await s.ctx.events.setPasscode(org, e, 'open sesame', null, sys);
    expect(s.ctx.events.setStatus(org, s.ctx.events.get(org, e.id)!, 'published', sys).ok).toBe(true);

    const c = anon();
    const hidden = await c.get(`/e/${e.slug}`);
    expect(hidden.status).toBe(401);
    expect(hidden.text).not.toContain(e.description_md);
    expect((await c.post(`/e/${e.slug}/register`, { email: testEmail('sneak'), name: 'S' })).status).toBe(401);
    expect((await c.post(`/e/${e.slug}/passcode`, { passcode: 'wrong' })).status).toBe(401);
    expect((await c.post(`/e/${e.slug}/passcode`, { passcode: 'open sesame' })).location).toBe(`/e/${e.slug}`);
    expect((await c.get(`/e/${e.slug}`)).status).toBe(200);
    expect(audits('event.passcode_used').map((r) => r.result)).toEqual(['failure', 'success']);

    const guesser = anon('203.0.113.99');
    let last = 0;
    for (let i = 0; i < 8; i++) last = (await guesser.post(`/e/${e.slug}/passcode`, { passcode: `guess ${i}` })).status;
    expect(last).toBe(429);
    // Another visitor is not locked out by the guesser.
    expect((await anon('198.51.100.77').post(`/e/${e.slug}/passcode`, { passcode: 'open sesame' })).status).toBe(303);

    // Changing the passcode invalidates nothing else, but an expiry in the past ends access.
    await s.ctx.events.setPasscode(org, e, 'open sesame', new Date(Date.now() - 1000).toISOString(), sys);
    expect((await c.get(`/e/${e.slug}`)).status).toBe(401);
  });

  it('share links: own password, use counter, expiry and revocation; each use audited', async () => {
    const base = createEvent(s, org, { access_mode: 'passcode', publish: false });
    await s.ctx.events.setPasscode(org, base, 'unused passcode', null, sys);
    const e = s.ctx.events.get(org, base.id)!;
    s.ctx.events.setStatus(org, e, 'published', sys);
    const { token, link } = await s.ctx.events.createShareLink(e, { label: 'Press', password: 'press pass 1', expiresAt: null }, sys);
    const c = anon('198.51.100.20');
    expect((await c.follow(`/s/${token}`)).status).toBe(200);
    expect((await c.post('/share', { passcode: 'nope' })).status).toBe(401);
    expect((await c.post('/share', { passcode: 'press pass 1' })).location).toBe(`/e/${e.slug}`);
    expect((await c.get(`/e/${e.slug}`)).status).toBe(200);
    expect(s.ctx.events.shareLinks(e).find((l) => l.id === link.id)!.uses).toBe(1);
    expect(audits('event.share_link_used').map((r) => r.result)).toEqual(['failure', 'success']);

    s.ctx.events.revokeShareLink(e, link.id, sys);
    expect((await anon().get(`/s/${token}`)).status).toBe(404);
    // The grant it gave is dead too.
    expect((await c.get(`/e/${e.slug}`)).status).toBe(401);

    const expired = await s.ctx.events.createShareLink(e, { label: 'Old', password: 'old pass 12', expiresAt: new Date(Date.now() - 1000).toISOString() }, sys);
    expect((await anon().get(`/s/${expired.token}`)).status).toBe(404);
    expect((await anon().get('/s/not-a-real-token-at-all-0000000000')).status).toBe(404);
  });
});

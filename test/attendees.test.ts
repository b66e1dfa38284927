import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { UserRow } from '../src/auth/repo.ts';
import type { EventInput } from '../src/events/service.ts';
import type { EventRow } from '../src/events/repo.ts';
import type { RegistrationRow } from '../src/registrations/repo.ts';
import { SESSION_COOKIE } from '../src/http/cookies.ts';
import type { OrgRole } from '../src/orgs/permissions.ts';
import { type OrgRow, orgsRepo } from '../src/orgs/repo.ts';
import { checkA11y, launchBrowser, newPage, pageProblems, screenshot } from './support/browser.ts';
import type { Client } from './support/client.ts';
import { createEvent } from './support/events.ts';
import { addMember, createOrg, createUser, signedInClient, uniqueSlug } from './support/identity.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { type TestServer, startTestServer, withSmtpServer } from './support/server.ts';
import type { SmtpSink } from './support/smtp-sink.ts';
import { waitFor } from './support/wait.ts';

const sys = { actor: { type: 'system' as const } };
const tag = () => randomBytes(3).toString('hex');
const email = (who: string, tenant: 'a' | 'b' = 'a') => testEmail(`${who}-${tag()}`, tenant);
const DIETS = ['vegan', 'vegetarian', 'none'] as const;

interface World {
  org: OrgRow;
  event: EventRow;
  users: Record<OrgRole, UserRow>;
  base: string;
}

/** An organization with one member per role and an event whose form has a select, a checkbox and a sensitive field. */
async function world(s: TestServer, over: Partial<EventInput> = {}, tenant: 'a' | 'b' = 'a'): Promise<World> {
  const users = {} as Record<OrgRole, UserRow>;
  for (const role of ['owner', 'admin', 'organizer', 'checkin', 'viewer'] as const) users[role] = (await createUser(s, { email: email(role, tenant) })).user;
  const org = createOrg(s, users.owner, uniqueSlug(tenant));
  for (const role of ['admin', 'organizer', 'checkin', 'viewer'] as const) addMember(s, org, users[role], role);
  const event = createEvent(s, org, { publish: false, ...over });
  const field = (input: Parameters<typeof s.ctx.events.addField>[1]) => {
    const r = s.ctx.events.addField(event, input, sys);
    if (!r.ok) throw new Error(r.message);
  };
  const base = { help: '', required: false, options: [] as string[], personal: true, sensitive: false, purpose: 'Catering', consent_text: '' };
  field({ ...base, key: 'diet', type: 'single_select', label: 'Diet', options: [...DIETS] });
  field({ ...base, key: 'newsletter', type: 'checkbox', label: 'Newsletter', personal: false });
  field({ ...base, key: 'health', type: 'long_text', label: 'Health notes', sensitive: true, purpose: 'First aid' });
  s.ctx.events.setStatus(org, event, 'published', sys);
  return { org, event: s.ctx.events.get(org, event.id)!, users, base: `/orgs/${org.slug}/events/${event.id}` };
}

async function register(s: TestServer, e: EventRow, raw: Record<string, string>): Promise<RegistrationRow> {
  const r = await s.ctx.registrations.register(e, raw, sys);
  if (!r.ok) throw new Error(`${r.message} ${JSON.stringify(r.errors ?? {})}`);
  return r.reg;
}

/** n registrations named "Person 001 …" with a diet cycling through the options and a sensitive note. */
async function registerMany(s: TestServer, e: EventRow, n: number): Promise<RegistrationRow[]> {
  const out: RegistrationRow[] = [];
  for (let i = 1; i <= n; i++) {
    const num = String(i).padStart(3, '0');
    out.push(await register(s, e, { email: email(`p${num}`), name: `Person ${num} ${PERSON_SURNAME}`, diet: DIETS[i % 3]!, health: `SECRET-HEALTH-${num}`, ...(i % 2 === 0 ? { newsletter: 'on' } : {}) }));
  }
  return out;
}

const audit = (s: TestServer, org: OrgRow, action: string) => s.ctx.audit.recentForOrg(org.id, 1000).filter((r) => r.action === action);
const regRows = (text: string) => [...text.matchAll(/data-reg="([0-9a-f-]{36})"/g)].map((m) => m[1]!);
const current = (s: TestServer, w: World, id: string) => s.ctx.registrations.get(w.event, id)!;

describe('attendee management', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('lists, searches, filters and paginates 120 registrations, masking the sensitive field', async () => {
    const w = await world(s);
    const regs = await registerMany(s, w.event, 120);
    for (const r of regs.slice(0, 10)) s.ctx.registrations.cancel(w.event, r, sys, 'organizer');
    for (const r of regs.slice(10, 25)) expect(s.ctx.attendees.checkIn(w.event, r.id, false, sys).ok).toBe(true);
    const c = await signedInClient(s, w.users.organizer);
    const list = `${w.base}/attendees`;

    const p1 = await c.get(list);
    expect(p1.status).toBe(200);
    expect(p1.text).toMatch(/<strong>110<\/strong> confirmed/);
    expect(p1.text).toMatch(/<strong>10<\/strong> cancelled/);
    expect(p1.text).toMatch(/<strong>15<\/strong> checked in/);
    expect(p1.text).toContain('Showing 1–50 of 120 matching attendees.');
    expect(regRows(p1.text)).toHaveLength(50);
    expect(p1.text).not.toContain('SECRET-HEALTH');
    expect(p1.text).toContain('•••');
    expect(p1.text).toContain('Health notes');

    // Every row exactly once across the three pages.
    const p2 = await c.get(`${list}?page=2`);
    const p3 = await c.get(`${list}?page=3`);
    expect(p3.text).toContain('Showing 101–120 of 120');
    const all = [...regRows(p1.text), ...regRows(p2.text), ...regRows(p3.text)];
    expect(new Set(all).size).toBe(120);
    expect(new Set(all)).toEqual(new Set(regs.map((r) => r.id)));
    // A page past the end shows the last page rather than nothing.
    expect(regRows((await c.get(`${list}?page=99`)).text)).toHaveLength(20);

    // The filter form POSTs: the search text (a name, an address) never goes into an address.
    const search = (query: string) => c.post(list, Object.fromEntries(new URLSearchParams(query)));
    const count = async (query: string) => regRows((await search(query)).text).length;
    const total = async (query: string) => /of (\d+) matching|No attendee matches/.exec((await search(query)).text)?.[1] ?? '0';
    expect(await count(`q=${encodeURIComponent('Person 007')}`)).toBe(1);
    expect(await count(`q=${encodeURIComponent(regs[41]!.email.split('@')[0]!)}`)).toBe(1);
    expect(await count(`q=${regs[99]!.attendee_code.toLowerCase()}`)).toBe(1);
    expect(await total(`q=${PERSON_SURNAME}`)).toBe('120');
    expect(await count('status=cancelled')).toBe(10);
    expect(await count('checked=yes')).toBe(15);
    expect(await total('checked=no')).toBe('105');
    expect(await total('answer=diet:vegan')).toBe('40');
    expect(await total('answer=newsletter:yes')).toBe('60');
    expect(await total('answer=newsletter:no')).toBe('60');
    // Regs 1–10 are cancelled; of them 3, 6 and 9 are vegan (i % 3 === 0).
    expect(await count('answer=diet:vegan&status=cancelled')).toBe(3);
    // A sensitive field cannot be used as a filter, and a bad filter value is ignored, not an error.
    expect(await total('answer=health:SECRET-HEALTH-001')).toBe('120');
    expect(await total('status=bogus&checked=maybe')).toBe('120');
    // No like-injection: % is a literal character.
    expect(await total('q=%25')).toBe('0');
    // A search in the address is ignored, and the page never builds one: its forms POST.
    const viaGet = await c.get(`${list}?q=${encodeURIComponent('Person 007')}&status=cancelled`);
    expect(/of (\d+) matching/.exec(viaGet.text)?.[1]).toBe('10');
    expect(viaGet.text).toMatch(/<form method="post" action="[^"]+\/attendees"[^>]*hx-post=/);
    const searched = await search(`q=${PERSON_SURNAME}`);
    expect(searched.text).not.toMatch(/href="[^"]*[?&]q=/);
    expect(searched.text).not.toMatch(/hx-get="[^"]*[?&]q=/);
    // Paging a search is a POST that carries it, and reaches the next page.
    expect(searched.text).toMatch(/<input type="hidden" name="page" value="2"\/?>/);
    expect(regRows((await search(`q=${PERSON_SURNAME}&page=3`)).text)).toHaveLength(20);
    // Messaging the searched attendees opens the form with the search in its body.
    expect((await search('q=Person+050')).text).toContain('name="compose" value="1"');
    const compose = await c.post(`${list}/message`, { q: 'Person 050', compose: '1' });
    expect(compose.status).toBe(200);
    expect(compose.text).toContain('Recipients: <strong>1</strong>');
    expect(compose.text).toContain('name="q" value="Person 050"');

    // htmx asks for the table only.
    const partial = await c.get(`${list}?status=cancelled`, { 'HX-Request': 'true', 'HX-Request-Type': 'partial' });
    expect(partial.status).toBe(200);
    expect(partial.text).not.toContain('<html');
    expect(partial.text).toContain('Showing 1–10 of 10');
    expect(regRows(partial.text)).toHaveLength(10);
    expect(partial.headers.get('vary')).toMatch(/HX-Request/i);

    // Listing is audited with the filter's shape, never the search words.
    const listed = audit(s, w.org, 'attendee.listed');
    expect(listed.length).toBeGreaterThanOrEqual(15);
    expect(listed.every((r) => !r.details.includes(PERSON_SURNAME) && !r.details.includes('Person 007'))).toBe(true);
    expect(listed.some((r) => JSON.parse(r.details).filter.search === true)).toBe(true);
    expect(listed.some((r) => JSON.parse(r.details).filter.answer === 'diet:vegan')).toBe(true);
  });

  it('audits every detail view, and reveals sensitive answers only on request (audited separately)', async () => {
    const w = await world(s);
    const reg = await register(s, w.event, { email: email('detail'), name: `Dana ${PERSON_SURNAME}`, diet: 'vegan', health: 'SECRET-ASTHMA' });
    const c = await signedInClient(s, w.users.organizer);
    const url = `${w.base}/attendees/${reg.id}`;

    const r1 = await c.get(url);
    expect(r1.status).toBe(200);
    expect(r1.text).toContain(reg.email);
    expect(r1.text).toContain('vegan');
    expect(r1.text).not.toContain('SECRET-ASTHMA');
    expect(r1.text).toContain('Reveal sensitive answers');
    await c.get(url);
    const views = audit(s, w.org, 'attendee.viewed').filter((r) => r.target_id === reg.id);
    expect(views).toHaveLength(2);
    expect(views.every((v) => v.actor_id === w.users.organizer.id)).toBe(true);
    expect(audit(s, w.org, 'attendee.sensitive_revealed')).toHaveLength(0);

    // The old link reveals nothing: a GET (a crawler, a prefetch, another site) cannot reveal.
    const byLink = await c.get(`${url}?reveal=1`);
    expect(byLink.text).not.toContain('SECRET-ASTHMA');
    expect(audit(s, w.org, 'attendee.sensitive_revealed')).toHaveLength(0);
    // A POST without a reason (or with one not on the list) reveals nothing either.
    for (const reason of ['', 'curiosity']) {
      const refused = await c.post(`${url}/reveal`, { reason });
      expect(refused.status).toBe(400);
      expect(refused.text).not.toContain('SECRET-ASTHMA');
      expect(refused.text).toContain('Choose why you need to see the sensitive answers.');
    }
    expect(audit(s, w.org, 'attendee.sensitive_revealed')).toHaveLength(0);

    const r2 = await c.post(`${url}/reveal`, { reason: 'safety' });
    expect(r2.status).toBe(200);
    expect(r2.text).toContain('SECRET-ASTHMA');
    const revealed = audit(s, w.org, 'attendee.sensitive_revealed');
    expect(revealed).toHaveLength(1);
    expect(revealed[0]!.target_id).toBe(reg.id);
    expect(JSON.parse(revealed[0]!.details)).toMatchObject({ fields: ['health'], reason: 'safety' });
    expect(audit(s, w.org, 'attendee.viewed').filter((r) => r.target_id === reg.id)).toHaveLength(6);
    // Without the CSRF token (a cross-site form) the reveal is refused.
    const forged = await c.post(`${url}/reveal`, { reason: 'safety', _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(audit(s, w.org, 'attendee.sensitive_revealed')).toHaveLength(1);

    // A registration id that does not exist, or is malformed.
    expect((await c.get(`${w.base}/attendees/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await c.get(`${w.base}/attendees/not-an-id`)).status).toBe(404);
  });

  it('exports CSV and JSON: sensitive fields only when ticked (and audited so), formula cells neutralised', async () => {
    const w = await world(s);
    const evil = await register(s, w.event, { email: email('evil'), name: '=HYPERLINK("https://evil.example/x","click")', diet: 'none', health: 'SECRET-ONE' });
    const plus = await register(s, w.event, { email: email('plus'), name: `@SUM(A1) ${PERSON_SURNAME}`, diet: 'vegan', health: 'SECRET-TWO', newsletter: 'on' });
    const gone = await register(s, w.event, { email: email('gone'), name: `Gone ${PERSON_SURNAME}`, health: 'SECRET-THREE' });
    s.ctx.registrations.cancel(w.event, gone, sys, 'organizer');
    const c = await signedInClient(s, w.users.organizer);

    const csv = await c.get(`${w.base}/attendees/export.csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="attendees-ev-[a-z0-9]+-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(csv.headers.get('cache-control')).toBe('no-store');
    const lines = csv.text.replace(/^\uFEFF/, '').trim().split('\n');
    expect(lines[0]).toBe('Attendee code,Status,Registered at,Checked in at,Email address,Name,Diet,Newsletter');
    expect(lines).toHaveLength(4);
    expect(csv.text).not.toContain('SECRET-');
    expect(csv.text).toContain(`"'=HYPERLINK(""https://evil.example/x"",""click"")"`);
    expect(csv.text).toContain(`'@SUM(A1) ${PERSON_SURNAME}`);
    expect(csv.text).not.toMatch(/(^|,)"?=HYPERLINK/m);
    const evilLine = lines.find((l) => l.startsWith(evil.attendee_code))!;
    expect(evilLine).toContain(',confirmed,');
    expect(evilLine.endsWith(',none,no')).toBe(true);

    let rows = audit(s, w.org, 'attendee.exported');
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.details)).toEqual({ format: 'csv', fields: ['email', 'name', 'diet', 'newsletter'], sensitive: false, status: null, rows: 3 });

    // Explicitly ticked: the sensitive column is there, and the audit row says so.
    const withHealth = await c.get(`${w.base}/attendees/export.csv?choose=1&fields=name&fields=health&status=confirmed`);
    expect(withHealth.status).toBe(200);
    expect(withHealth.text.replace(/^\uFEFF/, '').split('\n')[0]).toBe('Attendee code,Status,Registered at,Checked in at,Name,Health notes');
    expect(withHealth.text).toContain('SECRET-ONE');
    expect(withHealth.text).not.toContain('SECRET-THREE');
    expect(withHealth.text).not.toContain(evil.email);
    rows = audit(s, w.org, 'attendee.exported');
    expect(JSON.parse(rows[0]!.details)).toEqual({ format: 'csv', fields: ['name', 'health'], sensitive: true, status: 'confirmed', rows: 2 });

    const json = await c.get(`${w.base}/attendees/export.json`);
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(json.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.json"$/);
    const data = JSON.parse(json.text) as Record<string, unknown>[];
    expect(data).toHaveLength(3);
    expect(data.every((d) => !('health' in d))).toBe(true);
    expect(data.find((d) => d.attendee_code === plus.attendee_code)).toMatchObject({ email: plus.email, diet: 'vegan', newsletter: true, status: 'confirmed', checked_in_at: null });
    expect(JSON.parse(audit(s, w.org, 'attendee.exported')[0]!.details)).toMatchObject({ format: 'json', sensitive: false, rows: 3 });

    const jsonSensitive = JSON.parse((await c.get(`${w.base}/attendees/export.json?choose=1&fields=health&status=cancelled`)).text) as Record<string, unknown>[];
    expect(jsonSensitive).toEqual([expect.objectContaining({ attendee_code: gone.attendee_code, health: 'SECRET-THREE', status: 'cancelled' })]);
    expect(Object.keys(jsonSensitive[0]!)).not.toContain('email');

    // Sensitive answers leave in bulk only after a fresh password confirmation; the default export does not ask.
    const stale = await signedInClient(s, w.users.organizer, { reauth: false });
    const asked = await stale.get(`${w.base}/attendees/export.csv?choose=1&fields=health`);
    expect(asked.status).toBe(303);
    expect(asked.location).toBe(`/account/reauth?next=${encodeURIComponent(`${w.base}/attendees/export.csv?choose=1&fields=health`)}`);
    expect((await stale.get(`${w.base}/attendees/export.csv?choose=1&fields=name`)).status).toBe(200);

    // Bad choices are refused, and nothing is exported (or audited as exported).
    const before = audit(s, w.org, 'attendee.exported').length;
    expect((await c.get(`${w.base}/attendees/export.csv?choose=1&fields=password`)).status).toBe(400);
    expect((await c.get(`${w.base}/attendees/export.csv?status=everyone`)).status).toBe(400);
    expect(audit(s, w.org, 'attendee.exported')).toHaveLength(before);
  });

  it('streams a 2,000-row export in chunks while the server keeps serving other requests', async () => {
    const w = await world(s);
    // One group commit: queued together, the 2,000 share a transaction and a sync.
    const regs = await Promise.all(Array.from({ length: 2000 }, (_, i) => register(s, w.event, { email: email(`bulk${i}`), name: `Bulk ${i} ${PERSON_SURNAME}`, diet: DIETS[i % 3]!, health: 'x' })));
    const c = await signedInClient(s, w.users.organizer);
    const res = await fetch(`${s.url}${w.base}/attendees/export.csv`, { headers: { cookie: `${SESSION_COOKIE}=${c.cookies.get(SESSION_COOKIE)}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-length')).toBeNull();
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    // Mid-download, a write on the same database connection still works (no open iterator blocks it).
    const checkin = await c.post(`${w.base}/checkin/${regs[5]!.id}`, { q: '' });
    expect(checkin.status).toBe(303);
    let text = new TextDecoder().decode(first.value);
    let chunks = 1;
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      chunks++;
      text += new TextDecoder().decode(next.value);
    }
    expect(chunks).toBeGreaterThan(2);
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(2001);
    expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(2000);
    expect(JSON.parse(audit(s, w.org, 'attendee.exported')[0]!.details)).toMatchObject({ rows: 2000, sensitive: false });

    const json = await c.get(`${w.base}/attendees/export.json`);
    expect(JSON.parse(json.text)).toHaveLength(2000);
  });

  it('edits answers with server validation: bad input shows errors next to fields and stores nothing', async () => {
    const w = await world(s);
    const reg = await register(s, w.event, { email: email('edit'), name: `Eve ${PERSON_SURNAME}`, diet: 'vegan', health: 'SECRET-KEEP' });
    const c = await signedInClient(s, w.users.organizer);
    const url = `${w.base}/attendees/${reg.id}`;
    await c.get(url);
    const good = { email: reg.email, name: reg.name, diet: 'vegan' };
    const cases: [Record<string, string>, string, string][] = [
      [{ ...good, shoe_size: '44' }, 'shoe_size', 'This form has no such field.'],
      [{ ...good, diet: 'carnivore' }, 'diet', 'Choose one of the listed options.'],
      [{ ...good, name: 'Eve\u0007Bell' }, 'name', 'Contains characters that are not allowed.'],
      [{ ...good, name: '' }, 'name', 'This field is required.'],
      [{ ...good, email: 'not-an-email' }, 'email', 'Enter a valid email address.'],
      [{ ...good, newsletter: 'maybe' }, 'newsletter', 'Tick the box or leave it empty.'],
    ];
    for (const [form, field, message] of cases) {
      const r = await c.post(url, { ...form, _keep_sensitive: '1' });
      expect(r.status, field).toBe(400);
      expect(r.text, field).toContain(message);
      if (field !== 'shoe_size') expect(r.text, field).toMatch(new RegExp(`id="a-${field}-error" class="field-error">${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      expect(current(s, w, reg.id), field).toEqual(reg);
    }
    expect(audit(s, w.org, 'registration.updated')).toHaveLength(0);

    // Input is kept on error.
    const kept = await c.post(url, { ...good, name: 'Evelyn', diet: 'carnivore', _keep_sensitive: '1' });
    expect(kept.text).toContain('value="Evelyn"');

    // A valid edit from the masked form keeps the sensitive answer it never showed.
    const ok = await c.post(url, { ...good, name: `Evelyn ${PERSON_SURNAME}`, diet: 'vegetarian', _keep_sensitive: '1' });
    expect(ok.status).toBe(303);
    const after = current(s, w, reg.id);
    expect(after.name).toBe(`Evelyn ${PERSON_SURNAME}`);
    expect(JSON.parse(after.answers)).toEqual({ diet: 'vegetarian', newsletter: false, health: 'SECRET-KEEP' });
    expect(audit(s, w.org, 'registration.updated')).toHaveLength(1);
    expect((await c.follow(ok.location!)).text).toContain('Changes saved.');

    // From the revealed form the sensitive field is edited like any other (and can be cleared).
    const cleared = await c.post(url, { ...good, name: after.name, diet: 'vegetarian', _revealed: '1' });
    expect(cleared.status).toBe(303);
    expect(JSON.parse(current(s, w, reg.id).answers)).toEqual({ diet: 'vegetarian', newsletter: false });

    // Viewers and check-in staff cannot edit.
    for (const role of ['viewer', 'checkin'] as const) {
      const other = await signedInClient(s, w.users[role]);
      expect((await other.post(url, { ...good, name: 'Hacked' })).status).toBe(403);
    }
    expect(current(s, w, reg.id).name).toBe(after.name);
  });

  it('cancels and resends from the detail page', async () => {
    const w = await world(s, { capacity: 1, waitlist_enabled: true });
    const first = await register(s, w.event, { email: email('seat'), name: `Seat ${PERSON_SURNAME}` });
    const second = await register(s, w.event, { email: email('wait'), name: `Wait ${PERSON_SURNAME}` });
    expect(second.status).toBe('waitlisted');
    const c = await signedInClient(s, w.users.organizer);
    const outbox = () => s.ctx.mailer.devOutbox(5000);
    const mailsTo = (to: string) => outbox().filter((m) => m.to_address === to).length;

    const before = mailsTo(first.email);
    const resent = await c.post(`${w.base}/attendees/${first.id}/resend`);
    expect(resent.status).toBe(303);
    expect(mailsTo(first.email)).toBe(before + 1);
    expect(audit(s, w.org, 'attendee.email_resent')).toHaveLength(1);

    const cancelled = await c.post(`${w.base}/attendees/${first.id}/cancel`);
    expect(cancelled.status).toBe(303);
    expect(current(s, w, first.id).status).toBe('cancelled');
    // The freed seat went to the waiting list.
    expect(current(s, w, second.id).status).toBe('confirmed');
    const again = await c.post(`${w.base}/attendees/${first.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.text).toContain('already cancelled');
  });

  it('enforces roles and tenants: viewer and check-in staff are refused, scoped organizers and other organizations get 404', async () => {
    const a = await world(s, {}, 'a');
    const b = await world(s, {}, 'b');
    const regA = await register(s, a.event, { email: email('ra'), name: `Ra ${PERSON_SURNAME}`, diet: 'vegan' });
    const regB = await register(s, b.event, { email: email('rb', 'b'), name: `Rb ${PERSON_SURNAME}` });
    const otherEventA = createEvent(s, a.org);
    const regOtherA = await register(s, otherEventA, { email: email('ro'), name: `Ro ${PERSON_SURNAME}` });

    const viewer = await signedInClient(s, a.users.viewer);
    for (const path of ['/attendees', `/attendees/${regA.id}`, '/attendees/export.csv', '/attendees/export.json', '/attendees/message', '/checkin', '/checkin/counts']) {
      expect((await viewer.get(`${a.base}${path}`)).status, path).toBe(403);
    }
    expect((await viewer.post(`${a.base}/checkin/lookup`, { q: 'x' })).status).toBe(403);
    expect((await viewer.post(`${a.base}/checkin`, { q: 'x' })).status).toBe(403);
    expect((await viewer.post(`${a.base}/checkin/${regA.id}`, {})).status).toBe(403);

    const desk = await signedInClient(s, a.users.checkin);
    for (const path of ['/attendees', `/attendees/${regA.id}`, '/attendees/export.csv', '/attendees/message']) {
      expect((await desk.get(`${a.base}${path}`)).status, path).toBe(403);
    }
    const page = await desk.post(`${a.base}/checkin`, { q: regA.attendee_code });
    expect(page.status).toBe(200);
    expect(page.text).toContain(regA.name);
    expect(page.text).toContain(regA.attendee_code);
    // Name, code and status only: no email, no answers, no link to the attendee's record.
    expect(page.text).not.toContain(regA.email);
    expect(page.text).not.toContain('vegan');
    expect(page.text).not.toContain(`/attendees`);
    const lookup = await desk.post(`${a.base}/checkin/lookup`, { q: 'Ra' });
    expect(lookup.text).toContain(regA.name);
    expect(lookup.text).not.toContain(regA.email);
    expect((await desk.post(`${a.base}/checkin/${regA.id}`, { q: regA.attendee_code })).status).toBe(303);
    expect(current(s, a, regA.id).checked_in_at).not.toBeNull();
    expect(current(s, a, regA.id).checked_in_by).toBe(a.users.checkin.id);

    // An organizer limited to another event sees this one as non-existent.
    const scopedUser = (await createUser(s, { email: email('scoped') })).user;
    orgsRepo(s.ctx.db).insertMembership({ org_id: a.org.id, user_id: scopedUser.id, role: 'organizer', event_scope: JSON.stringify([otherEventA.id]), created_at: new Date().toISOString() });
    const scoped = await signedInClient(s, scopedUser);
    for (const path of ['/attendees', `/attendees/${regA.id}`, '/attendees/export.csv', '/checkin', '/attendees/message']) {
      const r = await scoped.get(`${a.base}${path}`);
      expect(r.status, path).toBe(404);
      expect(r.text, path).not.toContain(regA.name);
    }
    expect((await scoped.post(`${a.base}/checkin/${regA.id}/undo`, {})).status).toBe(404);
    expect(current(s, a, regA.id).checked_in_at).not.toBeNull();
    expect((await scoped.get(`/orgs/${a.org.slug}/events/${otherEventA.id}/attendees`)).status).toBe(200);

    // Another organization's event or registration ids: 404, whatever the URL's organization.
    const ownerB = await signedInClient(s, b.users.owner);
    expect((await ownerB.get(`${a.base}/attendees`)).status).toBe(404);
    expect((await ownerB.get(`/orgs/${b.org.slug}/events/${a.event.id}/attendees`)).status).toBe(404);
    expect((await ownerB.get(`/orgs/${b.org.slug}/events/${a.event.id}/checkin`)).status).toBe(404);
    expect((await ownerB.get(`/orgs/${b.org.slug}/events/${a.event.id}/attendees/export.csv`)).status).toBe(404);
    expect((await ownerB.get(`${b.base}/attendees/${regA.id}`)).status).toBe(404);
    expect((await ownerB.post(`${b.base}/checkin/${regA.id}`, {})).status).toBe(404);
    expect((await ownerB.post(`${b.base}/attendees/${regA.id}/cancel`, {})).status).toBe(404);
    expect(current(s, a, regA.id).status).toBe('confirmed');
    expect((await ownerB.get(`${b.base}/attendees/${regB.id}`)).status).toBe(200);
    // Same organization, registration of a different event: 404 too.
    const ownerA = await signedInClient(s, a.users.owner);
    expect((await ownerA.get(`${a.base}/attendees/${regOtherA.id}`)).status).toBe(404);
    expect((await ownerA.post(`${a.base}/checkin/${regOtherA.id}`, {})).status).toBe(404);
    expect(s.ctx.registrations.get(otherEventA, regOtherA.id)!.checked_in_at).toBeNull();
  });

  it('checks in by code, ticket or name; refuses doubles, waitlisted and cancelled; undoes', async () => {
    const w = await world(s, { capacity: 2, waitlist_enabled: true });
    const ann = await register(s, w.event, { email: email('ann'), name: `Ann ${PERSON_SURNAME}` });
    const bob = await register(s, w.event, { email: email('bob'), name: `Bob ${PERSON_SURNAME}` });
    const cid = await register(s, w.event, { email: email('cid'), name: `Cid ${PERSON_SURNAME}` });
    expect(cid.status).toBe('waitlisted');
    const c = await signedInClient(s, w.users.checkin);
    const desk = `${w.base}/checkin`;

    const page = await c.get(desk);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<script src="\/static\/checkin\.[0-9a-f]{10}\.js" defer=""><\/script>/);
    expect(page.text).toContain('hx-trigger="every 10s"');
    expect(page.text).toMatch(/id="checkin-camera"[^>]*hidden/);

    // The code as a person types it: lower case, with a space.
    // Lookups POST (htmx and the no-JS form alike): a typed name never lands in an address.
    expect(page.text).toMatch(/<form id="checkin-search" method="post" action="[^"]+\/checkin" hx-post="[^"]+\/checkin\/lookup"/);
    const lookup = (q: string) => c.post(`${desk}/lookup`, { q });
    const byCode = await lookup(`${ann.attendee_code.slice(0, 4).toLowerCase()} ${ann.attendee_code.slice(4)}`);
    expect(byCode.status).toBe(200);
    expect(byCode.text).not.toContain('<html');
    expect(byCode.text).toContain(ann.name);
    expect(byCode.text).not.toContain(bob.name);
    // What a keyboard-wedge scanner types: the ticket QR's content.
    const ticket = s.ctx.links.link(bob, 'ticket');
    const byTicket = await lookup(ticket);
    expect(byTicket.text).toContain(bob.name);
    expect(byTicket.text).not.toContain(ann.name);
    // A forged ticket matches nobody.
    expect((await lookup(`${bob.id}.${'A'.repeat(32)}`)).text).toContain('No registration matches');
    const byName = await lookup(PERSON_SURNAME);
    // The no-JS search answers the whole page.
    const noJs = await c.post(desk, { q: PERSON_SURNAME });
    expect(noJs.text).toContain('<html');
    expect(noJs.text).toContain(ann.name);
    // The old GET lookup with a query is gone.
    expect((await c.get(`${desk}/lookup?q=${PERSON_SURNAME}`)).status).toBe(404);
    expect(byName.text).toContain(ann.name);
    expect(byName.text).toContain(cid.name);

    const counts = async () => (await c.get(`${desk}/counts`)).text;
    expect(await counts()).toContain('<strong data-testid="checked-in">0</strong> checked in of <strong>2</strong> confirmed');

    const inAnn = await c.post(`${desk}/${ann.id}`, { q: ann.attendee_code });
    expect(inAnn.status).toBe(303);
    expect(inAnn.location).toContain(`reg=${ann.id}`);
    expect(inAnn.location).not.toContain('q=');
    expect(current(s, w, ann.id).checked_in_at).not.toBeNull();
    expect((await c.follow(inAnn.location!)).text).toContain('Checked in.');
    expect(await counts()).toContain('<strong data-testid="checked-in">1</strong> checked in');

    const double = await c.post(`${desk}/${ann.id}`, { q: ann.attendee_code });
    expect(double.status).toBe(409);
    expect(double.text).toMatch(/Already checked in at \d\d:\d\d UTC by Test [^.]+\./);

    // htmx gets just the card back, with the message in it.
    const hx = await c.post(`${desk}/${bob.id}`, { q: 'x' }, { 'HX-Request': 'true' });
    expect(hx.status).toBe(200);
    expect(hx.text).not.toContain('<html');
    expect(hx.text).toContain(`id="reg-${bob.id}"`);
    expect(hx.text).toContain(`Checked in: ${bob.name}.`);
    expect(hx.text).toContain('Undo check-in');
    const hxDouble = await c.post(`${desk}/${bob.id}`, { q: 'x' }, { 'HX-Request': 'true' });
    expect(hxDouble.status).toBe(409);
    expect(hxDouble.text).toContain('Already checked in');

    const waitlisted = await c.post(`${desk}/${cid.id}`, {});
    expect(waitlisted.status).toBe(409);
    expect(waitlisted.text).toContain('This registration is waitlisted, not confirmed: it cannot be checked in.');
    expect(current(s, w, cid.id).checked_in_at).toBeNull();

    const undo = await c.post(`${desk}/${ann.id}/undo`, { q: ann.attendee_code });
    expect(undo.status).toBe(303);
    expect(current(s, w, ann.id).checked_in_at).toBeNull();
    const undoAgain = await c.post(`${desk}/${ann.id}/undo`, {});
    expect(undoAgain.status).toBe(409);
    expect(undoAgain.text).toContain('This attendee is not checked in.');

    s.ctx.registrations.cancel(w.event, current(s, w, ann.id), sys, 'organizer');
    const cancelled = await c.post(`${desk}/${ann.id}`, {});
    expect(cancelled.status).toBe(409);
    expect(cancelled.text).toContain('This registration is cancelled, not confirmed');
    expect(current(s, w, ann.id).checked_in_at).toBeNull();

    const actions = s.ctx.audit.recentForOrg(w.org.id, 100).map((r) => r.action);
    expect(actions.filter((a) => a === 'checkin.done')).toHaveLength(2);
    expect(actions.filter((a) => a === 'checkin.undone')).toHaveLength(1);
  });
});

describe('bulk messages', () => {
  let s: TestServer;
  let sink: SmtpSink;
  withSmtpServer((server, mailSink) => {
    s = server;
    sink = mailSink;
  });

  it('reaches the filtered attendees only, through the outbox, and at most once a minute per event', async () => {
    const w = await world(s);
    const regs = await registerMany(s, w.event, 9);
    // Regs 3, 6 and 9 are vegan; 3 is cancelled and so is left out.
    s.ctx.registrations.cancel(w.event, regs[2]!, sys, 'organizer');
    const c = await signedInClient(s, w.users.organizer);
    const url = `${w.base}/attendees/message`;

    const preview = await c.get(`${url}?answer=diet:vegan`);
    expect(preview.status).toBe(200);
    expect(preview.text).toMatch(/Recipients: <strong>2<\/strong> attendees \(answer diet = vegan\)/);

    const subject = `Menu ${tag()}`;
    const sent = await c.post(url, { subject, body: 'The vegan menu is ready.\nSee you soon.', q: '', status: '', checked: '', answer: 'diet:vegan' });
    expect(sent.status).toBe(303);
    expect(sent.location).toContain('done=messaged&n=2');
    expect((await c.follow(sent.location!)).text).toContain('Message queued for 2 attendees.');

    const expected = [regs[5]!.email, regs[8]!.email].sort();
    await sink.waitFor((m) => m.subject.includes(subject) && m.to.includes(expected[0]!));
    await sink.waitFor((m) => m.subject.includes(subject) && m.to.includes(expected[1]!));
    // No third message can still be on its way once the org's outbox has nothing left to send:
    // the outbox marks a row sent only after the SMTP server accepted it.
    const unsent = s.ctx.db.prepare(`SELECT count(*) FROM mail_outbox WHERE org_id = ? AND status IN ('queued', 'sending')`).pluck();
    await waitFor(() => unsent.get(w.org.id) === 0, { what: 'the bulk message outbox to drain' });
    const got = sink.messages.filter((m) => m.subject.includes(subject));
    expect(got.flatMap((m) => m.to).sort()).toEqual(expected);
    expect(got[0]!.subject).toBe(`${w.event.title}: ${subject}`);
    expect(got[0]!.text).toContain('The vegan menu is ready.');

    // A second message within the minute is refused, and nothing is queued.
    const queued = s.ctx.mailer.devOutbox(5000).length;
    const again = await c.post(url, { subject: `${subject} again`, body: 'Twice?', status: 'confirmed' });
    expect(again.status).toBe(429);
    expect(again.text).toMatch(/A message was already sent to this event(?:'|&#39;)s attendees in the last minute\. Wait \d+ seconds/);
    expect(again.text).toContain(`${subject} again`);
    expect(s.ctx.mailer.devOutbox(5000).length).toBe(queued);
    const messaged = audit(s, w.org, 'attendee.messaged');
    expect(messaged).toHaveLength(1);
    expect(JSON.parse(messaged[0]!.details)).toMatchObject({ recipients: 2 });

    // Bad input: errors next to the fields; a check-in user cannot message at all.
    const bad = await c.post(url, { subject: '', body: 'x\u0000y' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Enter a subject.');
    expect(bad.text).toContain('Contains characters that are not allowed.');
    const desk = await signedInClient(s, w.users.checkin);
    expect((await desk.post(url, { subject: 'x', body: 'y' })).status).toBe(403);
  });
});

describe('check-in page in a phone browser', () => {
  let s: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    s = await startTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  it('finds a ticket typed like a scanner and checks the attendee in at 375 px, with htmx and no page problems', async () => {
    const w = await world(s);
    const deskPassword = (await createUser(s, { email: email('probe') })).password;
    const reg = await register(s, w.event, { email: email('phone'), name: `Phoebe ${PERSON_SURNAME}` });
    const page = await newPage(browser, s.url);
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(`/login?next=${encodeURIComponent(`${w.base}/checkin`)}`);
    await page.getByLabel('Email address').fill(w.users.checkin.email);
    await page.getByLabel('Password').fill(deskPassword);
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith(`${w.base}/checkin`)), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(res?.status()).toBe(200);
    await page.waitForLoadState('load');
    // Nothing on the check-in page is wider than the phone (the shared site header is not this page's).
    const overflowing = () => page.evaluate(() => [...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth).map((e) => e.outerHTML.slice(0, 80)));
    // Headless Chromium on Linux has no BarcodeDetector: the camera button stays hidden.
    expect(await page.locator('#checkin-camera').isHidden()).toBe(true);
    expect(await overflowing()).toEqual([]);

    // A keyboard-wedge scanner types the ticket, then Enter.
    const search = page.getByLabel('Attendee code, ticket or name');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('checkin-q');
    await page.keyboard.type(s.ctx.links.link(reg, 'ticket'));
    await page.keyboard.press('Enter');
    await page.getByText(reg.name).waitFor();
    expect(page.url()).toContain('/checkin');
    await page.getByRole('button', { name: 'Check in' }).click();
    await page.getByText(`Checked in: ${reg.name}.`).waitFor();
    // The counts follow at once (out-of-band). The deadline is past the 10 s poll on purpose: a
    // poll sent just before the check-in can answer after it with the old count (no hx-sync
    // between the two yet), and the next poll corrects it; on a busy machine that window widens.
    await expect.poll(() => page.getByTestId('checked-in').textContent()).toBe('1');
    expect(s.ctx.registrations.get(w.event, reg.id)!.checked_in_at).not.toBeNull();
    // Ready for the next scan.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('checkin-q');
    expect(await search.inputValue()).toBe(s.ctx.links.link(reg, 'ticket'));
    // The 10 s counts poll must not pull focus away from whatever the person is doing.
    await page.getByRole('button', { name: 'Undo check-in' }).focus();
    await page.evaluate(async (url) => {
      const htmx = Reflect.get(window, 'htmx') as { ajax: (verb: string, path: string, o: object) => Promise<void> };
      await htmx.ajax('GET', url, { source: '#checkin-counts', target: '#checkin-counts', swap: 'innerHTML' });
    }, `${w.base}/checkin/counts`);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Undo check-in');
    expect(await overflowing()).toEqual([]);
    await screenshot(page, 'checkin-phone-375');
    await checkA11y(page, 'check-in page');
    expect(pageProblems(page)).toEqual([]);
  });

  it('filters and pages the attendee list through htmx, pushing the URL, with the sensitive column masked', async () => {
    const w = await world(s);
    await registerMany(s, w.event, 60);
    const password = (await createUser(s, { email: email('pw') })).password;
    const page = await newPage(browser, s.url);
    await page.goto(`/login?next=${encodeURIComponent(`${w.base}/attendees`)}`);
    await page.getByLabel('Email address').fill(w.users.organizer.email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`**${w.base}/attendees`);
    await expect.poll(() => page.getByTestId('result-summary').textContent()).toContain('Showing 1–50 of 60');
    await page.evaluate(() => Reflect.set(window, '__sameDocument', true));

    await page.getByRole('link', { name: 'Next →' }).click();
    await expect.poll(() => page.getByTestId('result-summary').textContent()).toContain('Showing 51–60 of 60');
    expect(page.url()).toContain('page=2');

    await page.getByLabel('Answer').selectOption('diet:vegan');
    await expect.poll(() => page.getByTestId('result-summary').textContent()).toContain('of 20 matching');
    expect(page.url()).toContain('answer=diet%3Avegan');
    await page.getByLabel('Search').fill('Person 003');
    await expect.poll(() => page.getByTestId('result-summary').textContent()).toContain('Showing 1–1 of 1');
    // The search went in a POST body: the address keeps the filter but not the name typed.
    expect(page.url()).toContain('answer=diet%3Avegan');
    expect(page.url()).not.toContain('Person');
    // All of that happened in the same document: htmx swapped the results only.
    expect(await page.evaluate(() => Reflect.get(window, '__sameDocument'))).toBe(true);
    expect(await page.content()).not.toContain('SECRET-HEALTH');
    await screenshot(page, 'attendees-list-filtered');
    await checkA11y(page, 'attendee list');
    expect(pageProblems(page)).toEqual([]);
  });
});

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../src/events/repo.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import { ledgerFilePath } from '../src/privacy/ledger.ts';
import type { RegistrationRow } from '../src/registrations/repo.ts';
import { createEvent } from './support/events.ts';
import { createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { findTraces } from './support/privacy.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const tag = () => randomBytes(3).toString('hex');
// Registered from a browser: the audit row of the registration keeps network and agent, never the person.
const attendeeCtx = { actor: { type: 'system' as const }, ip: '203.0.113.7', userAgent: 'TestBrowser/1.0' };

interface Person {
  email: string;
  name: string;
  phone: string;
  health: string;
}
const person = (who: string, tenant: 'a' | 'b' = 'a'): Person => {
  const t = tag();
  return { email: testEmail(`${who}-${t}`, tenant), name: `${who} ${PERSON_SURNAME} ${t}`, phone: `+4179${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`, health: `SECRET-HEALTH-${t}` };
};

function eventWithForm(s: TestServer, org: OrgRow): EventRow {
  const ev = createEvent(s, org, { publish: false });
  const base = { help: '', required: false, options: [] as string[], personal: true, sensitive: false, purpose: 'Running the event', consent_text: '' };
  for (const f of [
    { ...base, key: 'phone', type: 'phone' as const, label: 'Phone' },
    { ...base, key: 'health', type: 'long_text' as const, label: 'Health notes', sensitive: true, purpose: 'First aid' },
    { ...base, key: 'diet', type: 'single_select' as const, label: 'Diet', options: ['vegan', 'none'] },
  ]) {
    const r = s.ctx.events.addField(ev, f, { actor: { type: 'system' } });
    if (!r.ok) throw new Error(r.message);
  }
  s.ctx.events.setStatus(org, ev, 'published', { actor: { type: 'system' } });
  return s.ctx.events.get(org, ev.id)!;
}

async function register(s: TestServer, e: EventRow, p: Person): Promise<RegistrationRow> {
  const r = await s.ctx.registrations.register(e, { email: p.email, name: p.name, phone: p.phone, health: p.health, diet: 'vegan' }, attendeeCtx);
  if (!r.ok) throw new Error(r.message);
  return r.reg;
}

const needles = (p: Person) => [p.email, p.name, p.phone, p.health];
const counts = (s: TestServer, e: EventRow) => s.ctx.db.prepare('SELECT status, count(*) AS n, sum(checked_in_at IS NOT NULL) AS checked FROM registrations WHERE event_id = ? GROUP BY status ORDER BY status').all(e.id);

describe('erasing a person', () => {
  let s: TestServer;
  let org: OrgRow;
  let otherOrg: OrgRow;
  let ev1: EventRow;
  let ev2: EventRow;
  let otherEv: EventRow;
  const x = person('erase-me');
  const y = person('keep-me');

  beforeAll(async () => {
    s = await startTestServer();
    const owner = (await createUser(s, { email: testEmail(`owner-${tag()}`, 'a') })).user;
    org = createOrg(s, owner, uniqueSlug('er'));
    otherOrg = createOrg(s, owner, uniqueSlug('er-b'));
    ev1 = eventWithForm(s, org);
    ev2 = eventWithForm(s, org);
    otherEv = eventWithForm(s, otherOrg);
    const r1 = await register(s, ev1, x);
    await register(s, ev2, x);
    await register(s, ev1, y);
    await register(s, otherEv, x);
    await s.ctx.writer.settled();
    s.ctx.attendees.checkIn(ev1, r1.id, false, { actor: { type: 'system' } });
    // An SMS about the person (a reminder a provider would send); the outbox must lose it too.
    s.ctx.db.prepare(`INSERT INTO sms_outbox (id, user_id, purpose, to_number, body, status, next_attempt_at, created_at) VALUES (?, NULL, 'reminder', ?, 'See you tomorrow', 'queued', ?, ?)`)
      .run(randomBytes(8).toString('hex'), x.phone, new Date().toISOString(), new Date().toISOString());
  });
  afterAll(() => s?.close());

  it('before: the person is in registrations and the outboxes (the scan finds real traces)', () => {
    const hits = findTraces(s.ctx.db, needles(x));
    expect(hits.some((h) => h.startsWith('registrations.email'))).toBe(true);
    expect(hits.some((h) => h.startsWith('mail_outbox.to_address'))).toBe(true);
    expect(hits.some((h) => h.startsWith('sms_outbox.to_number'))).toBe(true);
  });

  it('removes every trace from every table of the org, keeps counts, and returns a receipt', () => {
    const before = [counts(s, ev1), counts(s, ev2)];
    const receipt = s.ctx.erasure.erasePerson({ orgId: org.id, email: ` ${x.email.toUpperCase()} `, reason: 'organizer-request', actor: { userId: null, ip: null } });
    expect(receipt.erasedRegistrations).toBe(2);
    expect(receipt.held).toEqual([]);
    expect(receipt.erased).toContain('name');
    expect(receipt.kept.join(' ')).toMatch(/statistics/);
    expect(receipt.backupsExpireBy).toBeNull(); // no backup target configured
    expect([counts(s, ev1), counts(s, ev2)]).toEqual(before);

    // The other organization's registration of the same address is another controller's: untouched.
    expect(findTraces(s.ctx.db, needles(x), (_t, row) => row.org_id === otherOrg.id)).toEqual([]);
    const left = s.ctx.db.prepare('SELECT org_id FROM registrations WHERE email = ?').all(x.email) as { org_id: string }[];
    expect(left.map((r) => r.org_id)).toEqual([otherOrg.id]);
    expect(s.ctx.db.prepare('SELECT count(*) AS n FROM sms_outbox WHERE to_number = ?').get(x.phone)).toEqual({ n: 0 });

    // Only non-personal facts stay, timestamps rounded to the day.
    const rows = s.ctx.db.prepare('SELECT * FROM registrations WHERE org_id = ? AND erased_at IS NOT NULL ORDER BY event_id').all(org.id) as (RegistrationRow & { erased_at: string })[];
    expect(rows).toHaveLength(2);
    for (const r of rows) {
      expect(r).toMatchObject({ email: '', name: '', answers: '{}', checked_in_by: null });
      expect(r.created_at).toMatch(/T00:00:00\.000Z$/);
      expect(r.attendee_code).toMatch(/^erased-/);
    }
    expect(rows.filter((r) => r.checked_in_at !== null).map((r) => r.checked_in_at)).toEqual([expect.stringMatching(/T00:00:00\.000Z$/)]);

    // The other attendee keeps everything.
    expect(findTraces(s.ctx.db, [y.email, y.health]).filter((h) => h.startsWith('registrations.'))).toHaveLength(2);
  });

  it('is audited with a pseudonym and writes the ledger (database and the file beside the keyring)', () => {
    const audit = s.ctx.audit.recentForOrg(org.id, 100).find((r) => r.action === 'privacy.person_erased')!;
    expect(audit.target_type).toBe('subject');
    expect(audit.target_id).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.parse(audit.details)).toMatchObject({ reason: 'organizer-request', registrations: 2, held: [] });
    const ledger = s.ctx.erasure.ledgerOf(org.id);
    expect(ledger).toHaveLength(2);
    expect(new Set(ledger.map((l) => JSON.parse(l.subjects)[0]))).toEqual(new Set([audit.target_id]));
    const file = ledgerFilePath(s.ctx.keyring.file);
    const raw = fs.readFileSync(file, 'utf8');
    expect(raw.trim().split('\n')).toHaveLength(2);
    // Sealed: neither ids nor the pseudonym are readable in the file.
    expect(raw).not.toContain(audit.target_id!);
    expect(raw).not.toContain(ev1.id);
  });

  it('audit rows never hold personal data: not of the erased person, nor of anyone registered', () => {
    const rows = s.ctx.db.prepare('SELECT * FROM audit_log').all() as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(10);
    const text = JSON.stringify(rows).toLowerCase();
    for (const n of [...needles(x), ...needles(y)]) expect(text).not.toContain(n.toLowerCase());
    // The registration audit rows are there, with the network and agent that acted.
    expect(rows.filter((r) => r.action === 'registration.created' && r.ip === '203.0.113.7').length).toBeGreaterThanOrEqual(4);
  });

  it('erasing again, or an unknown address, erases nothing and still answers with a receipt', () => {
    const again = s.ctx.erasure.erasePerson({ orgId: org.id, email: x.email, reason: 'attendee-request', actor: { userId: null, ip: '198.51.100.1' } });
    expect(again).toMatchObject({ erasedRegistrations: 0, erased: [], held: [] });
    expect(s.ctx.erasure.ledgerOf(org.id)).toHaveLength(2);
  });

  it('skips a registration on legal hold, lists it with its reason, and erases it once the hold is released', async () => {
    const z = person('held');
    const r1 = await register(s, ev1, z);
    const r2 = await register(s, ev2, z);
    await s.ctx.writer.settled();
    const until = new Date(s.ctx.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const hold = s.ctx.holds.place(org.id, r1.id, { reason: 'Payment dispute', until }, { actor: { type: 'user', id: 'staff-1' } });
    expect(hold.ok).toBe(true);
    const receipt = s.ctx.erasure.erasePerson({ orgId: org.id, email: z.email, reason: 'attendee-request', actor: { userId: null, ip: null } });
    expect(receipt.erasedRegistrations).toBe(1);
    expect(receipt.held).toEqual([{ registrationId: r1.id, eventTitle: ev1.title, reason: 'Payment dispute', until: Date.parse(`${until}T23:59:59.999Z`) }]);
    expect(receipt.kept.join('\n')).toContain('Payment dispute');
    expect((s.ctx.db.prepare('SELECT email FROM registrations WHERE id = ?').get(r1.id) as { email: string }).email).toBe(z.email);
    expect((s.ctx.db.prepare('SELECT email FROM registrations WHERE id = ?').get(r2.id) as { email: string }).email).toBe('');
    // The hold's reason is the organizer's text: kept with the hold, never in the audit row.
    const holdAudit = s.ctx.audit.recentForOrg(org.id, 50).find((r) => r.action === 'privacy.hold_placed')!;
    expect(holdAudit.details).not.toContain('Payment dispute');

    expect(s.ctx.holds.release(otherOrg.id, r1.id, hold.ok ? hold.hold.id : '', { actor: { type: 'user', id: 'staff-1' } })).toBe(false);
    expect(s.ctx.holds.release(org.id, r1.id, hold.ok ? hold.hold.id : '', { actor: { type: 'user', id: 'staff-1' } })).toBe(true);
    expect(s.ctx.erasure.erasePerson({ orgId: org.id, email: z.email, reason: 'attendee-request', actor: { userId: null, ip: null } }).erasedRegistrations).toBe(1);
    expect(findTraces(s.ctx.db, needles(z)).filter((h) => !h.startsWith('registration_holds.'))).toEqual([]);
  });

  it('refuses holds that are not holds: past end date, no reason, another tenant, erased already', async () => {
    const w = person('hold-rules');
    const r = await register(s, ev1, w);
    await s.ctx.writer.settled();
    const ctx = { actor: { type: 'user' as const, id: 'staff-1' } };
    expect(s.ctx.holds.place(org.id, r.id, { reason: 'Dispute', until: '2000-01-01' }, ctx)).toMatchObject({ ok: false, error: 'invalid' });
    expect(s.ctx.holds.place(otherOrg.id, r.id, { reason: 'Dispute', until: '2999-01-01' }, ctx)).toMatchObject({ ok: false, error: 'unknown' });
    s.ctx.erasure.erasePerson({ orgId: org.id, email: w.email, reason: 'organizer-request', actor: { userId: null, ip: null } });
    expect(s.ctx.holds.place(org.id, r.id, { reason: 'Dispute', until: new Date(s.ctx.now() + 86_400_000 * 3).toISOString().slice(0, 10) }, ctx)).toMatchObject({ ok: false, error: 'erased' });
  });
});

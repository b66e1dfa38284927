import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { databasePath, openDatabase } from '../src/db/open.ts';
import { Keyring, keyringPath } from '../src/keys/keyring.ts';
import { runCli } from './support/cli.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '../src/events/repo.ts';
import type { OrgRow } from '../src/orgs/repo.ts';
import type { RegistrationRow } from '../src/registrations/repo.ts';
import { PURGE_BATCH } from '../src/privacy/retention.ts';
import { createEvent } from './support/events.ts';
import { waitFor } from './support/wait.ts';
import { Clock, addMember, createOrg, createUser, uniqueSlug } from './support/identity.ts';
import { PERSON_SURNAME, testEmail } from './support/people.ts';
import { type TestServer, startTestServer } from './support/server.ts';

const DAY = 86_400_000;
const sys = { actor: { type: 'system' as const } };
const tag = () => randomBytes(3).toString('hex');

describe('retention with a moved clock: instance → organization → event → field, warning, hold', () => {
  const clock = new Clock();
  let s: TestServer;
  let org1: OrgRow;
  let org2: OrgRow;
  let ev1: EventRow; // org default 60 days, diet erased after 7
  let ev2: EventRow; // own setting 20 days
  let ev3: EventRow; // org2 without a default: the instance's 90 days
  let end: number;
  const regs = new Map<string, RegistrationRow[]>();
  let held: RegistrationRow;
  let owner1: string;
  let admin1: string;

  const row = (id: string) => s.ctx.db.prepare('SELECT * FROM registrations WHERE id = ?').get(id) as RegistrationRow;
  const warnings = (e: EventRow) => s.ctx.db.prepare(`SELECT to_address FROM mail_outbox WHERE template = 'retention.warning' AND org_id = ? AND instr(text_body, ?) > 0 ORDER BY to_address`).all(e.org_id, e.title).map((r) => (r as { to_address: string }).to_address);
  const at = (ms: number) => (clock.t = ms);
  const run = () => s.ctx.retention.run();

  beforeAll(async () => {
    s = await startTestServer({}, { now: clock.now });
    const owner = (await createUser(s, { email: testEmail(`ret-owner-${tag()}`) })).user;
    const admin = (await createUser(s, { email: testEmail(`ret-admin-${tag()}`) })).user;
    const organizer = (await createUser(s, { email: testEmail(`ret-org-${tag()}`) })).user;
    owner1 = owner.email;
    admin1 = admin.email;
    org1 = createOrg(s, owner, uniqueSlug('ret'));
    addMember(s, org1, admin, 'admin');
    addMember(s, org1, organizer, 'organizer');
    org2 = createOrg(s, owner, uniqueSlug('ret2'));
    expect(s.ctx.retention.setOrgDays(org1.id, 60, sys)).toEqual({ ok: true });
    ev1 = createEvent(s, org1, { title: `Retention One ${tag()}`, publish: false });
    const f = s.ctx.events.addField(ev1, { key: 'diet', type: 'short_text', label: 'Dietary needs', help: '', required: false, options: [], personal: true, sensitive: true, purpose: 'Catering', consent_text: '' }, sys);
    expect(f.ok).toBe(true);
    s.ctx.events.setStatus(org1, ev1, 'published', sys);
    expect(s.ctx.retention.setFieldDays(org1.id, ev1.id, 'diet', 7, sys)).toEqual({ ok: true });
    ev2 = createEvent(s, org1, { title: `Retention Two ${tag()}` });
    expect(s.ctx.retention.setEventDays(org1.id, ev2.id, 20, sys)).toEqual({ ok: true });
    ev3 = createEvent(s, org2, { title: `Retention Three ${tag()}` });
    end = Date.parse(ev1.ends_at);
    for (const e of [ev1, ev2, ev3]) {
      const list: RegistrationRow[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await s.ctx.registrations.register(s.ctx.events.get(e.org_id === org1.id ? org1 : org2, e.id)!, { email: testEmail(`ret-${i}-${tag()}`), name: `Person ${i} ${PERSON_SURNAME}`, ...(e.id === ev1.id ? { diet: `vegan-${i}` } : {}) }, sys);
        if (!r.ok) throw new Error(r.message);
        list.push(r.reg);
      }
      regs.set(e.id, list);
    }
    await s.ctx.writer.settled();
    held = regs.get(ev1.id)![0]!;
    const hold = s.ctx.holds.place(org1.id, held.id, { reason: 'Invoice dispute', until: new Date(end + 65 * DAY).toISOString().slice(0, 10) }, sys);
    expect(hold.ok).toBe(true);
  });
  afterAll(() => s?.close());

  it('the policy chain: instance default, org default, event setting, field override, all clamped to the instance range', () => {
    expect(s.ctx.retention.schedule(org2.id, ev3.id)).toMatchObject({ days: 90, from: 'instance' });
    expect(s.ctx.retention.schedule(org1.id, ev1.id)).toMatchObject({ days: 60, from: 'organization', fields: [{ key: 'diet', days: 7 }] });
    expect(s.ctx.retention.schedule(org1.id, ev2.id)).toMatchObject({ days: 20, from: 'event', eraseOn: new Date(end + 20 * DAY).toISOString().slice(0, 10) });
    // Out of range is refused at every level; the instance's own rule must hold together.
    expect(s.ctx.retention.setEventDays(org1.id, ev2.id, 5000, sys)).toMatchObject({ ok: false });
    expect(s.ctx.retention.setInstancePolicy({ defaultDays: 30, minDays: 40, maxDays: 20, warnDays: 7 }, sys)).toMatchObject({ ok: false });
    expect(s.ctx.retention.setInstancePolicy({ defaultDays: 90, minDays: 10, maxDays: 365, warnDays: 7 }, sys)).toEqual({ ok: true });
    expect(s.ctx.retention.setOrgDays(org1.id, 5, sys)).toMatchObject({ ok: false, message: expect.stringContaining('between 10 and 365') });
    // A field shorter than the instance minimum is erased at the minimum, never sooner.
    expect(s.ctx.retention.schedule(org1.id, ev1.id)).toMatchObject({ fields: [{ key: 'diet', days: 10 }] });
    expect(s.ctx.retention.setInstancePolicy({ defaultDays: 90, minDays: 0, maxDays: 3650, warnDays: 7 }, sys)).toEqual({ ok: true });
    // Another tenant's event is not found through this org.
    expect(s.ctx.retention.setEventDays(org2.id, ev2.id, 30, sys)).toMatchObject({ ok: false });
  });

  it('before the warning nothing is erased; owners and admins are warned once per event, not per run', async () => {
    at(end - 2 * DAY);
    expect((await run()).warned).toEqual([]);
    at(end + 60_000);
    const r = await run();
    expect(r).toMatchObject({ warned: [ev1.id], erased: 0 });
    expect(warnings(ev1)).toEqual([admin1, owner1].sort());
    expect(s.ctx.db.prepare(`SELECT text_body FROM mail_outbox WHERE template = 'retention.warning' LIMIT 1`).get()).toMatchObject({ text_body: expect.stringContaining(`/orgs/${org1.slug}/events/${ev1.id}/attendees`) });
    expect((await run()).warned).toEqual([]);
    expect(warnings(ev1)).toHaveLength(2);
    expect(warnings(ev2)).toEqual([]);
  });

  it('a field erased sooner: after 7 days only the diet answers go, the held registration keeps its own', async () => {
    at(end + 7 * DAY + 120_000);
    const r = await run();
    expect(r.actions).toEqual([expect.objectContaining({ eventId: ev1.id, fields: ['diet'], registrations: 4, held: 1 })]);
    for (const reg of regs.get(ev1.id)!) {
      const now = row(reg.id);
      expect(now.email).toBe(reg.email);
      expect(JSON.parse(now.answers).diet).toBe(reg.id === held.id ? 'vegan-0' : undefined);
    }
    expect(s.ctx.erasure.ledgerOf(org1.id).map((l) => JSON.parse(l.fields))).toEqual([['diet']]);
  });

  it('the event setting: warned when due within 7 days, and erased no sooner than 7 days after the warning', async () => {
    at(end + 14 * DAY);
    expect((await run()).warned).toEqual([ev2.id]);
    at(end + 20 * DAY + 60_000);
    expect((await run()).erased).toBe(0); // due by policy, but the warning was only 6 days ago
    expect(row(regs.get(ev2.id)![0]!.id).email).not.toBe('');
    at(end + 21 * DAY + 60_000);
    const counts = () => s.ctx.db.prepare('SELECT status, count(*) AS n FROM registrations WHERE event_id = ? GROUP BY status').all(ev2.id);
    const before = counts();
    expect((await run()).erased).toBe(5);
    expect(counts()).toEqual(before);
    for (const reg of regs.get(ev2.id)!) expect(row(reg.id)).toMatchObject({ email: '', name: '', answers: '{}', created_at: expect.stringMatching(/T00:00:00\.000Z$/) });
  });

  it('dry run prints what would go and changes nothing; the run then erases all but the held registration', async () => {
    at(end + 60 * DAY + 60_000);
    const dry = await s.ctx.retention.run({ dryRun: true });
    expect(dry.actions).toEqual([expect.objectContaining({ eventId: ev1.id, fields: ['*'], registrations: 4, held: 1 })]);
    expect(regs.get(ev1.id)!.every((reg) => row(reg.id).email === reg.email)).toBe(true);
    const r = await run();
    expect(r.erased).toBe(4);
    expect(row(held.id).email).toBe(held.email);
    const audit = s.ctx.audit.recentForOrg(org1.id, 100).filter((a) => a.action === 'privacy.retention_erased');
    expect(audit.length).toBeGreaterThanOrEqual(3);
    for (const a of audit) expect(a.details).not.toContain(PERSON_SURNAME);
  });

  it('the hold ends: the held registration goes on the next run; the instance default for the other org', async () => {
    at(end + 66 * DAY);
    expect((await run()).erased).toBe(1);
    expect(row(held.id)).toMatchObject({ email: '', answers: '{}' });
    at(end + 83 * DAY + 60_000);
    expect((await run()).warned).toEqual([ev3.id]);
    at(end + 90 * DAY + 120_000);
    expect((await run()).erased).toBe(5);
    expect(s.ctx.db.prepare(`SELECT count(*) AS n FROM registrations WHERE erased_at IS NULL`).get()).toEqual({ n: 0 });
  });
});

describe('tessera retention run', () => {
  it('--dry-run prints what it would do and changes nothing; a run warns first and erases nothing yet', async () => {
    const clock = new Clock();
    clock.t = Date.now() - 200 * DAY;
    const s = await startTestServer({}, { now: clock.now });
    const owner = (await createUser(s, { email: testEmail(`cli-owner-${tag()}`) })).user;
    const org = createOrg(s, owner, uniqueSlug('cli'));
    const ev = createEvent(s, org);
    const who = testEmail(`cli-att-${tag()}`);
    const r = await s.ctx.registrations.register(ev, { email: who, name: `Cli ${PERSON_SURNAME}` }, sys);
    expect(r.ok).toBe(true);
    await s.close();
    const args = ['--data-dir', s.dataDir, '--master-key-file', s.keyFile];
    const dry = await runCli(['retention', 'run', '--dry-run', ...args]);
    expect(dry.stderr).toBe('');
    expect(dry.stdout.trim()).toBe(`would warn owners and admins of event ${ev.id}: its data is erased in the coming days`);
    const run = await runCli(['retention', 'run', ...args]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`warned owners and admins of event ${ev.id}`);
    const again = await runCli(['retention', 'run', '--dry-run', ...args]);
    expect(again.stdout.trim()).toBe('nothing is due');
    const ring = Keyring.load(keyringPath(s.dataDir), Buffer.from(fs.readFileSync(s.keyFile, 'utf8').trim(), 'hex'));
    const db = openDatabase(databasePath(s.dataDir), { key: ring.active('db').key });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM registrations WHERE email = ?').get(who)).toEqual({ n: 1 });
      expect(db.prepare(`SELECT count(*) AS n FROM retention_warnings WHERE event_id = ?`).get(ev.id)).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  }, 180_000);
});

describe('a field purge longer than one transaction', () => {
  it('walks every registration once, in batches of PURGE_BATCH, skipping the held one in the middle', async () => {
    const clock = new Clock();
    const s = await startTestServer({}, { now: clock.now });
    try {
      const owner = (await createUser(s, { email: testEmail(`batch-owner-${tag()}`) })).user;
      const org = createOrg(s, owner, uniqueSlug('batch'));
      const ev = createEvent(s, org, { publish: false });
      expect(s.ctx.events.addField(ev, { key: 'diet', type: 'short_text', label: 'Dietary needs', help: '', required: false, options: [], personal: true, sensitive: true, purpose: 'Catering', consent_text: '' }, sys).ok).toBe(true);
      s.ctx.events.setStatus(org, ev, 'published', sys);
      expect(s.ctx.retention.setFieldDays(org.id, ev.id, 'diet', 7, sys)).toEqual({ ok: true });
      const n = 2 * PURGE_BATCH + 50;
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await s.ctx.registrations.register(s.ctx.events.get(org, ev.id)!, { email: testEmail(`batch-${i}-${tag()}`), name: `Batch ${i}`, diet: `diet-${i}` }, sys);
        if (!r.ok) throw new Error(r.message);
        ids.push(r.reg.id);
      }
      await s.ctx.writer.settled();
      const heldId = ids[PURGE_BATCH + 10]!;
      const end = Date.parse(ev.ends_at);
      expect(s.ctx.holds.place(org.id, heldId, { reason: 'Invoice dispute', until: new Date(end + 60 * DAY).toISOString().slice(0, 10) }, sys).ok).toBe(true);

      clock.t = end + DAY;
      expect((await s.ctx.retention.run()).warned).toEqual([ev.id]);
      clock.t = end + 8 * DAY;
      // As the server runs it: resting after each transaction for as long as it took.
      const rests: number[] = [];
      const erasedBefore: number[] = [];
      const ledgerRows = () => s.ctx.erasure.ledgerOf(org.id).length;
      const r = await s.ctx.retention.run({
        rest: async (ms) => {
          rests.push(ms);
          erasedBefore.push(ledgerRows());
        },
      });
      expect(r.actions).toEqual([expect.objectContaining({ eventId: ev.id, fields: ['diet'], registrations: n - 1, held: 1 })]);
      // Three transactions (one ledger entry each): 200, 200 and the rest.
      expect(s.ctx.erasure.ledgerOf(org.id).map((l) => (JSON.parse(l.registration_ids) as string[]).length).sort((a, b) => a - b)).toEqual([n - 1 - 2 * PURGE_BATCH, PURGE_BATCH, PURGE_BATCH]);
      // One rest after each transaction, each given that transaction's duration.
      expect(erasedBefore).toEqual([1, 2, 3]);
      expect(rests.every((ms) => ms > 0)).toBe(true);
      const left = s.ctx.db.prepare(`SELECT id FROM registrations WHERE org_id = ? AND json_type(answers, '$.diet') IS NOT NULL`).all(org.id) as { id: string }[];
      expect(left.map((x) => x.id)).toEqual([heldId]);
      // Names and addresses stay until the event's own date.
      expect(s.ctx.db.prepare(`SELECT count(*) AS n FROM registrations WHERE org_id = ? AND email <> ''`).get(org.id)).toEqual({ n });
    } finally {
      await s.close();
    }
  }, 120_000);
});

describe('retention runs by itself', () => {
  it('the server runs a pass at start: an event past its date is warned about without anyone asking', async () => {
    const clock = new Clock();
    clock.t = Date.now() - 200 * DAY;
    const first = await startTestServer({}, { now: clock.now });
    const owner = (await createUser(first, { email: testEmail(`start-owner-${tag()}`) })).user;
    const org = createOrg(first, owner, uniqueSlug('start'));
    const ev = createEvent(first, org);
    expect((await first.ctx.registrations.register(ev, { email: testEmail(`start-att-${tag()}`), name: `Start ${PERSON_SURNAME}` }, sys)).ok).toBe(true);
    await first.close();

    // 200 days later, the same data directory: the start pass finds the event due.
    const s = await startTestServer({}, { dir: first.dir });
    try {
      const warned = await waitFor(() => s.ctx.db.prepare('SELECT sent_at FROM retention_warnings WHERE event_id = ?').get(ev.id), { what: 'the start pass to warn' });
      expect(warned).toBeDefined();
      expect(s.ctx.db.prepare(`SELECT count(*) AS n FROM mail_outbox WHERE template = 'retention.warning' AND to_address = ?`).get(owner.email)).toEqual({ n: 1 });
    } finally {
      await s.close();
    }
  }, 120_000);
});

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AccessLogWriter } from '../src/audit/access-log.ts';
import { systemContext } from '../src/audit/service.ts';
import { openInstance } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config/config.ts';
import type { EventRow } from '../src/events/repo.ts';
import { Metrics } from '../src/http/metrics.ts';
import { createLogger } from '../src/log.ts';
import { type RegistrationRow, seatCountersRepo } from '../src/registrations/repo.ts';
import { buildContext } from '../src/services.ts';
import { runCli } from './support/cli.ts';
import { testEmail } from './support/people.ts';
import { tempDir, writeKeyFile } from './support/temp.ts';

/** A small deterministic generator, so a failing sequence can be replayed from its seed. */
function xorshift(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

async function instance() {
  const dir = tempDir();
  const { file } = writeKeyFile(dir);
  const cfg = loadConfig({ dataDir: path.join(dir, 'data'), masterKeyFile: file }, {});
  const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: {} });
  const ctx = buildContext(
    { cfg, db: opened.db, keyring: opened.keyring, audit: opened.audit, log: createLogger('silent'), metrics: new Metrics(() => 0), accessLog: new AccessLogWriter(cfg.dataDir), now: Date.now },
    () => 'http://127.0.0.1',
  );
  const ownerId = opened.db.transaction(() => ctx.auth.insertUser({ email: testEmail('seat-owner'), name: 'Owner', hash: 'x', instanceRole: 'owner', verified: true })).immediate();
  const org = ctx.orgs.createOrg(ctx.auth.user(ownerId)!, { name: 'Seat Org', slug: 'seat-org' }, systemContext());
  if (!org.ok) throw new Error(org.message);
  const event = (slug: string, capacity: number, doubleOptIn: boolean): EventRow => {
    const start = new Date(Date.now() + 30 * 86_400_000);
    const created = ctx.events.create(
      org.org,
      {
        slug,
        title: `Seats ${slug}`,
        description_md: '',
        starts_at: start.toISOString(),
        ends_at: new Date(start.getTime() + 3600_000).toISOString(),
        timezone: 'UTC',
        venue: 'Hall',
        online_url: '',
        capacity,
        registration_opens_at: null,
        registration_closes_at: null,
        waitlist_enabled: true,
        duplicate_policy: 'allow',
        double_opt_in: doubleOptIn,
        organizer_contact: 'events@example.invalid',
        privacy_notice: 'Notice',
        controller_contact: 'Seat Org',
        access_mode: 'public',
      },
      systemContext(),
    );
    if (!created.ok) throw new Error(created.message);
    ctx.events.setStatus(org.org, created.event, 'published', systemContext());
    return ctx.events.eventById(org.org.id, created.event.id) ?? created.event;
  };
  return { dir, file, opened, ctx, event };
}

describe('event seat counters', () => {
  it('match a recount after hundreds of random registrations, confirmations, cancellations, promotions and deletions', async () => {
    const { opened, ctx, event } = await instance();
    const db = opened.db;
    const events = [event('plain', 7, false), event('opt-in', 4, true)];
    const rnd = xorshift(20261207);
    const regs = (e: EventRow) => db.prepare('SELECT * FROM registrations WHERE org_id = ? AND event_id = ?').all(e.org_id, e.id) as RegistrationRow[];
    const recount = (e: EventRow) => {
      const rows = regs(e);
      const n = (s: string) => rows.filter((r) => r.status === s).length;
      return { confirmed: n('confirmed'), waitlisted: n('waitlisted'), pending: n('pending') };
    };
    const stored = (e: EventRow) => db.prepare('SELECT confirmed, waitlisted, pending FROM event_seats WHERE org_id = ? AND event_id = ?').get(e.org_id, e.id) ?? { confirmed: 0, waitlisted: 0, pending: 0 };
    let kinds = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const e = events[rnd(events.length)] as EventRow;
      const rows = regs(e);
      const pick = (s: RegistrationRow['status'][]) => {
        const c = rows.filter((r) => s.includes(r.status));
        return c.length ? c[rnd(c.length)] : undefined;
      };
      const op = rnd(10);
      if (op < 5) {
        const r = await ctx.registrations.register(e, { email: testEmail(`seat-${i}`), name: `Person ${i}` }, systemContext());
        expect(r.ok).toBe(true);
        kinds.add('register');
      } else if (op < 7) {
        const r = pick(['pending']);
        if (r) kinds.add(`confirm:${ctx.registrations.confirm(e, r, systemContext()).ok}`);
      } else if (op < 9) {
        const r = pick(['confirmed', 'waitlisted', 'pending']);
        if (r && ctx.registrations.cancel(e, r, systemContext(), 'organizer').ok) kinds.add(`cancel:${r.status}`);
      } else {
        const r = pick(['confirmed', 'waitlisted', 'pending', 'cancelled']);
        if (r) {
          db.prepare('DELETE FROM registrations WHERE org_id = ? AND id = ?').run(e.org_id, r.id);
          kinds.add('delete');
        }
      }
      for (const ev of events) expect(stored(ev)).toEqual(recount(ev));
    }
    // The sequence reached every path, including a promotion from the waiting list.
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['cancel:confirmed', 'cancel:pending', 'cancel:waitlisted', 'confirm:true', 'delete', 'register']));
    expect((db.prepare(`SELECT count(*) AS n FROM audit_log WHERE action = 'registration.promoted'`).get() as { n: number }).n).toBeGreaterThan(0);
    // Capacity held throughout: never more confirmed than seats.
    for (const ev of events) expect(recount(ev).confirmed).toBeLessThanOrEqual(ev.capacity ?? 0);
    expect(seatCountersRepo(db).drift()).toEqual([]);
    kinds = new Set();
    db.close();
  });

  it('the public page and the capacity check read the counter: a drifted counter is what they obey, and doctor repairs it', async () => {
    const { dir, file, opened, ctx, event } = await instance();
    const db = opened.db;
    const e = event('drift', 3, false);
    for (let i = 0; i < 2; i++) expect((await ctx.registrations.register(e, { email: testEmail(`d-${i}`), name: `D ${i}` }, systemContext())).ok).toBe(true);
    expect(ctx.registrations.seatsLeft(e)).toBe(1);
    // Simulate drift (a hand edit): the counter claims the event is full.
    db.prepare('UPDATE event_seats SET confirmed = 3 WHERE org_id = ? AND event_id = ?').run(e.org_id, e.id);
    expect(ctx.registrations.seatsLeft(e)).toBe(0);
    const r = await ctx.registrations.register(e, { email: testEmail('d-x'), name: 'D x' }, systemContext());
    expect(r.ok && r.reg.status).toBe('waitlisted');
    expect(seatCountersRepo(db).drift()).toHaveLength(1);
    db.close();

    const out = await runCli(['doctor', '--data-dir', path.join(dir, 'data'), '--master-key-file', file]);
    expect(out.stdout).toMatch(/WARN seat counters: 1 event\(s\) drifted from a recount and were repaired \(e\.g\. event \S+: confirmed 3 → 2\)/);
    const again = await openInstance(loadConfig({ dataDir: path.join(dir, 'data'), masterKeyFile: file }, {}), { allowCreate: false, migrate: false, env: {} });
    expect(seatCountersRepo(again.db).drift()).toEqual([]);
    const second = await runCli(['doctor', '--data-dir', path.join(dir, 'data'), '--master-key-file', file]);
    expect(second.stdout).toContain('OK   seat counters: every event matches a recount');
    again.db.close();
  });
});

/**
 * Data dir for the purge benchmark: an organization with a registration event far in the future
 * (the load target) and a past event holding N registrations with personal data (the purge).
 * Retention is the instance default (90 days), so nothing is due at real time: the server child
 * (purge-server.ts) moves its clock forward when told to purge.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { systemContext } from '../../src/audit/service.ts';
import { AccessLogWriter } from '../../src/audit/access-log.ts';
import { openInstance } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { EventInput } from '../../src/events/service.ts';
import { Metrics } from '../../src/http/metrics.ts';
import { createLogger } from '../../src/log.ts';
import { buildContext } from '../../src/services.ts';

const [dataDir, keyFile, countArg] = process.argv.slice(2);
if (!dataDir || !keyFile || !countArg) throw new Error('usage: seed.ts <data-dir> <master-key-file> <registrations>');
const count = Number(countArg);
const cfg = loadConfig({ dataDir, masterKeyFile: keyFile }, {});
const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: {} });
const ctx = buildContext(
  { cfg, db: opened.db, keyring: opened.keyring, audit: opened.audit, log: createLogger('warn'), metrics: new Metrics(() => 0), accessLog: new AccessLogWriter(cfg.dataDir), now: Date.now },
  () => 'http://127.0.0.1',
);
const ownerId = opened.db.transaction(() => ctx.auth.insertUser({ email: 'bench-owner@example.invalid', name: 'Bench Owner', hash: 'x', instanceRole: 'owner', verified: true })).immediate();
const org = ctx.orgs.createOrg(ctx.auth.user(ownerId)!, { name: 'Bench Org', slug: 'bench-org' }, systemContext());
if (!org.ok) throw new Error(org.message);
const DAY = 86_400_000;
const event = (slug: string, start: number): EventInput => ({
  slug, title: `Bench ${slug}`, description_md: 'Benchmark event.', starts_at: new Date(start).toISOString(), ends_at: new Date(start + 8 * 3600_000).toISOString(),
  timezone: 'Europe/Zurich', venue: 'Hall', online_url: '', capacity: null, registration_opens_at: null, registration_closes_at: null, waitlist_enabled: false,
  duplicate_policy: 'reject', double_opt_in: false, organizer_contact: 'events@example.invalid', privacy_notice: 'Bench.', controller_contact: 'Bench Org', access_mode: 'public',
});
// The clock jumps ~110 days to purge: the registration event must still be open then.
for (const [slug, start] of [['bench-event', Date.now() + 400 * DAY], ['past-event', Date.now() - 2 * DAY]] as const) {
  const r = ctx.events.create(org.org, event(slug, start), systemContext());
  if (!r.ok) throw new Error(r.message);
  ctx.events.setStatus(org.org, r.event, 'published', systemContext());
}
const past = ctx.events.publicEvent('past-event');
if (!past) throw new Error('past event missing');
// Registrations as the product stores them, written directly (registering 100,000 through the
// service would take minutes and measure nothing this benchmark is about).
const insert = opened.db.prepare(`INSERT INTO registrations (id, org_id, event_id, email, name, answers, status, attendee_code, created_at, updated_at, confirmed_at)
  VALUES (?, ?, ?, ?, ?, ?, 'confirmed', ?, ?, ?, ?)`);
const at = new Date(Date.now() - 20 * DAY).toISOString();
for (let i = 0; i < count; i += 5000) {
  opened.db.transaction(() => {
    for (let j = i; j < Math.min(count, i + 5000); j++) {
      insert.run(randomUUID(), org.org.id, past.id, `past-${j}@example.invalid`, `Past Attendee ${j}`, JSON.stringify({ note: randomBytes(24).toString('hex') }), `P${j.toString(36).toUpperCase().padStart(6, '0')}`, at, at, at);
    }
  }).immediate();
}
opened.db.pragma('wal_checkpoint(TRUNCATE)');
await ctx.accessLog.close();
opened.db.close();
process.stdout.write(`${past.id}\n`);

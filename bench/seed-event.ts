/**
 * Prepares a data dir for the event benchmarks: an owner, an organization and one published,
 * public event with the default form. Prints the event slug. Run before the server starts.
 */
import { systemContext } from '../src/audit/service.ts';
import { AccessLogWriter } from '../src/audit/access-log.ts';
import { openInstance } from '../src/bootstrap.ts';
import { loadConfig } from '../src/config/config.ts';
import { Metrics } from '../src/http/metrics.ts';
import { createLogger } from '../src/log.ts';
import { buildContext } from '../src/services.ts';

const [dataDir, keyFile, capacityArg] = process.argv.slice(2);
if (!dataDir || !keyFile) throw new Error('usage: seed-event.ts <data-dir> <master-key-file> [capacity]');
const cfg = loadConfig({ dataDir, masterKeyFile: keyFile }, {});
const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: {} });
const ctx = buildContext(
  { cfg, db: opened.db, keyring: opened.keyring, audit: opened.audit, log: createLogger('warn'), metrics: new Metrics(() => 0), accessLog: new AccessLogWriter(cfg.dataDir), now: Date.now },
  () => 'http://127.0.0.1',
);
const ownerId = opened.db.transaction(() => ctx.auth.insertUser({ email: 'bench-owner@example.invalid', name: 'Bench Owner', hash: 'x', instanceRole: 'owner', verified: true })).immediate();
const org = ctx.orgs.createOrg(ctx.auth.user(ownerId)!, { name: 'Bench Org', slug: 'bench-org' }, systemContext());
if (!org.ok) throw new Error(org.message);
const start = new Date(Date.now() + 30 * 86_400_000);
const created = ctx.events.create(
  org.org,
  {
    slug: 'bench-event',
    title: 'Benchmark Conference 2027',
    description_md: '## About\n\nA two-day conference with **talks**, workshops and a [community evening](https://example.org).\n\n- Track A: platforms\n- Track B: privacy\n',
    starts_at: start.toISOString(),
    ends_at: new Date(start.getTime() + 8 * 3600_000).toISOString(),
    timezone: 'Europe/Zurich',
    venue: 'Congress Hall, Example Street 1',
    online_url: '',
    capacity: capacityArg ? Number(capacityArg) : null,
    registration_opens_at: null,
    registration_closes_at: null,
    waitlist_enabled: true,
    duplicate_policy: 'reject',
    double_opt_in: false,
    organizer_contact: 'events@example.invalid',
    privacy_notice: 'We use your data only to run this event and delete it 30 days after.',
    controller_contact: 'Bench Org, Example Street 1',
    access_mode: 'public',
    // The ticket on the confirmation page (per person, the dearer page), so the rush can check
    // every answer against its stored row.
    show_ticket: true,
  },
  systemContext(),
);
if (!created.ok) throw new Error(created.message);
ctx.events.setStatus(org.org, created.event, 'published', systemContext());
await ctx.accessLog.close();
opened.db.close();
process.stdout.write(`${created.event.slug}\n`);

import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AuditSearch, filterSchema } from '../../src/audit/search.ts';
import { AuditLog } from '../../src/audit/service.ts';
import { openInstance } from '../../src/bootstrap.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts';

const ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 1_000_000);
const ORGS = 20;
const USERS_PER_ORG = 10;
const QUERIES = 300;
const YEAR_MS = 365 * 86_400_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function timed(n: number, fn: (i: number) => number): { p50: number; p95: number; max: number; rows: number } {
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    rows += fn(i);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), max: ms.at(-1) ?? 0, rows: rows / n };
}

/**
 * The audit search on a log of a million chained rows (seeded through AuditLog.record itself,
 * with a clock spreading them over a year): by person + time range and by actor + action, each
 * through the same service the pages use. Baseline: the old audit page's query (an
 * organization's newest 200 rows) on the same database.
 */
async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const file = path.join(ctx.tmpDir, 'master.key');
  fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const cfg = loadConfig({ dataDir: path.join(ctx.tmpDir, 'data'), masterKeyFile: file }, {});
  const opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: {} });
  const db = opened.db;
  try {
    const start = Date.now() - YEAR_MS;
    let clock = start;
    const audit = new AuditLog(db, opened.keyring, () => clock);
    const orgs = Array.from({ length: ORGS }, () => randomUUID());
    const users = orgs.map(() => Array.from({ length: USERS_PER_ORG }, () => randomUUID()));
    const people: { org: number; email: string; reg: string; at: number }[] = [];
    const step = YEAR_MS / ROWS;
    const seedStart = performance.now();
    let written = 0;
    const staffActions = ['attendee.viewed', 'event.updated', 'auth.login', 'attendee.listed', 'checkin.done', 'member.role_changed'];
    // One in five rows registers a person (with the subject pseudonym); the rest are staff
    // actions, half of them about an earlier registration.
    while (written < ROWS) {
      db.transaction(() => {
        for (let k = 0; k < 20_000 && written < ROWS; k++, written++) {
          clock += step;
          const o = written % ORGS;
          const orgId = orgs[o]!;
          if (written % 5 === 0) {
            const reg = randomUUID();
            const email = `person-${people.length}@bench.test`;
            people.push({ org: o, email, reg, at: clock });
            audit.record({ actor: { type: 'attendee', id: reg }, orgId, ip: '198.51.100.1' }, 'registration.created', { type: 'registration', id: reg }, 'success', { subject: audit.personPseudonym(orgId, email) });
          } else {
            const action = staffActions[written % staffActions.length]!;
            const about = people.length && (action === 'attendee.viewed' || action === 'checkin.done') ? people[(written * 7919) % people.length] : undefined;
            const target = about && orgs[about.org] === orgId ? { type: 'registration', id: about.reg } : { type: 'event', id: orgId };
            audit.record({ actor: { type: 'user', id: users[o]![(written >> 3) % USERS_PER_ORG]! }, orgId, ip: `203.0.113.${written % 250}` }, action, target);
          }
        }
      }).immediate();
    }
    const seedMs = performance.now() - seedStart;
    // What the server's daily job does (src/http/server.ts).
    db.pragma('analysis_limit = 1000');
    db.pragma('optimize');
    const search = new AuditSearch({ db, audit, now: () => clock, userIdByEmail: () => undefined });
    const f = (extra: Record<string, unknown>) => filterSchema.parse({ subject: [], ...extra });
    const iso = (t: number) => new Date(t).toISOString();

    const byPerson = timed(QUERIES, (i) => {
      const p = people[(i * 104_729) % people.length]!;
      // A 90-day window around the registration, so most searches find the person's rows.
      const from = p.at - ((i * 37) % 60) * 86_400_000;
      return search.search(orgs[p.org]!, f({ subject: audit.personPseudonyms(orgs[p.org]!, p.email), from: iso(from), to: iso(from + 90 * 86_400_000) })).rows.length;
    });
    const byActor = timed(QUERIES, (i) => {
      const o = i % ORGS;
      return search.search(orgs[o]!, f({ actor: users[o]![i % USERS_PER_ORG]!, action: staffActions[i % staffActions.length]! })).rows.length;
    });
    const byActorRange = timed(QUERIES, (i) => {
      const o = i % ORGS;
      const from = start + ((i * 37) % 300) * 86_400_000;
      return search.search(orgs[o]!, f({ actor: users[o]![i % USERS_PER_ORG]!, action: 'auth.*', from: iso(from), to: iso(from + 30 * 86_400_000) })).rows.length;
    });
    const baseline = timed(QUERIES, (i) => audit.recentForOrg(orgs[i % ORGS]!, 200).length);
    const figures = [
      { name: 'seed.rowsPerSec', value: ROWS / (seedMs / 1000), unit: 'rows/s' },
      { name: 'person+range.p50', value: byPerson.p50 * 1000, unit: 'µs' },
      { name: 'person+range.p95', value: byPerson.p95 * 1000, unit: 'µs' },
      { name: 'actor+action.p50', value: byActor.p50 * 1000, unit: 'µs' },
      { name: 'actor+action.p95', value: byActor.p95 * 1000, unit: 'µs' },
      { name: 'actor+category+range.p95', value: byActorRange.p95 * 1000, unit: 'µs' },
      { name: 'baseline newest-200.p95', value: baseline.p95 * 1000, unit: 'µs' },
      { name: 'ratio person+range.p95/baseline', value: byPerson.p95 / baseline.p95, unit: 'ratio' },
      { name: 'ratio actor+action.p95/baseline', value: byActor.p95 / baseline.p95, unit: 'ratio' },
    ];
    const worst = Math.max(byPerson.p95, byActor.p95, byActorRange.p95);
    return {
      figures,
      notes: [
        `${ROWS.toLocaleString('en-US')} chained rows in ${ORGS} organizations over one year, seeded in ${(seedMs / 1000).toFixed(1)} s; ${people.length.toLocaleString('en-US')} people; ${QUERIES} queries per kind through AuditSearch.search (one page of 50)`,
        `rows per query on average: person+range ${byPerson.rows.toFixed(1)}, actor+action ${byActor.rows.toFixed(1)}, actor+category+range ${byActorRange.rows.toFixed(1)}; max ms: ${byPerson.max.toFixed(1)}, ${byActor.max.toFixed(1)}, ${byActorRange.max.toFixed(1)}`,
        `target p95 <= 50 ms: ${worst <= 50 ? 'met' : 'MISSED'} (worst p95 ${worst.toFixed(2)} ms)`,
      ],
    };
  } finally {
    db.close();
  }
}

export const auditSearchScenario: Scenario = {
  name: 'audit-search',
  title: `Audit log search on ${ROWS.toLocaleString('en-US')} entries (src/audit/search.ts)`,
  run,
};

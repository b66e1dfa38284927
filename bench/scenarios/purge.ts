import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';

type Result = Awaited<ReturnType<typeof autocannon>>;
import { freePort, repoRoot, startChildServer } from '../lib/child-server.ts';
import { BENCH_LIMIT_NOTE } from '../lib/limits.ts';
import { type LoadSummary, runLoad } from '../lib/load.ts';
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts';

/** Registrations the purge erases (issue 21: 100,000). BENCH_PURGE_ROWS may lower it for a quick look. */
const ROWS = Number(process.env.BENCH_PURGE_ROWS ?? 100_000);
/** The purge must finish within this, or the figure is marked incomplete. */
const MAX_PURGE_SECONDS = 1800;

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TESSERA_')));
}

const registrationShape = () => {
  let n = 0;
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    requests: [{ method: 'POST', setupRequest: (req: { body?: string }) => ({ ...req, body: `email=purge-bench-${process.pid}-${Date.now()}-${++n}%40example.invalid&name=Bench+Attendee+${n}` }) }],
  };
};

const summary = (r: Result): LoadSummary => ({
  reqPerSec: r.duration > 0 ? (r.requests.total ?? 0) / r.duration : 0,
  p50Ms: r.latency.p50,
  p99Ms: r.latency.p99,
  requests: r.requests.total ?? 0,
  warmupRequests: 0,
  failures: r.errors + r.timeouts + r.non2xx,
});

/**
 * Registration load with and without the retention purge, in the same run against the same
 * server: first a plain registration run, then the same load from the moment the purge of ROWS
 * registrations starts until it has finished. Gate: p99 during the purge <= 1.5 x p99 without.
 */
async function purge(ctx: ScenarioContext): Promise<ScenarioResult> {
  const keyFile = path.join(ctx.tmpDir, 'master.key');
  fs.writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const dataDir = path.join(ctx.tmpDir, 'data');
  const seedStart = performance.now();
  execFileSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench/purge/seed.ts'), dataDir, keyFile, String(ROWS)], { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  const seedSeconds = (performance.now() - seedStart) / 1000;
  const port = await freePort();
  const resultFile = path.join(ctx.tmpDir, 'purge-result.json');
  const server = await startChildServer({ name: 'tessera-purge', script: 'bench/purge/server.ts', args: [dataDir, keyFile, String(port), resultFile], port, readyPath: '/healthz', env: cleanEnv(), readyTimeoutMs: 120_000 });
  const url = `${server.url}/e/bench-event/register`;
  const load = { connections: ctx.settings.connections, duration: ctx.settings.duration, warmup: ctx.settings.warmup };
  try {
    const without = await runLoad(url, load, registrationShape());

    process.kill(server.pid, 'SIGUSR2');
    const job = autocannon({ url, connections: load.connections, duration: MAX_PURGE_SECONDS, ...registrationShape() }) as ReturnType<typeof autocannon> & { stop(): void };
    const done = new Promise<{ erased?: number; ms?: number; error?: string }>((resolve) => {
      const look = setInterval(() => {
        if (!fs.existsSync(resultFile)) return;
        clearInterval(look);
        resolve(JSON.parse(fs.readFileSync(resultFile, 'utf8')) as { erased?: number; ms?: number; error?: string });
      }, 50);
      void job.then(() => clearInterval(look));
    });
    const first = await Promise.race([done, job.then(() => undefined)]);
    job.stop();
    const during = summary(await job);
    if (!first) throw new Error(`the purge did not finish within ${MAX_PURGE_SECONDS} s`);
    if (first.error) throw new Error(`purge failed: ${first.error}`);
    const ratio = without.p99Ms > 0 ? during.p99Ms / without.p99Ms : 0;
    const purgeSeconds = (first.ms ?? 0) / 1000;
    return {
      figures: [
        { name: 'without-purge.perSec', value: without.reqPerSec, unit: 'reg/s' },
        { name: 'without-purge.p99', value: without.p99Ms, unit: 'ms' },
        { name: 'during-purge.perSec', value: during.reqPerSec, unit: 'reg/s' },
        { name: 'during-purge.p99', value: during.p99Ms, unit: 'ms' },
        { name: 'ratio (p99 during/without purge; gate <= 1.5)', value: ratio, unit: 'ratio' },
        { name: 'purge.registrations', value: first.erased ?? 0, unit: 'rows' },
        { name: 'purge.seconds', value: purgeSeconds, unit: 's' },
        { name: 'purge.perSec', value: purgeSeconds > 0 ? (first.erased ?? 0) / purgeSeconds : 0, unit: 'rows/s' },
      ],
      notes: [
        `${ROWS} registrations of a past event erased by the in-process retention job (ledger file + audit + outbox, batches of 200 through the group commit, resting as long as each took) while POST /e/bench-event/register runs at ${load.connections} connections; the "during" load runs from the purge's start to its end`,
        `seeding ${ROWS} registrations took ${seedSeconds.toFixed(1)} s (not measured)`,
        ratio > 1.5 ? `GATE FAILED: p99 during the purge is ${ratio.toFixed(2)} x the p99 without it` : 'gate met: p99 during the purge <= 1.5 x without',
        BENCH_LIMIT_NOTE,
        ...(without.failures ? [`without purge: ${without.failures} failed requests`] : []),
        ...(during.failures ? [`during purge: ${during.failures} failed requests`] : []),
      ],
    };
  } finally {
    await server.stop();
  }
}

export const purgeScenario: Scenario = { name: 'purge', title: 'Registration p99 while the retention job purges 100,000 registrations vs without the purge (same run)', run: purge };

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/child-server.ts';
import { BENCH_LIMIT_ARGS, BENCH_LIMIT_NOTE } from '../lib/limits.ts';
import { type Arrival, type Outcome, openLoop, percentile } from '../lib/open-loop.ts';
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts';
import { cleanEnv, cpuMs, seedInstance, startTessera } from '../lib/tessera.ts';

/**
 * The opening rush (issue 19): N people arrive evenly over 10 s on a fresh instance whose event
 * has a capacity of 80% of them and a waiting list, with 200 page views/s alongside. Open loop:
 * latency counts from each person's scheduled arrival. The outcome is checked in the database
 * afterwards: exactly the capacity confirmed, the rest waitlisted in admission order, distinct
 * codes, and every answer matching its stored row.
 */
export const RUSH_SECONDS = 10;
export const VIEWS_PER_SEC = 200;

interface Stored {
  capacity: number;
  seats: { confirmed: number; waitlisted: number; pending: number };
  confirmed: number;
  waitlisted: number;
  distinctCodes: number;
  inOrder: boolean;
  rows: [string, string, string][];
}

export function rushSizes(env: NodeJS.ProcessEnv): number[] {
  const raw = env.BENCH_RUSH ?? '10000,20000';
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 100 || n > 100_000)) throw new Error('BENCH_RUSH must list registration counts between 100 and 100000, e.g. "10000,20000"');
  return list;
}

async function rushOnce(ctx: ScenarioContext, n: number): Promise<{ figures: Figure[]; notes: string[] }> {
  const capacity = Math.floor(n * 0.8);
  // A fresh instance per size: its own key and data directory.
  const run1 = { ...ctx, tmpDir: fs.mkdtempSync(path.join(ctx.tmpDir, `rush-${n}-`)) };
  const inst = seedInstance(run1, capacity);
  const server = await startTessera(run1, inst, BENCH_LIMIT_ARGS);
  const arrivals: Arrival[] = Array.from({ length: n }, (_, i) => ({ at: (i * RUSH_SECONDS * 1000) / n, email: `rush-${n}-${i}@example.invalid` }));
  let cpuBefore = 0;
  let cpuAfter = 0;
  let run;
  const clientBefore = process.cpuUsage();
  try {
    cpuBefore = cpuMs(server.pid);
    run = await openLoop({ url: server.url, slug: 'bench-event', arrivals, viewsPerSec: VIEWS_PER_SEC, durationMs: RUSH_SECONDS * 1000 });
    cpuAfter = cpuMs(server.pid);
  } finally {
    await server.stop();
  }
  const stored = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench/verify-rush.ts'), inst.dataDir, inst.keyFile, 'bench-event'], { cwd: repoRoot, env: cleanEnv(), maxBuffer: 64 * 2 ** 20 }).toString()) as Stored;

  const client = process.cpuUsage(clientBefore);
  const clientCpuMs = (client.user + client.system) / 1000;
  const serverCpuMs = cpuAfter - cpuBefore;
  // What the rush asked of the machine: the server's CPU per registration times the arrivals,
  // over the cores and the rush's length. Above 1 no scheduling can answer everyone in time.
  const cores = os.availableParallelism();
  const demand = (serverCpuMs / Math.max(1, stored.rows.length)) * n / (RUSH_SECONDS * 1000 * cores);
  const regs = run.registrations;
  const ok = (o: Outcome) => !o.error && o.finalStatus === 201;
  const direct = regs.filter((o) => !o.queued);
  const queued = regs.filter((o) => o.queued);
  const errors = regs.filter((o) => !ok(o));
  const timeouts = regs.filter((o) => o.error === 'timeout');
  const byEmail = new Map(stored.rows.map(([email, status, code]) => [email, { status, code }]));
  const mismatched = regs.filter((o) => {
    if (!ok(o)) return false;
    const row = byEmail.get(o.email);
    return !row || row.status !== o.told || (o.told === 'confirmed' && o.code !== row.code);
  });
  const answeredButAbsent = regs.filter((o) => ok(o) && !byEmail.has(o.email)).length;
  const answered = new Set(regs.filter(ok).map((o) => o.email));
  const storedWithoutAnswer = stored.rows.filter(([email]) => !answered.has(email)).length;
  if (process.env.BENCH_RUSH_DUMP) fs.writeFileSync(process.env.BENCH_RUSH_DUMP, JSON.stringify(regs.map((o) => [o.scheduledAt, o.firstMs, o.finalMs, o.queued ? 1 : 0])));
  const first2s = direct.filter((o) => o.scheduledAt < 2000).map((o) => o.finalMs);
  const ms = (name: string, values: number[]): Figure[] => [
    { name: `${name}.p50`, value: percentile(values, 50), unit: 'ms' },
    { name: `${name}.p99`, value: percentile(values, 99), unit: 'ms' },
    { name: `${name}.max`, value: percentile(values, 100), unit: 'ms' },
  ];
  const exact = stored.confirmed === capacity && stored.waitlisted === stored.rows.length - capacity && stored.distinctCodes === stored.rows.length && stored.inOrder;
  const prefix = `rush${n / 1000}k`;
  return {
    figures: [
      { name: `${prefix}.answered`, value: regs.length - errors.length, unit: 'people' },
      ...ms(`${prefix}.direct`, direct.map((o) => o.finalMs)),
      { name: `${prefix}.queued`, value: queued.length, unit: 'people' },
      ...(queued.length ? [...ms(`${prefix}.queuePage`, queued.map((o) => o.firstMs)), ...ms(`${prefix}.queuedAnswer`, queued.map((o) => o.finalMs))] : []),
      { name: `${prefix}.first2s.direct.p99`, value: percentile(first2s, 99), unit: 'ms' },
      { name: `${prefix}.errors`, value: errors.length, unit: 'requests' },
      { name: `${prefix}.timeouts`, value: timeouts.length, unit: 'requests' },
      { name: `${prefix}.retriedOnStaleConnection`, value: run.retries, unit: 'requests' },
      { name: `${prefix}.views.p99`, value: percentile(run.views.ms, 99), unit: 'ms' },
      { name: `${prefix}.serverCpuPerRegistration`, value: (serverCpuMs * 1000) / Math.max(1, stored.rows.length), unit: 'µs' },
      { name: `${prefix}.cpuDemand`, value: demand * 100, unit: `% of ${cores} cores` },
      { name: `${prefix}.lastAnswerAfter`, value: run.elapsedMs, unit: 'ms' },
    ],
    notes: [
      `${n.toLocaleString('en-US')} arrivals over ${RUSH_SECONDS} s, capacity ${capacity.toLocaleString('en-US')}, ${VIEWS_PER_SEC} page views/s; stored ${stored.rows.length}: ${stored.confirmed} confirmed, ${stored.waitlisted} waitlisted, counters ${JSON.stringify(stored.seats)}`,
      exact ? 'database check: exactly the capacity confirmed, the rest waitlisted in admission order, all codes distinct' : `DATABASE CHECK FAILED: confirmed ${stored.confirmed}/${capacity}, distinct codes ${stored.distinctCodes}/${stored.rows.length}, in order ${stored.inOrder}`,
      mismatched.length || answeredButAbsent || storedWithoutAnswer
        ? `ANSWER CHECK FAILED: ${mismatched.length} answers differ from their row, ${answeredButAbsent} answered but not stored, ${storedWithoutAnswer} stored without a success answer`
        : 'answer check: every success answer matches its stored row (status, code), and nothing was stored without one',
      ...(errors.length ? [`errors: ${[...new Set(errors.map((o) => o.error ?? `HTTP ${o.finalStatus}`))].slice(0, 5).join(', ')}`] : []),
      ...(run.views.failures ? [`page views: ${run.views.failures} failed`] : []),
      `CPU: the server used ${(serverCpuMs / 1000).toFixed(1)} s and this load generator ${(clientCpuMs / 1000).toFixed(1)} s over ${(run.elapsedMs / 1000).toFixed(1)} s on ${cores} cores; ${n.toLocaleString('en-US')} registrations at the server's cost per registration need ${(demand * 100).toFixed(0)}% of the cores for ${RUSH_SECONDS} s`,
    ],
  };
}

async function rush(ctx: ScenarioContext): Promise<ScenarioResult> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const n of rushSizes(process.env)) {
    const r = await rushOnce(ctx, n);
    figures.push(...r.figures);
    notes.push(...r.notes);
  }
  return { figures, notes: [...notes, 'gates: 10k p99 <= 100 ms, max <= 500 ms, 0 errors; 20k 0 errors/timeouts, queue page within 1 s, admitted answered within 10 s', BENCH_LIMIT_NOTE] };
}

export const rushScenario: Scenario = { name: 'rush', title: 'Opening rush: open-loop registrations on a fresh instance, capacity 80% of arrivals, 200 page views/s', run: rush };

import fs from 'node:fs';
import path from 'node:path';
import { freePort, startChildServer } from '../lib/child-server.ts';
import { BENCH_LIMIT_ARGS, BENCH_LIMIT_NOTE } from '../lib/limits.ts';
import { type LoadSummary, runLoad } from '../lib/load.ts';
import { rawInsertRate } from '../lib/raw-insert.ts';
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts';
import { cpuMs, withTessera } from '../lib/tessera.ts';

const figures = (prefix: string, s: LoadSummary, unit = 'req/s'): Figure[] => [
  { name: `${prefix}.perSec`, value: s.reqPerSec, unit },
  { name: `${prefix}.p50`, value: s.p50Ms, unit: 'ms' },
  { name: `${prefix}.p99`, value: s.p99Ms, unit: 'ms' },
];

async function eventPage(ctx: ScenarioContext): Promise<ScenarioResult> {
  const load = { connections: ctx.settings.connections, duration: ctx.settings.duration, warmup: ctx.settings.warmup };
  let body = Buffer.alloc(0);
  let contentType = '';
  let tesseraCpu = 0;
  const tessera = await withTessera(ctx, async (url, pid) => {
    const res = await fetch(`${url}/e/bench-event`);
    if (res.status !== 200) throw new Error(`GET /e/bench-event answered ${res.status}`);
    body = Buffer.from(await res.arrayBuffer());
    contentType = res.headers.get('content-type') ?? 'text/html';
    const before = cpuMs(pid);
    const summary = await runLoad(`${url}/e/bench-event`, load);
    tesseraCpu = cpuMs(pid) - before;
    return summary;
  });
  const bodyFile = path.join(ctx.tmpDir, 'event.html');
  fs.writeFileSync(bodyFile, body);
  const port = await freePort();
  const baseline = await startChildServer({ name: 'baseline', script: 'bench/baseline-server.ts', args: ['--port', String(port), '--body-file', bodyFile, '--content-type', contentType], port, readyPath: '/' });
  let base: LoadSummary;
  let baseCpu = 0;
  try {
    const before = cpuMs(baseline.pid);
    base = await runLoad(`${baseline.url}/`, load);
    baseCpu = cpuMs(baseline.pid) - before;
  } finally {
    await baseline.stop();
  }
  const ratio = base.reqPerSec > 0 ? tessera.reqPerSec / base.reqPerSec : 0;
  // Server CPU over every request sent, warm-up included: robust against other load on the
  // machine, which moves req/s (and with it the ratio) far more than it moves CPU per request.
  const perRequest = (ms: number, s: LoadSummary) => (ms * 1000) / Math.max(1, s.requests + s.warmupRequests);
  const tesseraUs = perRequest(tesseraCpu, tessera);
  const baseUs = perRequest(baseCpu, base);
  return {
    figures: [
      ...figures('tessera', tessera),
      ...figures('baseline', base),
      { name: 'ratio (tessera/baseline; target >= 0.5)', value: ratio, unit: 'ratio' },
      { name: 'server CPU per request, tessera', value: tesseraUs, unit: 'µs' },
      { name: 'server CPU per request, baseline', value: baseUs, unit: 'µs' },
      { name: 'CPU ratio (baseline/tessera per request)', value: tesseraUs > 0 ? baseUs / tesseraUs : 0, unit: 'ratio' },
    ],
    notes: [`event page is ${body.length} bytes; ${load.connections} connections, ${load.duration} s after ${load.warmup} s warm-up`, ...(tessera.failures ? [`tessera: ${tessera.failures} failed requests`] : [])],
  };
}

/** Far above what a closed-loop run registers: every registration is confirmed. */
const CLOSED_LOOP_CAPACITY = 10_000_000;

async function registration(ctx: ScenarioContext): Promise<ScenarioResult> {
  const load = { connections: ctx.settings.connections, duration: ctx.settings.duration, warmup: ctx.settings.warmup };
  let n = 0;
  let cpu = 0;
  const run = await withTessera(ctx, async (url, pid) => {
    const cpuBefore = cpuMs(pid);
    const summary = await runLoad(`${url}/e/bench-event/register`, load, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => ({ ...req, body: `email=attendee-${process.pid}-${++n}%40example.invalid&name=Bench+Attendee+${n}` }),
        },
      ],
    });
    cpu = cpuMs(pid) - cpuBefore;
    return summary;
  },
    BENCH_LIMIT_ARGS,
    // Set so the capacity check runs on every registration (the counter), and never reached.
    CLOSED_LOOP_CAPACITY,
  );
  const raw = rawInsertRate(ctx.tmpDir, ctx.settings.insertSeconds);
  const ratio = raw > 0 ? run.reqPerSec / raw : 0;
  return {
    figures: [...figures('registration', run, 'reg/s'), { name: 'raw.insertsPerSec', value: raw, unit: 'rows/s' }, { name: 'ratio (registration/raw insert; target >= 0.8)', value: ratio, unit: 'ratio' },
      // Every thread of the server (SQLite, the seal worker, fsyncs) over every registration sent, warm-up included.
      { name: 'server CPU per registration', value: (cpu * 1000) / Math.max(1, n), unit: 'µs' }],
    notes: [
      `POST /e/bench-event/register: validate + duplicate check + capacity check (capacity ${CLOSED_LOOP_CAPACITY.toLocaleString('en-US')}) + encrypted durable write + audit row + mail outbox row, ${load.connections} connections; target p99 <= 30 ms`,
      BENCH_LIMIT_NOTE,
      ...(run.failures ? [`registration: ${run.failures} non-2xx or failed requests`] : []),
    ],
  };
}

export const eventPageScenario: Scenario = { name: 'event-page', title: 'GET /e/<slug> (public event page, full middleware stack) vs bare node:http serving the same bytes', run: eventPage };
export const registrationScenario: Scenario = { name: 'registration', title: 'POST registration at 64 connections vs the raw durable SQLCipher insert loop', run: registration };

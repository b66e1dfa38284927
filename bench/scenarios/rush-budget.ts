import { freePort, startChildServer } from '../lib/child-server.ts';
import { openLoop, percentile } from '../lib/open-loop.ts';
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts';
import { cpuMs } from '../lib/tessera.ts';
import { RUSH_SECONDS, VIEWS_PER_SEC, rushSizes } from './rush.ts';

/**
 * What the rush gates leave a server on this machine. The same open-loop rush as `rush` (the
 * same client, arrivals and page views) against bare node:http that spends a fixed amount of CPU
 * per request (bench/budget-server.ts). The largest amount that still meets the gates is the
 * budget every part of a registration has to fit in, measured, not guessed: a server whose
 * registration costs more cannot meet them here however its work is arranged.
 * BENCH_BUDGET lists the costs in µs; "200:450" adds a writer thread spending 450 µs per POST.
 */
interface Cost {
  mainUs: number;
  writerUs: number;
}

function costs(env: NodeJS.ProcessEnv): Cost[] {
  const raw = env.BENCH_BUDGET ?? '0,150,300,500,200:450';
  return raw.split(',').map((item) => {
    const [main, writer] = item.trim().split(':').map(Number);
    if (!Number.isInteger(main) || (main as number) < 0 || (main as number) > 100_000 || (writer !== undefined && (!Number.isInteger(writer) || writer < 0 || writer > 100_000))) {
      throw new Error(`BENCH_BUDGET must list µs costs such as "0,150,300" or "200:450" (main thread:writer thread), got "${item}"`);
    }
    return { mainUs: main as number, writerUs: writer ?? 0 };
  });
}

const label = (c: Cost) => `main${c.mainUs}us${c.writerUs ? `+writer${c.writerUs}us` : ''}`;

async function once(n: number, cost: Cost): Promise<{ figures: Figure[]; meets: boolean }> {
  const port = await freePort();
  const server = await startChildServer({ name: 'budget-server', script: 'bench/budget-server.ts', args: ['--port', String(port), '--cpu-us', String(cost.mainUs), '--writer-cpu-us', String(cost.writerUs)], port, readyPath: '/' });
  const arrivals = Array.from({ length: n }, (_, i) => ({ at: (i * RUSH_SECONDS * 1000) / n, email: `budget-${i}@example.invalid` }));
  let run;
  let serverCpu = 0;
  try {
    const before = cpuMs(server.pid);
    run = await openLoop({ url: server.url, slug: 'budget', arrivals, viewsPerSec: VIEWS_PER_SEC, durationMs: RUSH_SECONDS * 1000 });
    serverCpu = cpuMs(server.pid) - before;
  } finally {
    await server.stop();
  }
  const ms = run.registrations.map((o) => o.finalMs);
  const errors = run.registrations.filter((o) => o.error || o.finalStatus !== 200).length;
  const p99 = percentile(ms, 99);
  const max = percentile(ms, 100);
  // The 10k gate: p99 <= 100 ms, max <= 500 ms. At 20k every request is answered within 1 s
  // (a server that parks people must at least answer each POST that fast).
  const meets = errors === 0 && (n <= 10_000 ? p99 <= 100 && max <= 500 : max <= 1000);
  const prefix = `budget${n / 1000}k.${label(cost)}`;
  return {
    meets,
    figures: [
      { name: `${prefix}.p50`, value: percentile(ms, 50), unit: 'ms' },
      { name: `${prefix}.p99`, value: p99, unit: 'ms' },
      { name: `${prefix}.max`, value: max, unit: 'ms' },
      { name: `${prefix}.errors`, value: errors, unit: 'requests' },
      { name: `${prefix}.serverCpuPerRequest`, value: (serverCpu * 1000) / (n + run.views.ms.length), unit: 'µs' },
    ],
  };
}

async function budget(_ctx: ScenarioContext): Promise<ScenarioResult> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const n of rushSizes(process.env)) {
    const met: string[] = [];
    for (const cost of costs(process.env)) {
      const r = await once(n, cost);
      figures.push(...r.figures);
      if (r.meets) met.push(label(cost));
    }
    notes.push(`${n.toLocaleString('en-US')} in ${RUSH_SECONDS} s: gate met with ${met.length ? met.join(', ') : 'none of the costs tried'}`);
  }
  notes.push('gates: 10k p99 <= 100 ms and max <= 500 ms; 20k every request answered within 1 s. Compare rush.serverCpuPerRegistration and a profile of the server\'s main thread');
  return { figures, notes };
}

export const rushBudgetScenario: Scenario = {
  name: 'rush-budget',
  title: 'Rush budget: the same open-loop rush against node:http spending a fixed CPU time per request (what the gates allow on this machine)',
  optIn: true,
  run: budget,
};

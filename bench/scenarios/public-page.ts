import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, startChildServer } from '../lib/child-server.ts';
import { type LoadSummary, runLoad } from '../lib/load.ts';
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts';

/** The server's own settings come only from the flags below, never from the caller's shell. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TESSERA_')));
}

function loadFigures(prefix: string, s: LoadSummary): Figure[] {
  return [
    { name: `${prefix}.reqPerSec`, value: s.reqPerSec, unit: 'req/s' },
    { name: `${prefix}.p50`, value: s.p50Ms, unit: 'ms' },
    { name: `${prefix}.p99`, value: s.p99Ms, unit: 'ms' },
  ];
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const load = { connections: ctx.settings.connections, duration: ctx.settings.duration, warmup: ctx.settings.warmup };
  const keyFile = path.join(ctx.tmpDir, 'master.key');
  fs.writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });

  // One server at a time: on two cores, two servers under load would measure each other.
  const tesseraPort = await freePort();
  const tessera = await startChildServer({
    name: 'tessera',
    script: 'src/cli/main.ts',
    args: [
      'serve',
      ...['--host', '127.0.0.1', '--port', String(tesseraPort)],
      ...['--data-dir', path.join(ctx.tmpDir, 'data'), '--master-key-file', keyFile],
      ...['--log-level', 'warn', '--shutdown-timeout-ms', '2000'],
    ],
    port: tesseraPort,
    readyPath: '/healthz',
    env: cleanEnv(),
  });
  let body: Buffer;
  let contentType: string;
  let tesseraLoad: LoadSummary;
  try {
    const res = await fetch(`${tessera.url}/`);
    body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`GET / answered ${res.status}, expected 200`);
    contentType = res.headers.get('content-type') ?? 'application/octet-stream';
    tesseraLoad = await runLoad(`${tessera.url}/`, load);
  } finally {
    await tessera.stop();
  }

  const bodyFile = path.join(ctx.tmpDir, 'page.bin');
  fs.writeFileSync(bodyFile, body);
  const baselinePort = await freePort();
  const baseline = await startChildServer({
    name: 'baseline',
    script: 'bench/baseline-server.ts',
    args: ['--port', String(baselinePort), '--body-file', bodyFile, '--content-type', contentType],
    port: baselinePort,
    readyPath: '/',
  });
  let baselineLoad: LoadSummary;
  try {
    baselineLoad = await runLoad(`${baseline.url}/`, load);
  } finally {
    await baseline.stop();
  }

  const notes = [`GET / is ${body.length} bytes of ${contentType}; ${load.connections} connections, ${load.duration} s each after ${load.warmup} s warm-up; latency has 1 ms resolution`];
  for (const [who, s] of [['tessera', tesseraLoad], ['baseline', baselineLoad]] as const) {
    if (s.failures > 0) notes.push(`${who}: ${s.failures} of ${s.requests} requests failed (errors, timeouts or non-2xx); its figures are not comparable`);
  }
  return {
    figures: [
      ...loadFigures('tessera', tesseraLoad),
      ...loadFigures('baseline', baselineLoad),
      { name: 'ratio.reqPerSec (tessera/baseline)', value: baselineLoad.reqPerSec > 0 ? tesseraLoad.reqPerSec / baselineLoad.reqPerSec : 0, unit: 'ratio' },
    ],
    notes,
  };
}

export const publicPage: Scenario = {
  name: 'public-page',
  title: 'GET / (public home page): Tessera vs bare node:http serving the same bytes',
  run,
};

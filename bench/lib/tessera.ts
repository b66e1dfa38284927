import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type ChildServer, freePort, repoRoot, startChildServer } from './child-server.ts';
import type { ScenarioContext } from './scenario.ts';

export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TESSERA_')));
}

export interface SeededInstance {
  dataDir: string;
  keyFile: string;
}

/** A fresh data dir with one published public event `bench-event` (bench/seed-event.ts). */
export function seedInstance(ctx: ScenarioContext, capacity?: number): SeededInstance {
  const keyFile = path.join(ctx.tmpDir, 'master.key');
  fs.writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const dataDir = path.join(ctx.tmpDir, 'data');
  const args = [path.join(repoRoot, 'bench/seed-event.ts'), dataDir, keyFile, ...(capacity === undefined ? [] : [String(capacity)])];
  execFileSync(process.execPath, ['--import', 'tsx', ...args], { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  return { dataDir, keyFile };
}

/** A Tessera child on a seeded instance (full middleware stack, real encrypted DB). */
export async function startTessera(ctx: ScenarioContext, inst: SeededInstance, extraArgs: string[] = []): Promise<ChildServer> {
  const port = await freePort();
  return startChildServer({
    name: 'tessera',
    script: 'src/cli/main.ts',
    args: ['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', inst.dataDir, '--master-key-file', inst.keyFile, '--log-level', 'warn', '--shutdown-timeout-ms', '2000', ...extraArgs, ...ctx.settings.tesseraArgs],
    port,
    readyPath: '/healthz',
    env: cleanEnv(),
    // The profile is written when the server exits (SIGTERM from stop()).
    nodeArgs: ctx.settings.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.settings.cpuProfDir}`, `--cpu-prof-name=${path.basename(ctx.tmpDir)}.cpuprofile`] : [],
  });
}

/** A seeded instance and a running Tessera on it, stopped after fn. */
export async function withTessera<T>(ctx: ScenarioContext, fn: (url: string, pid: number) => Promise<T>, extraArgs: string[] = [], capacity?: number): Promise<T> {
  const server = await startTessera(ctx, seedInstance(ctx, capacity), extraArgs);
  try {
    return await fn(server.url, server.pid);
  } finally {
    await server.stop();
  }
}

/** CPU time (user + system) a process has used so far, from /proc (Linux), in ms. */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

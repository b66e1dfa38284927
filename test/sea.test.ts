import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_KEY, startS3 } from './support/s3rver.ts';
import { tempDir } from './support/temp.ts';
import { waitFor as waitForCondition } from './support/wait.ts';

/**
 * The single binary end to end: built once from this checkout, then run the way an operator
 * would, with an empty environment and a fresh working directory.
 */
const root = path.resolve(import.meta.dirname, '..');
const binary = path.join(root, 'dist', 'tessera');
const run = promisify(execFile);
const dirs: string[] = [];
const children: ChildProcess[] = [];

function freshDir(): string {
  const d = tempDir('tessera-sea-');
  dirs.push(d);
  return d;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** Runs the binary to completion; resolves with its exit code and output whatever the code. */
async function runBinary(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(binary, args, { cwd: freshDir(), env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** The shared wait, with failed probes (a server not listening yet) counted as "not yet". */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000) =>
  waitForCondition(() => probe().catch(() => undefined), { what, timeoutMs });

beforeAll(async () => {
  // Hang guards: the build takes about 15 s of CPU, ten times that in wall time under load.
  await run(process.execPath, [path.join(root, 'build.mjs')], { cwd: root, timeout: 590_000 });
}, 600_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('dist/tessera (single binary)', () => {
  it('serves from an empty environment: setup link, health, pages, static files, keys, clean shutdown', async () => {
    const cwd = freshDir();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // A tiny checkpoint threshold, so a few writes bring the checkpoint worker in (below).
    const child = spawn(binary, ['serve', '--port', String(port), '--wal-checkpoint-frames', '10'], { cwd, env: {}, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const health = await waitFor('/healthz', async () => {
      const res = await fetch(`${base}/healthz`);
      return res.status === 200 ? res : undefined;
    });
    expect(await health.json()).toEqual({ status: 'ok' });
    await waitFor('the setup link', async () => (stdout.includes('/setup?token=') ? true : undefined));
    expect(stdout).toContain(`Tessera is running at ${base}`);

    const home = await fetch(`${base}/`);
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain('Tessera');
    const htmx = html.match(/\/static\/htmx\.[0-9a-f]+\.js/)?.[0];
    expect(htmx).toBeDefined();
    const script = await fetch(`${base}${htmx}`);
    expect(script.status).toBe(200);
    // The body is the file from the SEA asset, byte for byte.
    expect(Buffer.from(await script.arrayBuffer()).equals(fs.readFileSync(path.join(root, 'node_modules/htmx.org/dist/htmx.min.js')))).toBe(true);

    expect(fs.existsSync(path.join(cwd, 'data', 'tessera.db'))).toBe(true);
    expect(fs.statSync(path.join(cwd, 'keys', 'master.key')).mode & 0o777).toBe(0o600);
    // The addon was extracted beside the data dir, loaded and removed again.
    const runtime = path.join(cwd, '.tessera-runtime');
    expect(fs.statSync(runtime).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(runtime)).toEqual([]);

    // Failed sign-ins are written (audit rows, throttle counters): enough WAL for a checkpoint,
    // which the worker thread runs from the embedded bundle with the addon already loaded.
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, body: `email=nobody${i}%40example.invalid&password=wrong-password-${i}` });
      await res.arrayBuffer();
    }
    const workerRuns = await waitFor('a checkpoint on the worker thread', async () => {
      const m = /^tessera_wal_checkpoints_total\{where="worker"\} (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text());
      return m && Number(m[1]) > 0 ? Number(m[1]) : undefined;
    });
    expect(workerRuns).toBeGreaterThan(0);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).not.toContain('checkpoint worker unavailable');
  });

  it('ships backup segments to a directory and to S3 from the binary, and restores them', async () => {
    const cwd = freshDir();
    const port = await freePort();
    const backups = path.join(cwd, 'backups');
    const s3 = await startS3(path.join(cwd, 's3'), ['sea-backups']);
    try {
      const s3Flags = ['--backup-s3-endpoint', s3.endpoint, '--backup-s3-path-style', 'true'];
      const env = { TESSERA_BACKUP_S3_ACCESS_KEY_ID: S3RVER_KEY.accessKeyId, TESSERA_BACKUP_S3_SECRET_ACCESS_KEY: S3RVER_KEY.secretAccessKey };
      const args = ['serve', '--port', String(port), '--backup-dir', backups, '--backup-s3-url', 's3://sea-backups/tessera', ...s3Flags, '--backup-sync-interval-ms', '200'];
      const child = spawn(binary, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let stdout = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stdout += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await waitFor('/healthz', async () => ((await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200 ? true : undefined));
      // Writes made before the generation's first snapshot would be in that snapshot, not in a
      // segment: wait for it (a slow machine takes a while to get there).
      await waitFor('the first snapshot', async () => (fs.readdirSync(backups, { recursive: true }).some((f) => String(f).endsWith('.snap')) ? true : undefined));
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, body: `email=nobody${i}%40example.invalid&password=wrong-${i}` });
        await res.arrayBuffer();
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      for (const from of [[backups], ['s3://sea-backups/tessera', ...s3Flags]]) {
        const r = await run(binary, ['restore', '--from', ...from, '--to', path.join(cwd, `restored-${from.length}`)], { cwd, env, timeout: 60_000 });
        const segments = Number(/and (\d+) segment\(s\)/.exec(r.stdout)?.[1] ?? 0);
        expect(segments, from[0]).toBeGreaterThan(0);
      }
    } finally {
      await s3.stop();
    }
  });

  it('refuses a bad --port with exit 2 and one line naming the flag', async () => {
    const r = await runBinary(['--port', 'notaport']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('--port');
  });

  it('prints help with exit 0 and lists the commands', async () => {
    const r = await runBinary(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['serve', 'init', 'migrate', 'doctor', 'keys']) expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  });

  it('refuses a runtime directory other users can write to, naming it and TESSERA_RUNTIME_DIR', async () => {
    const dir = path.join(freshDir(), 'shared');
    fs.mkdirSync(dir, { mode: 0o777 });
    fs.chmodSync(dir, 0o777);
    const r = await runBinary(['init'], { TESSERA_RUNTIME_DIR: dir });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(dir);
    expect(lines[0]).toContain('TESSERA_RUNTIME_DIR');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { restoreBackup } from '../../src/backup/restore.ts';
import { prepareAppConnection } from '../../src/backup/checkpointer.ts';
import { BackupService } from '../../src/backup/service.ts';
import { DirTarget } from '../../src/backup/targets/dir.ts';
import { S3Target } from '../../src/backup/targets/s3.ts';
import type { BackupTarget } from '../../src/backup/targets/target.ts';
import { type DB, openDatabase } from '../../src/db/open.ts';
import { Keyring, keyringPath } from '../../src/keys/keyring.ts';
import { freePort, repoRoot, startChildServer } from '../lib/child-server.ts';
import { BENCH_LIMIT_ARGS, BENCH_LIMIT_NOTE } from '../lib/limits.ts';
import { runLoad } from '../lib/load.ts';
import type { Figure, Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts';

/**
 * Continuous backup under load, against a local S3 server (s3rver, its own process):
 *  A. registration throughput through the real server, replication off vs on;
 *  B. durable single-row inserts on the same DB setup, off vs on in alternating slices, and the
 *     RPO seen under that load: for every commit, the time until a segment holding it was
 *     stored on S3;
 *  C. restore time of a BENCH_RESTORE_MB database (default 1024) from that S3 server, including
 *     download, decryption, PRAGMA integrity_check and writing the data directory.
 */

const env = z
  .object({
    /** 0 skips the restore part */
    BENCH_RESTORE_MB: z.coerce.number().int().min(0).max(65_536).default(1024),
    /** rounds of off/dir/s3 registration runs: each ratio is the median over the rounds */
    BENCH_BACKUP_ROUNDS: z.coerce.number().int().min(1).max(20).default(3),
  })
  .parse(Object.fromEntries(Object.entries(process.env).filter(([k, v]) => (k === 'BENCH_RESTORE_MB' || k === 'BENCH_BACKUP_ROUNDS') && v !== '')));
const BUCKET = 'bench';
const SYNC_MS = 1000;
const quiet = pino({ level: 'warn' }, pino.destination(2));

interface LocalS3 {
  endpoint: string;
  target(prefix: string): S3Target;
  stop(): Promise<void>;
}

async function startS3(dir: string): Promise<LocalS3> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/lib/s3rver-child.ts', dir, String(port), BUCKET], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', () => reject(new Error('s3rver exited during start-up')));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    target: (prefix) => new S3Target({ endpoint, region: 'us-east-1', bucket: BUCKET, prefix, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', pathStyle: true }),
    stop: () =>
      new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/** A data directory with a keyring and an empty database, as `tessera init` leaves it. */
function dataDir(root: string, name: string): { dir: string; db: DB; keyring: Keyring; dbFile: string } {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyring = Keyring.create(keyringPath(dir), randomBytes(32));
  const dbFile = path.join(dir, 'tessera.db');
  const db = openDatabase(dbFile, { key: keyring.active('db').key, create: true });
  return { dir, db, keyring, dbFile };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

// --- A: registrations through the real server ---------------------------------------------------

type Replication = 'off' | 'dir' | 's3';

interface RegRun {
  perSec: number;
  p99: number;
  failures: number;
  /** per stored segment during the run: ms from its oldest possible change until stored (the status file's rpoSeconds) */
  rpoMs: number[];
  /** the status file's lag (age of the oldest segment not stored yet), sampled every 100 ms */
  lagMs: number[];
}

/**
 * Reads data/backup-status.json (the server rewrites it on every step) while the load runs: the
 * RPO of every segment stored, and how far behind the replicator is, as an operator would see.
 */
function watchStatus(file: string): { stop: () => { rpoMs: number[]; lagMs: number[] } } {
  const rpo = new Map<string, number>();
  const lag: number[] = [];
  const timer = setInterval(() => {
    let st: { lagSeconds?: number; targets?: { rpoSeconds?: number; lastShipped?: { key: string } }[] };
    try {
      st = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof st;
    } catch {
      return;
    }
    if (typeof st.lagSeconds === 'number') lag.push(st.lagSeconds * 1000);
    for (const t of st.targets ?? []) if (t.lastShipped && typeof t.rpoSeconds === 'number') rpo.set(t.lastShipped.key, t.rpoSeconds * 1000);
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return { rpoMs: [...rpo.values()], lagMs: lag };
    },
  };
}

async function registrations(ctx: ScenarioContext, s3: LocalS3, mode: Replication): Promise<RegRun> {
  const withBackup = mode !== 'off';
  const dir = fs.mkdtempSync(path.join(ctx.tmpDir, `reg-${mode}-`));
  const keyFile = path.join(dir, 'master.key');
  fs.writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const data = path.join(dir, 'data');
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TESSERA_')));
  execFileSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench/seed-event.ts'), data, keyFile], { cwd: repoRoot, env: cleanEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await freePort();
  const backupArgs =
    mode === 's3' ? ['--backup-s3-url', `s3://${BUCKET}/registrations`, '--backup-s3-endpoint', s3.endpoint, '--backup-s3-path-style', 'true'] : mode === 'dir' ? ['--backup-dir', path.join(dir, 'backups')] : [];
  const server = await startChildServer({
    name: `tessera (replication ${mode})`,
    script: 'src/cli/main.ts',
    args: ['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data, '--master-key-file', keyFile, '--log-level', 'warn', '--shutdown-timeout-ms', '5000', ...backupArgs, ...BENCH_LIMIT_ARGS],
    port,
    readyPath: '/healthz',
    env: { ...cleanEnv, TESSERA_BACKUP_S3_ACCESS_KEY_ID: 'S3RVER', TESSERA_BACKUP_S3_SECRET_ACCESS_KEY: 'S3RVER' },
  });
  let n = 0;
  const watch = watchStatus(path.join(data, 'backup-status.json'));
  try {
    const r = await runLoad(`${server.url}/e/bench-event/register`, { connections: ctx.settings.connections, duration: ctx.settings.duration, warmup: ctx.settings.warmup }, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, body: `email=a-${mode}-${++n}%40example.invalid&name=Bench+Attendee+${n}` }) }],
    });
    return { perSec: r.reqPerSec, p99: r.p99Ms, failures: r.failures, ...watch.stop() };
  } finally {
    watch.stop();
    await server.stop(10_000);
  }
}

// --- B: insert loop, replication off vs on, and RPO ----------------------------------------------

interface Side {
  label: string;
  db: DB;
  insert: () => void;
  rows: number;
  ms: number;
  commits?: number[];
}

/**
 * Durable autocommit inserts for `seconds`, yielding every ~2 ms so timers (the replicator) run,
 * as between requests. Wall time counts, so the replicator's work in those gaps counts too.
 */
async function insertFor(side: Side, seconds: number): Promise<void> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    const sliceEnd = Math.min(end, performance.now() + 2);
    while (performance.now() < sliceEnd) {
      side.insert();
      side.rows++;
      side.commits?.push(Date.now());
    }
    await new Promise((r) => setImmediate(r));
  }
  side.ms += performance.now() - t0;
}

interface LoopResult {
  off: number;
  on: number;
  rpo: number[];
  segments: number;
  segmentBytes: number;
  /** seconds of inserts with replication on (the segments are all captured in them) */
  onSeconds: number;
}

/**
 * Replication off vs on, interleaved (off, on, on, off), on fresh databases, with only this
 * pair's replicator alive so nothing else ships in the gaps.
 */
async function insertPair(ctx: ScenarioContext, name: string, target: BackupTarget): Promise<LoopResult> {
  const payload = randomBytes(100).toString('hex');
  const make = (label: string): Side & { d: ReturnType<typeof dataDir> } => {
    const d = dataDir(ctx.tmpDir, `loop-${name}-${label}`);
    d.db.exec('CREATE TABLE rows (id TEXT PRIMARY KEY, payload TEXT NOT NULL)');
    const stmt = d.db.prepare('INSERT INTO rows (id, payload) VALUES (?, ?)');
    return { label, db: d.db, d, insert: () => void stmt.run(randomUUID(), payload), rows: 0, ms: 0 };
  };
  const off = make('off');
  const on = make('on');
  on.commits = [];
  prepareAppConnection(on.db);
  const svc = new BackupService({ dataDir: on.d.dir, dbFile: on.d.dbFile, keyring: on.d.keyring, log: quiet, targets: [target], syncIntervalMs: SYNC_MS, snapshotIntervalMs: 86_400_000, retentionDays: 30 });
  const stored: { capturedAt: number; storedAt: number; bytes: number }[] = [];
  svc.onShippedObject((_t, item) => {
    if (item.kind === 'segment') stored.push({ capturedAt: item.time, storedAt: Date.now(), bytes: item.size });
  });
  svc.start();
  try {
    await new Promise((r) => setTimeout(r, 500));
    const slice = Math.max(1, ctx.settings.insertSeconds);
    for (const s of [off, on, on, off]) await insertFor(s, slice);
    // Everything committed must be stored before the RPO can be computed.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const st = svc.status();
      if (st.staging === 0 && st.targets.every((t) => t.pendingObjects === 0) && (stored.at(-1)?.capturedAt ?? 0) >= (on.commits.at(-1) ?? 0)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await svc.stop(30_000);
    off.db.close();
    on.db.close();
  }
  // A commit is durable once the first segment captured at or after it is stored.
  stored.sort((x, y) => x.capturedAt - y.capturedAt);
  const rpo: number[] = [];
  let j = 0;
  for (const c of on.commits ?? []) {
    while (j < stored.length && (stored[j] as { capturedAt: number }).capturedAt < c) j++;
    const s = stored[j];
    if (s) rpo.push(s.storedAt - c);
  }
  rpo.sort((x, y) => x - y);
  const rate = (s: Side) => s.rows / (s.ms / 1000);
  return { off: rate(off), on: rate(on), rpo, segments: stored.length, segmentBytes: stored.reduce((n, s) => n + s.bytes, 0), onSeconds: on.ms / 1000 };
}

// --- C: restore a large database from S3 ----------------------------------------------------------

async function restoreLarge(ctx: ScenarioContext, s3: LocalS3): Promise<{ mb: number; buildS: number; snapshotS: number; restoreS: number; notes: string[] }> {
  const src = dataDir(ctx.tmpDir, 'large');
  const t0 = performance.now();
  src.db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  // One 3,900-byte row fills one 4 KiB page (SQLCipher reserves 80 bytes per page), so the
  // file ends up close to the requested size.
  const rowBytes = 3900;
  const rows = Math.ceil((env.BENCH_RESTORE_MB * 1024 * 1024) / 4096);
  const ins = src.db.prepare('INSERT INTO blobs (body) VALUES (randomblob(?))');
  for (let i = 0; i < rows; i += 5000) {
    src.db.transaction(() => {
      for (let k = i; k < Math.min(rows, i + 5000); k++) ins.run(rowBytes);
    })();
  }
  src.db.pragma('wal_checkpoint(TRUNCATE)');
  const buildS = (performance.now() - t0) / 1000;
  const mb = fs.statSync(src.dbFile).size / 2 ** 20;

  prepareAppConnection(src.db);
  const target = s3.target('large');
  const svc = new BackupService({ dataDir: src.dir, dbFile: src.dbFile, keyring: src.keyring, log: quiet, targets: [target], syncIntervalMs: SYNC_MS, snapshotIntervalMs: 86_400_000, retentionDays: 30 });
  const t1 = performance.now();
  let snapshotS = 0;
  svc.onShippedObject((_t, item) => {
    if (item.kind === 'snapshot') snapshotS = (performance.now() - t1) / 1000;
  });
  svc.start();
  await svc.stop(600_000);
  src.db.close();
  if (snapshotS === 0) throw new Error('the snapshot of the large database did not reach S3');

  const to = path.join(ctx.tmpDir, 'restored-large');
  const t2 = performance.now();
  const r = await restoreBackup({ source: target, keyring: src.keyring, keyringFile: keyringPath(src.dir), to, fingerprint: false });
  const restoreS = (performance.now() - t2) / 1000;
  fs.rmSync(src.dir, { recursive: true, force: true });
  fs.rmSync(to, { recursive: true, force: true });
  return { mb, buildS, snapshotS, restoreS, notes: [`restore: ${r.objects} object(s), ${(r.bytes / 2 ** 20).toFixed(0)} MiB downloaded; includes integrity_check`] };
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const s3 = await startS3(path.join(ctx.tmpDir, 's3'));
  try {
    // Rounds of off, dir, s3 with one more off at the end: each on-run is compared with the mean
    // of the off-runs beside it, and the ratio reported is the median over the rounds. On a
    // shared 2-core machine one 10 s run can be far off either way; a ratio of neighbours, and
    // the median of several, holds much better.
    const offs: RegRun[] = [await registrations(ctx, s3, 'off')];
    const dirs: RegRun[] = [];
    const s3s: RegRun[] = [];
    for (let i = 0; i < env.BENCH_BACKUP_ROUNDS; i++) {
      dirs.push(await registrations(ctx, s3, 'dir'));
      s3s.push(await registrations(ctx, s3, 's3'));
      offs.push(await registrations(ctx, s3, 'off'));
    }
    const near = (i: number) => ((offs[i] as RegRun).perSec + (offs[i + 1] as RegRun).perSec) / 2;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const ratioDir = median(dirs.map((d, i) => (near(i) > 0 ? d.perSec / near(i) : 0)));
    const ratioS3 = median(s3s.map((d, i) => (near(i) > 0 ? d.perSec / near(i) : 0)));
    const mean = (xs: RegRun[]) => xs.reduce((n, r) => n + r.perSec, 0) / Math.max(1, xs.length);
    const regOff = { perSec: mean(offs), p99: Math.max(...offs.map((r) => r.p99)), failures: offs.reduce((n, r) => n + r.failures, 0) };
    const regDir = { perSec: mean(dirs), p99: Math.max(...dirs.map((r) => r.p99)), failures: dirs.reduce((n, r) => n + r.failures, 0) };
    const regOn = { perSec: mean(s3s), p99: Math.max(...s3s.map((r) => r.p99)), failures: s3s.reduce((n, r) => n + r.failures, 0) };
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const rpoDir = sorted(dirs.flatMap((r) => r.rpoMs));
    const rpoS3 = sorted(s3s.flatMap((r) => r.rpoMs));
    const lagAll = sorted([...dirs, ...s3s].flatMap((r) => r.lagMs));
    // tmpfs stands in for a target on another disk or machine: the replicator's own cost only.
    const shm = fs.mkdtempSync(fs.existsSync('/dev/shm') ? '/dev/shm/tessera-bench-' : path.join(ctx.tmpDir, 'memdir-'));
    let mem: LoopResult;
    try {
      mem = await insertPair(ctx, 'tmpfs', new DirTarget(shm));
    } finally {
      fs.rmSync(shm, { recursive: true, force: true });
    }
    const loop = await insertPair(ctx, 's3', s3.target('loop'));
    const big = env.BENCH_RESTORE_MB > 0 ? await restoreLarge(ctx, s3) : undefined;
    const figures: Figure[] = [
      { name: 'registration.off.perSec (mean)', value: regOff.perSec, unit: 'reg/s' },
      { name: 'registration.dir.perSec (mean)', value: regDir.perSec, unit: 'reg/s' },
      { name: 'registration.dir.p99', value: regDir.p99, unit: 'ms' },
      { name: 'registration.s3.perSec (mean)', value: regOn.perSec, unit: 'reg/s' },
      { name: 'registration.s3.p99', value: regOn.p99, unit: 'ms' },
      { name: 'ratio.registration.dir (on/off, median of rounds; gate >= 0.85)', value: ratioDir, unit: 'ratio' },
      { name: 'ratio.registration.s3 (on/off, median of rounds; gate >= 0.85)', value: ratioS3, unit: 'ratio' },
      { name: 'underLoad.rpo.dir.p99 (commit -> stored, during registrations)', value: pct(rpoDir, 99), unit: 'ms' },
      { name: 'underLoad.rpo.s3.p99 (commit -> stored, during registrations)', value: pct(rpoS3, 99), unit: 'ms' },
      { name: 'underLoad.rpo.max', value: Math.max(rpoDir.at(-1) ?? 0, rpoS3.at(-1) ?? 0), unit: 'ms' },
      { name: 'underLoad.lag.p99 (status lagSeconds, sampled every 100 ms)', value: pct(lagAll, 99), unit: 'ms' },
      { name: 'insert.tmpfsDir.off.perSec', value: mem.off, unit: 'rows/s' },
      { name: 'insert.tmpfsDir.on.perSec', value: mem.on, unit: 'rows/s' },
      { name: 'ratio.insert.tmpfsDir (on/off; target >= 0.9)', value: mem.off > 0 ? mem.on / mem.off : 0, unit: 'ratio' },
      { name: 'insert.s3.off.perSec', value: loop.off, unit: 'rows/s' },
      { name: 'insert.s3.on.perSec', value: loop.on, unit: 'rows/s' },
      { name: 'ratio.insert.s3 (on/off; s3rver writes to the same disk)', value: loop.off > 0 ? loop.on / loop.off : 0, unit: 'ratio' },
      { name: 'rpo.p50 (commit -> on S3)', value: pct(loop.rpo, 50), unit: 'ms' },
      { name: 'rpo.p99 (sync interval + upload)', value: pct(loop.rpo, 99), unit: 'ms' },
      { name: 'rpo.max', value: loop.rpo.at(-1) ?? 0, unit: 'ms' },
      { name: 'rpo.segmentPutsPerMinute (S3 PUTs under this load; at most 240)', value: loop.onSeconds > 0 ? (60 * loop.segments) / loop.onSeconds : 0, unit: 'PUT/min' },
      ...(big
        ? [
            { name: 'restore.databaseMiB', value: big.mb, unit: 'MiB' },
            { name: 'restore.seconds (target <= 60 for 1 GiB)', value: big.restoreS, unit: 's' },
            { name: 'restore.MiBPerSec', value: big.restoreS > 0 ? big.mb / big.restoreS : 0, unit: 'MiB/s' },
            { name: 'snapshot.secondsToS3', value: big.snapshotS, unit: 's' },
          ]
        : []),
    ];

    return {
      figures,
      notes: [
        `local S3: s3rver in its own process on the same ${'2-core'} machine; sync interval ${SYNC_MS} ms`,
        `registrations: ${ctx.settings.connections} connections, ${ctx.settings.duration} s after ${ctx.settings.warmup} s warm-up per run, ${env.BENCH_BACKUP_ROUNDS} round(s) of off/dir/s3 (off ${offs.map((r) => r.perSec.toFixed(0)).join(', ')}; dir ${dirs.map((r) => r.perSec.toFixed(0)).join(', ')}; s3 ${s3s.map((r) => r.perSec.toFixed(0)).join(', ')} reg/s)${regOff.failures + regDir.failures + regOn.failures ? `; failed requests: off ${regOff.failures}, dir ${regDir.failures}, s3 ${regOn.failures}` : ''}`,
        `under load: ${rpoDir.length + rpoS3.length} segments stored during the registration runs; lag sampled ${lagAll.length} times`,
        `insert loop: one autocommit INSERT per row (WAL, synchronous=FULL), wall time of ${Math.max(1, ctx.settings.insertSeconds)} s slices off/on/on/off; tmpfsDir ships to a directory on /dev/shm (the replicator's own cost, as with a target on another disk or machine); RPO (to S3) over ${loop.rpo.length} commits, ${loop.segments} segments (${(loop.segmentBytes / 2 ** 20 / Math.max(loop.onSeconds, 0.001)).toFixed(0)} MiB per second of inserts)`,
        BENCH_LIMIT_NOTE,
        ...(big ? [`restore of ${big.mb.toFixed(0)} MiB took ${big.restoreS.toFixed(1)} s (built in ${big.buildS.toFixed(1)} s; BENCH_RESTORE_MB=${env.BENCH_RESTORE_MB})`, ...big.notes] : ['restore skipped (BENCH_RESTORE_MB=0)']),
      ],
    };
  } finally {
    await s3.stop();
  }
}

export const backupScenario: Scenario = { name: 'backup', title: 'Continuous encrypted backup to local S3: throughput on/off, RPO under load, restore time', run };

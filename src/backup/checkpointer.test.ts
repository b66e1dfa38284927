import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Faults } from '../db/faults.ts';
import { readShmHeader } from './wal.ts';
import { createLogger } from '../log.ts';
import { type CheckpointThread, CheckpointThreadSlot, CheckpointWorker, WalCheckpoints } from './checkpointer.ts';
import { type DB, openDatabase } from '../db/open.ts';

const log = createLogger('silent');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function freshDb(): { db: DB; file: string; key: Buffer } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-ckpt-'));
  const file = path.join(dir, 'test.db');
  const key = randomBytes(32);
  const db = openDatabase(file, { key, create: true });
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  cleanups.push(() => {
    if (db.open) db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { db, file, key };
}

/** One row per transaction, each a page or more of new data, so the WAL grows by known steps. */
function write(db: DB, n: number, from = 0): void {
  const ins = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
  for (let i = 0; i < n; i++) ins.run(from + i, randomBytes(3000).toString('base64'));
}

const shm = (file: string) => readShmHeader(`${file}-shm`);

/** Another connection in a read transaction: no checkpoint copies back past its snapshot. */
function pinReader(file: string, key: Buffer): DB {
  const reader = openDatabase(file, { key });
  cleanups.push(() => void reader.close());
  reader.exec('BEGIN');
  reader.prepare('SELECT count(*) FROM t').get();
  return reader;
}

describe('WalCheckpoints', () => {
  it('lets the worker copy a long WAL back, with nothing done on the main connection, and the WAL starts over', async () => {
    const { db, file, key } = freshDb();
    const cp = new WalCheckpoints({ db, dbFile: file, key, log, frames: 50 });
    cleanups.push(() => cp.close());
    write(db, 60);
    const before = shm(file);
    expect(before.mxFrame).toBeGreaterThanOrEqual(50);
    expect(before.nBackfill).toBe(0);

    await cp.tick();
    expect(cp.stats.worker).toBeGreaterThanOrEqual(1);
    expect(cp.stats.main).toBe(0);
    const after = shm(file);
    expect(after.nBackfill).toBe(after.mxFrame);
    // The next write restarts the WAL from its beginning (new salt).
    write(db, 1, 1000);
    const restarted = shm(file);
    expect(restarted.mxFrame).toBeLessThan(before.mxFrame);
    expect(restarted.salt.equals(before.salt)).toBe(false);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 61 });
  });

  it('does nothing while the WAL is shorter than the threshold', async () => {
    const { db, file, key } = freshDb();
    const cp = new WalCheckpoints({ db, dbFile: file, key, log, frames: 500 });
    cleanups.push(() => cp.close());
    write(db, 10);
    await cp.tick();
    expect(cp.stats).toEqual({ worker: 0, main: 0, failures: 0 });
    expect(shm(file).nBackfill).toBe(0);
  });

  it('turns SQLite’s automatic checkpoint off on the app connection', () => {
    const { db, file, key } = freshDb();
    const cp = new WalCheckpoints({ db, dbFile: file, key, log, worker: false });
    cleanups.push(() => cp.close());
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    // One commit of well over 1000 frames: SQLite's own checkpoint would run right after it (its
    // hook looks at the WAL's length at every commit), and 1200 commits would be 1200 fsyncs.
    db.transaction(() => write(db, 1200))();
    // Past SQLite's own 1000-frame default and still nothing copied back: only we checkpoint.
    expect(shm(file).mxFrame).toBeGreaterThan(1000);
    expect(shm(file).nBackfill).toBe(0);
  });

  it('catches up on the main connection once the worker cannot reach the WAL’s end and the WAL passes the limit', async () => {
    const { db, file, key } = freshDb();
    const cp = new WalCheckpoints({ db, dbFile: file, key, log, frames: 20, catchUpFrames: 80 });
    cleanups.push(() => cp.close());
    write(db, 30);
    // A reader's snapshot stops every checkpoint at its frame, as commits arriving during a
    // worker round would: frames are left behind however often the worker runs.
    const reader = pinReader(file, key);
    const pinned = shm(file).mxFrame;
    write(db, 100, 100);
    await cp.tick();
    expect(cp.stats.worker).toBe(2); // the second round made no progress: no spinning
    expect(cp.stats.main).toBe(1);
    expect(shm(file).nBackfill).toBe(pinned);
    // Once the reader is gone the next look finishes the job, on the worker.
    reader.exec('COMMIT');
    await cp.tick();
    expect(cp.stats.worker).toBe(3);
    const h = shm(file);
    expect(h.nBackfill).toBe(h.mxFrame);
  });

  it('leaves what the worker could not reach to the next look while the WAL is below the limit', async () => {
    const { db, file, key } = freshDb();
    const cp = new WalCheckpoints({ db, dbFile: file, key, log, frames: 20, catchUpFrames: 100_000 });
    cleanups.push(() => cp.close());
    write(db, 30);
    const reader = pinReader(file, key);
    write(db, 100, 100);
    await cp.tick();
    expect(cp.stats.worker).toBeGreaterThanOrEqual(1);
    expect(cp.stats.main).toBe(0);
    const h = shm(file);
    expect(h.mxFrame).toBeGreaterThan(h.nBackfill);
    reader.exec('COMMIT');
  });

  it('falls back to the main connection when the worker cannot open the database, and says so once', async () => {
    const { db, file } = freshDb();
    const warnings: string[] = [];
    const spyLog = { ...log, warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) } as unknown as typeof log;
    // A wrong key: the worker's first read fails.
    const cp = new WalCheckpoints({ db, dbFile: file, key: randomBytes(32), log: spyLog, frames: 20 });
    cleanups.push(() => cp.close());
    write(db, 30);
    await cp.tick();
    await cp.tick();
    expect(cp.stats.main).toBeGreaterThanOrEqual(1);
    const h = shm(file);
    expect(h.nBackfill).toBe(h.mxFrame);
    expect(warnings).toEqual(['checkpoint worker unavailable; checkpoints run on the main thread']);
  });
});

/** An error as SQLite raises it when the file system has no space left. */
const diskFull = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });

describe('WalCheckpoints on a full disk', () => {
  it('raises disk-full instead of throwing, keeps trying, and clears it once a checkpoint goes through', async () => {
    const { db, file, key } = freshDb();
    const faults = new Faults(Date.now);
    let full = true;
    const starts: number[] = [];
    // The worker's checkpoint fails with SQLITE_FULL while `full` holds, like the real one would.
    const worker = (): CheckpointThread => {
      starts.push(starts.length);
      const real = new CheckpointWorker(file, key);
      return { checkpoint: () => (full ? Promise.reject(diskFull()) : real.checkpoint()), close: () => real.close() };
    };
    const cp = new WalCheckpoints({ db, dbFile: file, key, log, faults, frames: 20, worker });
    cleanups.push(() => cp.close());
    // The main connection's own checkpoint fails the same way.
    const realPragma = db.pragma.bind(db);
    const pragma = vi.spyOn(db, 'pragma').mockImplementation((source: string, options?: { simple?: boolean }) => {
      if (full && source.startsWith('wal_checkpoint')) throw diskFull();
      return realPragma(source, options);
    });
    cleanups.push(() => pragma.mockRestore());
    write(db, 30);
    // The worker fails, the main connection's fallback fails: tick() resolves, nothing throws.
    await expect(cp.tick()).resolves.toBeUndefined();
    expect(faults.has('disk-full')).toBe(true);
    expect(faults.first()?.message).toMatch(/disk is full/);
    expect(cp.stats.failures).toBe(2);
    expect(shm(file).nBackfill).toBe(0);
    // Space again: the next look checkpoints (here the main connection: the worker is backing off).
    full = false;
    await cp.tick();
    expect(faults.has('disk-full')).toBe(false);
    const h = shm(file);
    expect(h.nBackfill).toBe(h.mxFrame);
  });

  it('a failed worker is put aside for a back-off, then a fresh one is started: never retired for good', async () => {
    let now = 0;
    let fail = true;
    const started: string[] = [];
    const faults = new Faults(() => now);
    const slot = new CheckpointThreadSlot(
      () => {
        started.push(`worker ${started.length + 1}`);
        return { checkpoint: () => (fail ? Promise.reject(diskFull()) : Promise.resolve({ busy: 0, log: 5, checkpointed: 5 })), close: async () => undefined };
      },
      { log, faults },
      () => now,
    );
    await expect(slot.checkpoint()).rejects.toThrow('database or disk is full');
    expect(faults.has('disk-full')).toBe(true);
    expect(slot.available()).toBe(false);
    now += 999;
    expect(slot.available()).toBe(false);
    now += 1;
    expect(slot.available()).toBe(true);
    // The second failure doubles the wait.
    await expect(slot.checkpoint()).rejects.toThrow();
    now += 1999;
    expect(slot.available()).toBe(false);
    now += 1;
    fail = false;
    await expect(slot.checkpoint()).resolves.toEqual({ busy: 0, log: 5, checkpointed: 5 });
    expect(faults.has('disk-full')).toBe(false);
    expect(started).toEqual(['worker 1', 'worker 2', 'worker 3']);
    // A failure that is not about space raises nothing.
    fail = true;
    const other = new CheckpointThreadSlot(() => ({ checkpoint: () => Promise.reject(new Error('worker exited (code 1)')), close: async () => undefined }), { log, faults }, () => now);
    await expect(other.checkpoint()).rejects.toThrow('worker exited');
    expect(faults.has('disk-full')).toBe(false);
  });
});

describe('CheckpointThreadSlot', () => {
  it('a checkpoint cut short by close() (shutdown, a new key) is no failure: no warning, no back-off', async () => {
    const warnings: string[] = [];
    const spyLog = { ...log, warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) } as unknown as typeof log;
    let reject: (e: Error) => void = () => undefined;
    const slot = new CheckpointThreadSlot(
      () => ({
        checkpoint: () => new Promise((_r, rej) => (reject = rej)),
        close: async () => reject(new Error('worker is closed')),
      }),
      { log: spyLog },
    );
    const running = slot.checkpoint();
    await slot.close();
    await expect(running).rejects.toThrow('worker is closed');
    expect(warnings).toEqual([]);
    expect(slot.available()).toBe(true);
  });
});

describe('CheckpointWorker', () => {
  it('reports how far it got', async () => {
    const { db, file, key } = freshDb();
    write(db, 30);
    const w = new CheckpointWorker(file, key);
    cleanups.push(() => w.close());
    await w.started();
    const r = await w.checkpoint();
    expect(r.busy).toBe(0);
    expect(r.log).toBe(shm(file).mxFrame);
    expect(r.checkpointed).toBe(r.log);
  });

  it('rejects started() for a wrong key', async () => {
    const { db, file } = freshDb();
    write(db, 1);
    const w = new CheckpointWorker(file, randomBytes(32));
    cleanups.push(() => w.close());
    await expect(w.started()).rejects.toThrow(/not a database|NOTADB|file is not a database/i);
  });
});

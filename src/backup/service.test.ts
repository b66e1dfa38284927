import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { caughtUp, listFiles, waitFor } from '../../test/support/backup.ts';
import { tempDir } from '../../test/support/temp.ts';
import { openDatabase } from '../db/open.ts';
import { Keyring, keyringPath } from '../keys/keyring.ts';
import { readCatalog } from './catalog.ts';
import { prepareAppConnection } from './checkpointer.ts';
import { readShmHeader } from './wal.ts';
import { restoreBackup } from './restore.ts';
import { shipDue, SyncScheduler } from './scheduler.ts';
import { BackupService } from './service.ts';
import type { TargetStatus } from './shipper.ts';
import type { SpoolItem } from './spool.ts';
import { DirTarget } from './targets/dir.ts';

const root = tempDir('tessera-bksvc-');
const shmDirs: string[] = [];
const shm = () => {
  const d = fs.mkdtempSync('/dev/shm/tessera-bksvc-');
  shmDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of [root, ...shmDirs]) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh data dir with a keyring and an app connection prepared for replication, table t. */
function replicatedDb(name: string, seed: number) {
  const dataDir = path.join(root, name);
  fs.mkdirSync(dataDir, { mode: 0o700 });
  const keyring = Keyring.create(keyringPath(dataDir), Buffer.alloc(32, seed));
  const dbFile = path.join(dataDir, 'tessera.db');
  const db = openDatabase(dbFile, { key: keyring.active('db').key, create: true });
  prepareAppConnection(db);
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
  return { dataDir, keyring, dbFile, db };
}

describe('BackupService spool', () => {
  it('spills to disk when a target is down, keeps it across a restart, and ships it when the target is back', async () => {
    const { dataDir, keyring, dbFile, db } = replicatedDb('data', 7);
    // The target's root is a file: every upload fails until it is removed.
    const targetRoot = path.join(root, 'target');
    fs.writeFileSync(targetRoot, 'not a directory');
    const target = new DirTarget(targetRoot);
    const opts = { dataDir, dbFile, keyring, log: pino({ level: 'silent' }), targets: [target], syncIntervalMs: 50, snapshotIntervalMs: 86_400_000, retentionDays: 30, memoryBudgetBytes: 4096, retryDelays: { baseDelayMs: 20, maxDelayMs: 100 } };
    const spool = path.join(dataDir, 'backup-spool');
    // A status file half-written when an earlier run crashed.
    const staleTemp = path.join(dataDir, 'backup-status.json.4242.tmp');
    fs.writeFileSync(staleTemp, '{"pid":');

    let svc = new BackupService(opts);
    svc.start();
    expect(fs.existsSync(staleTemp)).toBe(false);
    // A row per look until five segments wait in the spool and the status counts them (it is
    // updated once a segment's write has finished, a moment after the file appears), however
    // many sync steps that takes.
    let rows = 0;
    await waitFor('segments to spill into the spool', () => {
      db.prepare('INSERT INTO t (v) VALUES (randomblob(3000))').run();
      rows++;
      return listFiles(spool).filter((f) => f.endsWith('.seg')).length >= 5 && (svc.status().targets[0]?.pendingSegments ?? 0) >= 5;
    });
    const st = svc.status();
    expect(st.targets[0]?.failures).toBeGreaterThan(0);
    expect(st.targets[0]?.pendingSegments).toBeGreaterThanOrEqual(5);
    await svc.stop(100);
    // Everything captured is on disk now, in order and without holes.
    const spooled = listFiles(spool).filter((f) => f.endsWith('.seg'));
    const indexes = spooled.map((f) => Number(/segments\/(\d+)-/.exec(f)?.[1]));
    expect(indexes).toEqual(indexes.map((_v, i) => i));
    expect(listFiles(spool).some((f) => f.endsWith('.snap'))).toBe(true);

    // Target back; a new run ships the leftovers of the previous one first.
    fs.rmSync(targetRoot);
    svc = new BackupService(opts);
    svc.start();
    await waitFor('everything shipped', () => caughtUp(svc.status()) && listFiles(spool).length === 0);
    await svc.stop(5000);
    db.close();
    const cat = await readCatalog(target);
    expect(cat.generations).toHaveLength(2);
    expect(cat.generations[0]?.segments.map((s) => s.index)).toEqual(indexes);
    // The first generation restores on its own, to its last segment.
    const r = await restoreBackup({ source: target, keyring, keyringFile: keyringPath(dataDir), to: path.join(root, 'restored'), generation: cat.generations[0]?.id });
    expect(r.position.segmentIndex).toBe(indexes.at(-1));
    expect(r.fingerprint?.t?.rows).toBe(rows);
  });
});

const MiB = 1024 * 1024;

describe('shipDue: N frames or T ms, whichever comes first', () => {
  const t = { frames: 100, ms: 1000 };
  it('ships as soon as N frames wait, however young they are', () => {
    expect(shipDue(t, { pendingFrames: 99, oldestAgeMs: 0, sinceStepMs: 0 })).toBe(false);
    expect(shipDue(t, { pendingFrames: 100, oldestAgeMs: 0, sinceStepMs: 0 })).toBe(true);
  });

  it('ships a single frame once the oldest waiting change is T ms old', () => {
    expect(shipDue(t, { pendingFrames: 1, oldestAgeMs: 999, sinceStepMs: 5000 })).toBe(false);
    expect(shipDue(t, { pendingFrames: 1, oldestAgeMs: 1000, sinceStepMs: 1000 })).toBe(true);
  });

  it('with nothing waiting (or an unreadable WAL-index) runs a step once per T', () => {
    expect(shipDue(t, { pendingFrames: 0, oldestAgeMs: 0, sinceStepMs: 999 })).toBe(false);
    expect(shipDue(t, { pendingFrames: 0, oldestAgeMs: 0, sinceStepMs: 1000 })).toBe(true);
    expect(shipDue(t, { pendingFrames: undefined, oldestAgeMs: 0, sinceStepMs: 999 })).toBe(false);
    expect(shipDue(t, { pendingFrames: undefined, oldestAgeMs: 0, sinceStepMs: 1000 })).toBe(true);
  });

  it('refuses thresholds that make no sense, by name', () => {
    const base = { shmFile: '/nonexistent', position: () => undefined, step: () => true, now: Date.now };
    expect(() => new SyncScheduler({ ...base, thresholds: { frames: 0, ms: 1000 } })).toThrow('the frame threshold must be a positive whole number (got 0)');
    expect(() => new SyncScheduler({ ...base, thresholds: { frames: 10, ms: 0 } })).toThrow('the time threshold must be at least 1 ms (got 0)');
  });
});

describe('BackupService cadence', () => {
  it('a burst of N frames ships without waiting for the interval; segments stay whole and in order', async () => {
    const { dataDir, keyring, dbFile, db } = replicatedDb('cadence', 9);
    const target = new DirTarget(path.join(fs.existsSync('/dev/shm') ? shm() : root, 'cadence-target'));
    // An interval no test run reaches: only the frame threshold can make these segments.
    const svc = new BackupService({ dataDir, dbFile, keyring, log: pino({ level: 'silent' }), targets: [target], syncIntervalMs: 3_600_000, syncFrames: 40, snapshotIntervalMs: 86_400_000, retentionDays: 30 });
    const stored: SpoolItem[] = [];
    svc.onShippedObject((_t, item) => {
      if (item.kind === 'segment') stored.push(item);
    });
    svc.start();
    try {
      await waitFor('the first snapshot', () => caughtUp(svc.status()));
      const insert = db.prepare('INSERT INTO t (v) VALUES (randomblob(3000))');
      // Three rounds of 60 rows (about 60 frames each, over the 40-frame threshold).
      for (let round = 1; round <= 3; round++) {
        for (let i = 0; i < 60; i++) insert.run();
        const frame = readShmHeader(`${dbFile}-shm`).mxFrame;
        await waitFor(`segment ${round} shipped by the frame threshold`, () => (svc.status().position?.frame ?? 0) >= frame && caughtUp(svc.status()) && stored.length >= round);
      }
      // Fewer frames than the threshold wait for the interval (an hour): nothing ships.
      insert.run();
      const before = stored.length;
      const positionBefore = svc.status().position?.frame;
      // A negative: let the scheduler look at the WAL several times after the insert, however
      // long that takes on a busy machine, and check that none of the looks shipped.
      const looks = svc.schedulerLooks();
      await waitFor('six more looks at the WAL', () => svc.schedulerLooks() >= looks + 6);
      expect(svc.status().position?.frame).toBe(positionBefore);
      expect(stored.length).toBe(before);
    } finally {
      await svc.stop(5000);
      db.close();
    }
    const cat = await readCatalog(target);
    const segs = cat.generations.at(-1)?.segments ?? [];
    expect(segs.map((s) => s.index)).toEqual(segs.map((_v, i) => i));
    // stop() captured the last row: a restore has all 181.
    const r = await restoreBackup({ source: target, keyring, keyringFile: keyringPath(dataDir), to: path.join(root, 'cadence-restored') });
    expect(r.fingerprint?.t?.rows).toBe(181);
  });

  it('light writes ship within the interval, and each stored segment says how long its changes waited', async () => {
    const { dataDir, keyring, dbFile, db } = replicatedDb('cadence-light', 10);
    const target = new DirTarget(path.join(root, 'cadence-light-target'));
    const svc = new BackupService({ dataDir, dbFile, keyring, log: pino({ level: 'silent' }), targets: [target], syncIntervalMs: 200, syncFrames: 1_000_000, snapshotIntervalMs: 86_400_000, retentionDays: 30 });
    svc.start();
    try {
      await waitFor('the first snapshot', () => caughtUp(svc.status()));
      db.prepare('INSERT INTO t (v) VALUES (randomblob(10))').run();
      const frame = readShmHeader(`${dbFile}-shm`).mxFrame;
      // No frame threshold in reach: the time threshold alone ships it.
      await waitFor('the row shipped by the time threshold', () => (svc.status().position?.frame ?? 0) >= frame && caughtUp(svc.status()));
      const st = svc.status().targets[0] as TargetStatus;
      expect(st.rpoSeconds).toBeGreaterThan(0);
      expect(st.rpoMaxSeconds).toBeGreaterThanOrEqual(st.rpoSeconds ?? 0);
    } finally {
      await svc.stop(5000);
      db.close();
    }
  });
});

describe('BackupService without the checkpoint worker', () => {
  it('checkpoints in the locked section: the WAL starts over, the generation goes on, a restore has every row', async () => {
    const { dataDir, keyring, dbFile, db } = replicatedDb('locked', 11);
    const target = new DirTarget(path.join(root, 'locked-target'));
    const svc = new BackupService({ dataDir, dbFile, keyring, log: pino({ level: 'silent' }), targets: [target], syncIntervalMs: 100, snapshotIntervalMs: 86_400_000, retentionDays: 30, checkpointFrames: 20, checkpointWorker: false });
    svc.start();
    try {
      const generation = svc.status().generation;
      const shm = () => readShmHeader(`${dbFile}-shm`);
      const salt = shm().salt;
      const insert = db.prepare('INSERT INTO t (v) VALUES (randomblob(3000))');
      for (let i = 0; i < 40; i++) insert.run();
      // A row per look: the first one after a checkpoint that copied everything back restarts it.
      await waitFor('the WAL to start over', () => {
        insert.run();
        return !shm().salt.equals(salt);
      });
      await waitFor('everything shipped', () => caughtUp(svc.status()) && svc.status().position?.frame === shm().mxFrame);
      expect(svc.status().checkpoints).toMatchObject({ worker: 0 });
      expect(svc.status().checkpoints?.locked).toBeGreaterThan(0);
      expect(svc.status().generation).toBe(generation);
      const restored = await restoreBackup({ source: target, keyring, keyringFile: keyringPath(dataDir), to: path.join(root, 'locked-restored') });
      const copy = openDatabase(path.join(restored.dir, 'tessera.db'), { key: keyring.active('db').key });
      expect(copy.prepare('SELECT count(*) AS n FROM t').get()).toEqual(db.prepare('SELECT count(*) AS n FROM t').get());
      copy.close();
    } finally {
      await svc.stop(5000);
      db.close();
    }
  });
});

describe('BackupService shutdown', () => {
  it('captures the last writes even when the database is locked for a moment as it stops', async () => {
    const { dataDir, keyring, dbFile, db } = replicatedDb('stop-locked', 13);
    const target = new DirTarget(path.join(root, 'stop-locked-target'));
    const svc = new BackupService({ dataDir, dbFile, keyring, log: pino({ level: 'silent' }), targets: [target], syncIntervalMs: 60_000, snapshotIntervalMs: 86_400_000, retentionDays: 30 });
    svc.start();
    await waitFor('the first snapshot', () => svc.status().lastSnapshot);
    const insert = db.prepare('INSERT INTO t (v) VALUES (randomblob(100))');
    for (let i = 0; i < 25; i++) insert.run();
    // Another connection holds the write lock just as the server stops (as a checkpoint or a
    // second process may), and lets go a little later.
    const other = openDatabase(dbFile, { key: keyring.active('db').key });
    other.exec('BEGIN IMMEDIATE');
    // stop() makes its first attempt at once, into the lock; only a retry can capture the rows.
    const stopping = svc.stop(5000);
    await new Promise((r) => setImmediate(r));
    other.exec('ROLLBACK');
    other.close();
    await stopping;
    const restored = await restoreBackup({ source: target, keyring, keyringFile: keyringPath(dataDir), to: path.join(root, 'stop-locked-restored') });
    const copy = openDatabase(path.join(restored.dir, 'tessera.db'), { key: keyring.active('db').key });
    expect(copy.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 25 });
    copy.close();
    db.close();
  });
});

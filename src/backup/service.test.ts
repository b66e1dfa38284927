import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { caughtUp, listFiles, waitFor } from '../../test/support/backup.ts';
import { tempDir } from '../../test/support/temp.ts';
import { openDatabase } from '../db/open.ts';
import { Keyring, keyringPath } from '../keys/keyring.ts';
import { CaptureBuffers } from './capture-buffers.ts';
import { readCatalog } from './catalog.ts';
import { prepareAppConnection } from './replicator.ts';
import { readShmHeader } from './wal.ts';
import { restoreBackup } from './restore.ts';
import { BackupService, type CaptureState, captureDue, MIN_CAPTURE_GAP_MS, ShipTimes } from './service.ts';
import type { TargetStatus } from './shipper.ts';
import type { SpoolItem } from './spool.ts';
import { DirTarget } from './targets/dir.ts';
import type { ObjectBody } from './targets/target.ts';

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

    let svc = new BackupService(opts);
    svc.start();
    for (let i = 0; i < 20; i++) {
      db.prepare('INSERT INTO t (v) VALUES (randomblob(3000))').run();
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor('segments to spill into the spool', () => listFiles(spool).filter((f) => f.endsWith('.seg')).length >= 5);
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
    await waitFor('everything shipped', () => caughtUp(svc.status()) && listFiles(spool).length === 0, 15_000);
    await svc.stop(5000);
    db.close();
    const cat = await readCatalog(target);
    expect(cat.generations).toHaveLength(2);
    expect(cat.generations[0]?.segments.map((s) => s.index)).toEqual(indexes);
    // The first generation restores on its own, to its last segment.
    const r = await restoreBackup({ source: target, keyring, keyringFile: keyringPath(dataDir), to: path.join(root, 'restored'), generation: cat.generations[0]?.id });
    expect(r.position.segmentIndex).toBe(indexes.at(-1));
    expect(r.fingerprint?.t?.rows).toBe(20);
  });
});

const MiB = 1024 * 1024;

describe('capture cadence', () => {
  // 1 s interval, looks every 50 ms; a target that takes 50 ms plus 20 ms per MiB.
  const base: CaptureState = { intervalMs: 1000, probeMs: 50, sinceCaptureMs: 0, oldestAgeMs: 0, pendingBytes: 0, growth: 0, backlogged: false, shipMs: (b) => 50 + (20 * b) / MiB };
  const at = (ms: number, x: Partial<CaptureState>) => captureDue({ ...base, sinceCaptureMs: ms, oldestAgeMs: ms, ...x });

  it('with nothing written, runs a step once per interval', () => {
    expect(at(999, { pendingBytes: 0 })).toBe(false);
    expect(at(1000, { pendingBytes: 0 })).toBe(true);
  });

  it('under light writes captures once per interval, early by the upload time and two looks', () => {
    const light = { pendingBytes: 20_000, growth: 20 };
    // 50 ms upload + 2 × 50 ms of looks: the last look that still lands in time is at 850 ms.
    expect(at(800, light)).toBe(false);
    expect(at(851, light)).toBe(true);
    // A change that arrived after a look that found nothing is younger than the last capture.
    expect(at(900, { ...light, oldestAgeMs: 300 })).toBe(false);
  });

  it('captures a burst as early as its upload needs, but never closer than the floor', () => {
    // 40 MiB/s: 12 MiB after 300 ms, 330 ms to ship the 14 MiB there will be at the next look.
    const burst = { pendingBytes: 12 * MiB, growth: (40 * MiB) / 1000 };
    expect(at(MIN_CAPTURE_GAP_MS - 1, { ...burst, shipMs: () => 5000 })).toBe(false);
    expect(at(MIN_CAPTURE_GAP_MS, { ...burst, shipMs: () => 5000 })).toBe(true);
    expect(at(300, burst)).toBe(false);
    expect(at(300, { ...burst, shipMs: (b) => 50 + (60 * b) / MiB })).toBe(true);
    // Short intervals: at most twice per interval.
    expect(captureDue({ ...base, intervalMs: 250, probeMs: 12.5, sinceCaptureMs: 124, oldestAgeMs: 124, pendingBytes: 1, shipMs: () => 1000 })).toBe(false);
    expect(captureDue({ ...base, intervalMs: 250, probeMs: 12.5, sinceCaptureMs: 125, oldestAgeMs: 125, pendingBytes: 1, shipMs: () => 1000 })).toBe(true);
  });

  it('does not capture early while a segment already waits behind the upload in flight', () => {
    const burst = { pendingBytes: 12 * MiB, growth: (40 * MiB) / 1000, shipMs: () => 5000 };
    expect(at(900, { ...burst, backlogged: true })).toBe(false);
    expect(at(1000, { ...burst, backlogged: true })).toBe(true);
  });

  it('when the WAL-index cannot be read, captures every half interval', () => {
    expect(at(499, { pendingBytes: undefined })).toBe(false);
    expect(at(500, { pendingBytes: undefined })).toBe(true);
  });
});

describe('ShipTimes', () => {
  // The first guess, 100 ms/MiB, always counts as one 4 MiB upload among the measured ones.
  const prior = { bytes: 4 * MiB, ms: 400 };

  it('predicts a fixed part plus the cost per byte of the recent segments, never below the slowest of a size', () => {
    const t = new ShipTimes();
    expect(t.predict(MiB)).toBeUndefined();
    // A small keyring copy shows the fixed part; the cost per byte is the first guess.
    t.add(2_000, 30);
    expect(t.predict(10 * MiB)).toBeCloseTo(30 + 1000, 5);
    // 20 MiB in 430 ms: 400 ms over the fixed part, averaged with the guess.
    t.add(20 * MiB, 430);
    const perMiB = (prior.ms + 400) / (prior.bytes / MiB + 20);
    expect(t.predict(10 * MiB)).toBeCloseTo(30 + 10 * perMiB, 5);
    // Two of 10 MiB at 230 and 330 ms: the line passes below the slower one, which then sets
    // the prediction for that size, and the same room is added at any other size.
    t.add(10 * MiB, 230);
    t.add(10 * MiB, 330);
    expect(t.predict(10 * MiB)).toBeCloseTo(330, 5);
    const perMiB2 = (prior.ms + 400 + 200 + 300) / (prior.bytes / MiB + 40);
    expect(t.predict(20 * MiB)).toBeCloseTo(30 + 20 * perMiB2 + (330 - 30 - 10 * perMiB2), 5);
  });

  it('one small segment that stalled adds its delay, not its delay per byte', () => {
    const t = new ShipTimes(11);
    t.add(2_000, 20);
    for (let i = 0; i < 9; i++) t.add(5 * MiB, 120);
    const before = t.predict(5 * MiB) as number;
    expect(before).toBeGreaterThanOrEqual(120);
    expect(before).toBeLessThan(160);
    // 300 KiB that took 250 ms (a GC pause): alone it would say 750 ms/MiB, 3.7 s for 5 MiB.
    t.add(300 * 1024, 250);
    const after = t.predict(5 * MiB) as number;
    expect(after - before).toBeGreaterThan(200);
    expect(after - before).toBeLessThan(260);
    // Once it is out of the window, it is forgotten.
    for (let i = 0; i < 11; i++) t.add(5 * MiB, 120);
    expect(t.predict(5 * MiB)).toBeLessThan(160);
  });

  it('takes a big fixed part only from small objects, and forgets old samples', () => {
    const t = new ShipTimes(3);
    // A lone big segment: most of its time is its bytes (fixed part at most 50 ms).
    t.add(10 * MiB, 550);
    const perMiB = (prior.ms + 500) / (prior.bytes / MiB + 10);
    expect(t.predict(0)).toBe(50);
    expect(t.predict(20 * MiB)).toBeCloseTo(50 + 20 * perMiB, 5);
    // A far-away target: small objects take 300 ms, well above the line; that much room is
    // added to every prediction (too much for the big ones: the safe side).
    t.add(100_000, 300);
    const miss = 300 - (50 + (perMiB * 100_000) / MiB);
    expect(t.predict(0)).toBeCloseTo(50 + miss, 5);
    expect(t.predict(20 * MiB)).toBeCloseTo(50 + 20 * perMiB + miss, 5);
    t.add(100_000, 300);
    t.add(100_000, 300);
    // The 10 MiB sample is gone: the fixed part is 300 ms, the cost per byte the first guess.
    expect(t.predict(MiB)).toBeCloseTo(300 + 100, 5);
  });
});

/** A directory target on a slow link: every upload takes 20 ms plus 80 ms per MiB. */
class SlowDirTarget extends DirTarget {
  override async put(key: string, body: ObjectBody, signal?: AbortSignal): Promise<void> {
    const bytes = 'data' in body ? body.data.reduce((n, b) => n + b.length, 0) : fs.statSync(body.file).size;
    await new Promise((r) => setTimeout(r, 20 + (80 * bytes) / MiB));
    if (signal?.aborted) throw new Error('aborted');
    return super.put(key, body);
  }
}

describe('BackupService cadence against a slow target', () => {
  it('captures a write burst early enough that every segment is stored within the sync interval, at most 4 a second', async () => {
    const { dataDir, keyring, dbFile, db } = replicatedDb('cadence', 9);
    // On tmpfs when there is one: the link's delay is the point, not the disk's fsync stalls.
    const target = new SlowDirTarget(path.join(fs.existsSync('/dev/shm') ? shm() : root, 'cadence-target'));
    const captureBuffers = new CaptureBuffers();
    const objectBuffers = new CaptureBuffers(64 << 20, 1 << 20);
    const svc = new BackupService({ dataDir, dbFile, keyring, log: pino({ level: 'silent' }), targets: [target], syncIntervalMs: 1000, snapshotIntervalMs: 86_400_000, retentionDays: 30, captureBuffers, objectBuffers });
    const stored: { item: SpoolItem; at: number }[] = [];
    svc.onShippedObject((_t, item) => {
      if (item.kind === 'segment') stored.push({ item, at: Date.now() });
    });
    svc.start();
    try {
      // Idle first: the burst comes with no segment uploaded yet to learn the target's speed from.
      await waitFor('the first snapshot', () => svc.status().lastSnapshot);
      await new Promise((r) => setTimeout(r, 1200));
      // About 2.5 MB of WAL a second for 4 s.
      const insert = db.prepare('INSERT INTO t (v) VALUES (randomblob(8000))');
      const end = Date.now() + 4000;
      let lastWrite = 0;
      while (Date.now() < end) {
        insert.run();
        insert.run();
        lastWrite = Date.now();
        await new Promise((r) => setTimeout(r, 10));
      }
      // Everything written is captured and stored by the loop itself (not by stop()'s last step):
      // the last segment was captured at or after the last write.
      await waitFor('everything shipped', () => caughtUp(svc.status()) && (stored.at(-1)?.item.time ?? 0) >= lastWrite, 15_000);
      const st = svc.status().targets[0] as TargetStatus | undefined;
      expect(st?.rpoMaxSeconds).toBeGreaterThan(0);
      expect(st?.rpoMaxSeconds).toBeLessThanOrEqual(1);
    } finally {
      await svc.stop(5000);
      db.close();
    }
    // For each segment: from before its oldest change (the capture before it, or a later look at
    // the WAL that found nothing new) until stored.
    const rpo = stored.map((s) => s.at - (s.item.after ?? 0));
    expect(stored.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...rpo)).toBeLessThanOrEqual(1000);
    // Sealed segments gave their capture memory back, and later captures read into it.
    expect(captureBuffers.kept).toBeGreaterThan(0);
    expect(captureBuffers.made).toBeLessThan(stored.length);
    // Stored segments gave their sealed memory back, and later segments were sealed into it.
    expect(objectBuffers.kept).toBeGreaterThan(0);
    expect(objectBuffers.made).toBeLessThan(stored.length);
    // At most one capture per MIN_CAPTURE_GAP_MS while writing (and one after).
    expect(stored.length).toBeLessThanOrEqual(Math.ceil(4000 / MIN_CAPTURE_GAP_MS) + 1);
    // One at a time per target: the segments went up in order, without a hole.
    const cat = await readCatalog(target);
    const idx = cat.generations.at(-1)?.segments.map((s) => s.index) ?? [];
    expect(idx).toEqual(idx.map((_v, i) => i));
    expect(stored.map((s) => s.item.key)).toEqual(cat.generations.at(-1)?.segments.map((s) => s.key));
  }, 30_000);
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
      await waitFor('the WAL to start over', async () => {
        insert.run();
        await new Promise((r) => setTimeout(r, 150));
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
    const stopping = svc.stop(5000);
    await new Promise((r) => setTimeout(r, 150));
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

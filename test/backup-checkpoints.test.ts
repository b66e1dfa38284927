import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffFingerprints, fingerprint } from '../src/backup/fingerprint.ts';
import { restoreBackup } from '../src/backup/restore.ts';
import { DirTarget } from '../src/backup/targets/dir.ts';
import { readShmHeader } from '../src/backup/wal.ts';
import { openDatabase } from '../src/db/open.ts';
import { keyringPath } from '../src/keys/keyring.ts';
import { caughtUp, createProbeTable, insertProbe, waitFor } from './support/backup.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { tempDir } from './support/temp.ts';

/**
 * With a backup target the replicator owns checkpoints; they run on the checkpoint worker beside
 * the app's commits, capped by the replicator's read position, and the WAL still starts over
 * without a new generation. A tiny threshold makes every few commits a checkpoint.
 */
const SYNC_MS = 100;
const FRAMES = 100;
let root: string;
let server: TestServer;
let backupDir: string;
let restores = 0;

const shm = () => readShmHeader(path.join(server.dataDir, 'tessera.db-shm'));
const stats = () => ({ held: 0, ...(server.backup?.status().checkpoints ?? { worker: 0, locked: 0 }) });

/** Waits for a sync step after the rows just written (a step captures every frame committed before it). */
async function captured(): Promise<void> {
  const before = Date.now();
  await waitFor('a sync step after the last writes', () => {
    const at = server.backup?.status().lastCycleAt;
    return at !== undefined && Date.parse(at) > before;
  });
}

async function shipped(): Promise<void> {
  await captured();
  await waitFor('backup to catch up', () => caughtUp(server.backup?.status()));
}

async function restoreMatchesLive(): Promise<void> {
  const live = fingerprint(server.ctx.db);
  const to = path.join(root, `restored-${++restores}`);
  const r = await restoreBackup({ source: new DirTarget(backupDir), keyring: server.ctx.keyring, keyringFile: keyringPath(server.dataDir), to });
  const db = openDatabase(path.join(to, 'tessera.db'), { key: server.ctx.keyring.active('db').key });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(diffFingerprints(fingerprint(db), live)).toEqual([]);
  } finally {
    db.close();
  }
  expect(r.position.generation).toBe(server.backup?.status().generation);
}

beforeAll(async () => {
  root = tempDir('tessera-backup-ckpt-');
  backupDir = path.join(root, 'backups');
  fs.mkdirSync(path.join(root, 'server'));
  // Back-to-back group commits (no batch window): the case where a checkpoint running beside
  // them never reaches the WAL's end and writes must be held back for a round.
  server = await startTestServer({ backupDir, backupSyncIntervalMs: SYNC_MS, walCheckpointFrames: FRAMES, writeBatchWindowMs: 0 }, { dir: path.join(root, 'server') });
  createProbeTable(server.ctx.db);
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('checkpoints with a backup target', () => {
  it('run on the worker; the WAL starts over and the generation goes on; a restore has every row', async () => {
    const generation = server.backup?.status().generation;
    expect(generation).toBeDefined();
    const salt = shm().salt;
    for (let i = 0; i < 10; i++) {
      server.ctx.db.transaction(() => {
        for (let j = 0; j < 10; j++) insertProbe(server.ctx.db, `light-${i}-${j}`, 3000);
      })();
      // Each round in a segment of its own.
      await captured();
    }
    await waitFor('a checkpoint on the worker', () => stats().worker > 0);
    // Quiet now: a checkpoint copies everything back, and the next commit restarts the WAL.
    await waitFor('the WAL to start over', async () => {
      insertProbe(server.ctx.db, 'nudge', 10);
      await captured();
      return !shm().salt.equals(salt);
    });
    await shipped();
    expect(stats().worker).toBeGreaterThan(0);
    expect(stats().locked).toBe(0);
    expect(server.backup?.status().generation).toBe(generation);
    await restoreMatchesLive();
  });

  it('under a steady stream of commits the WAL stays bounded, nothing is lost and no new generation starts', async () => {
    const generation = server.backup?.status().generation;
    const before = stats();
    let maxFrames = 0;
    let n = 0;
    let salt = shm().salt;
    let restarts = 0;
    // Until the WAL has started over with checkpoints mostly on the worker and 300 rows written
    // (a slow machine takes longer; the deadline is a hang guard).
    const hardStop = Date.now() + 60_000;
    const done = () => restarts > 0 && n > 300 && stats().worker - before.worker > stats().locked - before.locked;
    while (!done() && Date.now() < hardStop) {
      server.ctx.db.transaction(() => {
        for (let j = 0; j < 3; j++) insertProbe(server.ctx.db, `steady-${n++}`, 500);
      })();
      const h = shm();
      maxFrames = Math.max(maxFrames, h.mxFrame);
      if (!h.salt.equals(salt)) {
        restarts++;
        salt = h.salt;
      }
      // Let the event loop run the replicator, the worker's replies and the shippers.
      await new Promise((r) => setImmediate(r));
    }
    await shipped();
    const after = stats();
    expect(n).toBeGreaterThan(300);
    expect(after.worker - before.worker).toBeGreaterThan(after.locked - before.locked);
    // Without the locked fallback (32 × FRAMES with writes that can be held) the WAL would
    // hold every frame of the run and never start over.
    expect(restarts).toBeGreaterThan(0);
    expect(maxFrames).toBeLessThan(32 * FRAMES * 2);
    expect(server.backup?.status().generation).toBe(generation);
    await restoreMatchesLive();
  });

  it('holds batched writes back for a short round, so the WAL starts over without the locked checkpoint', async () => {
    const generation = server.backup?.status().generation;
    const before = stats();
    const batcher = server.ctx.writer;
    let salt = shm().salt;
    let restarts = 0;
    let n = 0;
    // Until a held round has restarted the WAL and 300 rows are written (a busy machine takes
    // longer; the deadline is a hang guard).
    const hardStop = Date.now() + 60_000;
    const done = () => restarts > 0 && stats().held > before.held && n > 300;
    while (!done() && Date.now() < hardStop) {
      // Three writers per group commit, as requests arrive in a busy server.
      await Promise.all([0, 1, 2].map(() => batcher.run(() => insertProbe(server.ctx.db, `batched-${n++}`, 500))));
      const now = shm().salt;
      if (!now.equals(salt)) {
        restarts++;
        salt = now;
      }
    }
    await shipped();
    const after = stats();
    expect(n).toBeGreaterThan(300);
    expect(after.held - before.held).toBeGreaterThan(0);
    expect(restarts).toBeGreaterThan(0);
    // The held rounds restart the WAL; a locked checkpoint is a rare fallback at most.
    expect(after.locked - before.locked).toBeLessThan(after.held - before.held);
    // /metrics counts the replicator's checkpoints when it owns them.
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const metric = (where: string) => Number(new RegExp(`^tessera_wal_checkpoints_total\\{where="${where}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    expect(metric('worker')).toBeGreaterThanOrEqual(after.worker);
    expect(metric('main')).toBeGreaterThanOrEqual(after.locked);
    expect(text).toMatch(/^tessera_wal_frames \d+$/m);
    expect(server.backup?.status().generation).toBe(generation);
    await restoreMatchesLive();
  });
});

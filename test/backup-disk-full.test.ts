import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WalCheckpoints } from '../src/backup/checkpointer.ts';
import { readShmHeader } from '../src/backup/wal.ts';
import { Faults } from '../src/db/faults.ts';
import { type DB, openDatabase } from '../src/db/open.ts';
import { tempDir } from './support/temp.ts';

/**
 * A real full disk: a 16 MiB tmpfs holding the database. Mounting needs root (and a kernel that
 * lets this container mount); elsewhere the test is skipped and says why. The same paths are
 * covered with an injected SQLITE_FULL in src/backup/checkpointer.test.ts.
 */
const root = tempDir('tessera-disk-full-');
const mnt = path.join(root, 'mnt');
function tryMount(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux to mount a small tmpfs';
  fs.mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', mnt], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'mounting a tmpfs was refused (no CAP_SYS_ADMIN in this container)';
  }
}
const skipReason = tryMount();
const mounted = skipReason === undefined;

afterAll(() => {
  if (mounted) execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
  fs.rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!mounted)(`a checkpoint on a full file system${mounted ? '' : ` (skipped: ${skipReason})`}`, () => {
  let db: DB;
  const key = randomBytes(32);
  beforeAll(() => {
    db = openDatabase(path.join(mnt, 'tessera.db'), { key, create: true });
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
  });
  afterAll(() => db?.close());

  it('raises disk-full, keeps the process up, and recovers by itself once space is freed', async () => {
    const dbFile = path.join(mnt, 'tessera.db');
    const faults = new Faults(Date.now);
    const cp = new WalCheckpoints({ db, dbFile, key, log: pino({ level: 'silent' }), faults, frames: 50 });
    try {
      // About 2.5 MiB in the WAL, none of it in the database file yet.
      const ins = db.prepare('INSERT INTO t (v) VALUES (randomblob(3000))');
      for (let i = 0; i < 800; i++) ins.run();
      // Fill what is left, so that copying pages into the database file finds no room.
      const filler = path.join(mnt, 'filler');
      const fd = fs.openSync(filler, 'w');
      try {
        const block = Buffer.alloc(64 * 1024, 1);
        for (;;) fs.writeSync(fd, block);
      } catch (e) {
        expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        fs.closeSync(fd);
      }
      // The worker's checkpoint meets the full disk (SQLITE_FULL crosses the thread with its
      // code), then the main connection's fallback does too. Nothing throws.
      await expect(cp.tick()).resolves.toBeUndefined();
      expect(faults.has('disk-full')).toBe(true);
      expect(cp.stats.failures).toBe(2);
      const h = readShmHeader(`${dbFile}-shm`);
      expect(h.nBackfill).toBeLessThan(h.mxFrame);
      // Space again: the next look finishes the checkpoint (on the main connection while the
      // worker backs off) and the state clears by itself.
      fs.rmSync(filler);
      await cp.tick();
      expect(faults.has('disk-full')).toBe(false);
      const after = readShmHeader(`${dbFile}-shm`);
      expect(after.nBackfill).toBe(after.mxFrame);
      expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 800 });
    } finally {
      await cp.close();
    }
  });
});

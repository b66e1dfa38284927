import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { caughtUp, listFiles, waitFor } from '../../test/support/backup.ts';
import { tempDir } from '../../test/support/temp.ts';
import { openDatabase } from '../db/open.ts';
import { Keyring, keyringPath } from '../keys/keyring.ts';
import { readCatalog } from './catalog.ts';
import { prepareAppConnection } from './replicator.ts';
import { restoreBackup } from './restore.ts';
import { BackupService } from './service.ts';
import { DirTarget } from './targets/dir.ts';

const root = tempDir('tessera-bksvc-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('BackupService spool', () => {
  it('spills to disk when a target is down, keeps it across a restart, and ships it when the target is back', async () => {
    const dataDir = path.join(root, 'data');
    fs.mkdirSync(dataDir, { mode: 0o700 });
    const keyring = Keyring.create(keyringPath(dataDir), Buffer.alloc(32, 7));
    const dbFile = path.join(dataDir, 'tessera.db');
    const db = openDatabase(dbFile, { key: keyring.active('db').key, create: true });
    prepareAppConnection(db);
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
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

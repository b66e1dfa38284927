import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp.ts';
import { openDatabase } from './open.ts';
import { DurableWrites, durableWrites, fileDataSync } from './wal-sync.ts';
import { DurabilityError, WriteBatcher } from './write-batcher.ts';

const dir = tempDir('tessera-walsync-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A sync the test finishes by hand, counting how many were started. */
function manualSync() {
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  return {
    started: () => pending.length,
    sync: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })),
    finish: (i: number) => pending[i]!.resolve(),
    fail: (i: number, e: Error) => pending[i]!.reject(e),
  };
}

const turn = () => new Promise((r) => setTimeout(r, 10));

function tracked(p: Promise<unknown>) {
  const t = { done: false, error: undefined as unknown };
  p.then(
    () => (t.done = true),
    (e: unknown) => ((t.done = true), (t.error = e)),
  );
  return t;
}

describe('DurableWrites', () => {
  it('gives callers that arrive during a sync the next one, shared, and never the running one', async () => {
    const m = manualSync();
    const d = new DurableWrites(m.sync);
    const first = tracked(d.afterWrites());
    expect(m.started()).toBe(1);
    // Written after sync 0 started: sync 0 may not cover them.
    const second = tracked(d.afterWrites());
    const third = tracked(d.afterWrites());
    const settled = tracked(d.settled());
    expect(m.started()).toBe(1);

    m.finish(0);
    await turn();
    expect(first.done).toBe(true);
    expect(second.done).toBe(false);
    expect(third.done).toBe(false);
    expect(settled.done).toBe(false);
    expect(m.started()).toBe(2);

    m.finish(1);
    await turn();
    expect([second.done, third.done, settled.done]).toEqual([true, true, true]);
    expect(m.started()).toBe(2);
    // Idle: nothing pending to wait for.
    const idle = tracked(d.settled());
    await turn();
    expect(idle.done).toBe(true);
    expect(m.started()).toBe(2);
  });

  it('fails the callers of a failed sync and starts afresh for the next', async () => {
    const m = manualSync();
    const d = new DurableWrites(m.sync);
    const a = tracked(d.afterWrites());
    const b = tracked(d.afterWrites());
    m.fail(0, new Error('EIO'));
    await turn();
    expect((a.error as Error).message).toBe('EIO');
    // b waited for the sync after the failed one, which is running now.
    expect(b.done).toBe(false);
    m.finish(1);
    await turn();
    expect(b).toEqual({ done: true, error: undefined });
  });

  it('syncs a real file', async () => {
    const file = path.join(dir, 'plain.bin');
    fs.writeFileSync(file, 'x');
    await expect(fileDataSync(file)()).resolves.toBeUndefined();
    await expect(fileDataSync(path.join(dir, 'missing'))()).rejects.toThrow(/ENOENT/);
  });

  it('opens the file again once it was deleted and made anew', async () => {
    const file = path.join(dir, 'recreated.bin');
    fs.writeFileSync(file, 'a');
    const sync = fileDataSync(file);
    await sync();
    fs.rmSync(file);
    // Gone for good: the kept descriptor points at a deleted inode, and the path has nothing.
    await expect(sync()).rejects.toThrow(/ENOENT/);
    fs.writeFileSync(file, 'b');
    await expect(sync()).resolves.toBeUndefined();
  });
});

describe('WriteBatcher durability', () => {
  function setup(name: string, sync?: (() => Promise<void>) | null) {
    const file = path.join(dir, name);
    const key = randomBytes(32);
    const db = openDatabase(file, { key, create: true });
    db.exec('CREATE TABLE t (n INTEGER)');
    const batcher = new WriteBatcher(db, sync === undefined ? {} : { sync });
    const count = (c = db) => Number(c.prepare('SELECT count(*) FROM t').pluck().get());
    return { db, file, key, batcher, count, insert: (n: number) => batcher.run(() => db.prepare('INSERT INTO t VALUES (?)').run(n)) };
  }

  it('acknowledges a batch only after a sync that started after its COMMIT', async () => {
    const m = manualSync();
    const { db, file, key, count, insert } = setup('ack.db', m.sync);
    const a = tracked(insert(1));
    await turn();
    // Committed (another connection sees it) but not acknowledged: the disk has not confirmed it.
    const other = openDatabase(file, { key });
    expect(count(other)).toBe(1);
    other.close();
    expect(a.done).toBe(false);
    expect(m.started()).toBe(1);
    // A batch committed while that sync runs waits for the next one.
    const b = tracked(insert(2));
    await turn();
    m.finish(0);
    await turn();
    expect(a).toEqual({ done: true, error: undefined });
    expect(b.done).toBe(false);
    m.finish(1);
    await turn();
    expect(b).toEqual({ done: true, error: undefined });
    expect(count()).toBe(2);
    db.close();
  });

  it('puts the connection back to synchronous = FULL after each batch, so other writes stay durable by themselves', async () => {
    const m = manualSync();
    const { db, insert } = setup('full.db', m.sync);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    const a = insert(1);
    await turn();
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    m.finish(0);
    await a;
    db.close();
  });

  it('rejects a failed job at once and the others with a DurabilityError when the sync fails', async () => {
    const m = manualSync();
    const { db, batcher, insert } = setup('fail.db', m.sync);
    const ok = tracked(insert(1));
    const bad = tracked(
      batcher.run(() => {
        db.prepare('INSERT INTO t VALUES (99)').run();
        throw new Error('rule broken');
      }),
    );
    await turn();
    expect((bad.error as Error).message).toBe('rule broken');
    expect(ok.done).toBe(false);
    // The failed job's row was rolled back with its savepoint.
    expect(db.prepare('SELECT n FROM t').pluck().all()).toEqual([1]);
    m.fail(0, new Error('EIO: disk gone'));
    await turn();
    expect(ok.error).toBeInstanceOf(DurabilityError);
    expect((ok.error as Error).message).toMatch(/committed but the disk did not confirm it: EIO: disk gone/);
    db.close();
  });

  it('with the default sync, fdatasyncs the real WAL file and acknowledges', async () => {
    const { db, count, insert } = setup('real.db');
    await Promise.all([insert(1), insert(2), insert(3)]);
    expect(count()).toBe(3);
    await durableWrites(db)?.settled();
    expect(fs.statSync(`${db.name}-wal`).size).toBeGreaterThan(0);
    db.close();
  });

  it('with sync: null, commits with the connection setting and registers no group sync', async () => {
    const { db, count, insert } = setup('inline.db', null);
    await insert(1);
    expect(count()).toBe(1);
    expect(durableWrites(db)).toBeUndefined();
    db.close();
  });
});

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/backup.ts';
import { tempDir } from '../../test/support/temp.ts';
import { Faults, WritesRefusedError } from './faults.ts';
import { openDatabase } from './open.ts';
import { Writer, fileDataSync } from './writer.ts';

const dir = tempDir('tessera-writer-');
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

function tracked(p: Promise<unknown>) {
  const t = { done: false, error: undefined as unknown };
  p.then(
    () => (t.done = true),
    (e: unknown) => ((t.done = true), (t.error = e)),
  );
  return t;
}

/** Lets every queued immediate and microtask run (a batch flushes on setImmediate). */
const drain = () => new Promise((r) => setImmediate(() => setImmediate(r)));

function setup(name: string, sync?: (() => Promise<void>) | null, probe?: () => void, window?: { batchWindowMs: number; maxBatch: number }) {
  const file = path.join(dir, name);
  const key = randomBytes(32);
  const db = openDatabase(file, { key, create: true });
  db.exec('CREATE TABLE t (n INTEGER)');
  const faults = new Faults(() => 1_000);
  const writer = new Writer(db, { faults, ...(sync === undefined ? {} : { sync }), ...(probe ? { probe, probeMs: 20 } : {}), ...window });
  const count = (c = db) => Number(c.prepare('SELECT count(*) FROM t').pluck().get());
  const insert = (n: number) => writer.run(() => db.prepare('INSERT INTO t VALUES (?)').run(n));
  return { db, file, key, faults, writer, count, insert };
}

describe('Writer: group commit', () => {
  it('acknowledges a batch only after a sync that started after its COMMIT', async () => {
    const m = manualSync();
    const { db, file, key, writer, count, insert } = setup('ack.db', m.sync);
    const a = tracked(insert(1));
    await waitFor('first sync', () => m.started() === 1);
    // Committed (another connection sees it) but not acknowledged: the disk has not confirmed it.
    const other = openDatabase(file, { key });
    expect(count(other)).toBe(1);
    other.close();
    expect(a.done).toBe(false);
    expect(writer.syncedThrough).toBe(0);
    // Writes arriving while that sync runs wait for it to end, then share one commit and the next sync.
    const b = tracked(insert(2));
    const c = tracked(insert(3));
    await drain();
    expect(m.started()).toBe(1);
    expect(count()).toBe(1);
    m.finish(0);
    await waitFor('first ack', () => a.done);
    expect(a.error).toBeUndefined();
    expect(writer.syncedThrough).toBe(1);
    await waitFor('second sync', () => m.started() === 2);
    expect(b.done).toBe(false);
    expect(count()).toBe(3);
    m.finish(1);
    await waitFor('second ack', () => b.done && c.done);
    expect(b.error).toBeUndefined();
    expect(c.error).toBeUndefined();
    expect(writer.syncedThrough).toBe(2);
    db.close();
  });

  it('numbers batches: a job sees its batch, writes outside a batch see 0', async () => {
    const { db, writer } = setup('numbers.db', null);
    const seen = await Promise.all([writer.run(() => writer.currentBatch), writer.run(() => writer.currentBatch)]);
    expect(seen).toEqual([1, 1]);
    expect(await writer.run(() => writer.currentBatch)).toBe(2);
    expect(writer.tx(() => writer.currentBatch)).toBe(0);
    db.close();
  });

  it('commits a write after a quiet spell at once, and gathers the writes arriving within the window of the last batch into the next', async () => {
    // A minute-long window: nothing in this test can reach its end, so only the rules decide.
    const { db, writer } = setup('window.db', null, undefined, { batchWindowMs: 60_000, maxBatch: 2 });
    const batchOf = () => writer.run(() => writer.currentBatch);
    // Nothing written before: no window to wait for.
    expect(await batchOf()).toBe(1);
    // Within the window of batch 1: it waits, however many event-loop turns pass.
    const waiting = batchOf();
    const b = tracked(waiting);
    await drain();
    await drain();
    expect(b.done).toBe(false);
    // A full batch does not wait for the window: the waiting write and this one go together.
    const both = Promise.all([waiting, batchOf()]);
    const full = tracked(both);
    await drain();
    expect(full.done).toBe(true);
    expect(await both).toEqual([2, 2]);
    db.close();
  });

  it('puts the connection back to synchronous = FULL after each batch, so other writes stay durable by themselves', async () => {
    const m = manualSync();
    const { db, insert } = setup('full.db', m.sync);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    const a = insert(1);
    await waitFor('sync', () => m.started() === 1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    m.finish(0);
    await a;
    db.close();
  });

  it('rolls back a failing job alone and commits the rest of its batch', async () => {
    const { db, writer, insert } = setup('savepoint.db');
    const ok = insert(1);
    const bad = writer.run(() => {
      db.prepare('INSERT INTO t VALUES (99)').run();
      throw new Error('rule broken');
    });
    await expect(bad).rejects.toThrow('rule broken');
    await ok;
    expect(db.prepare('SELECT n FROM t').pluck().all()).toEqual([1]);
    db.close();
  });

  it('with the default sync, fdatasyncs the real WAL file and acknowledges', async () => {
    const { db, writer, count, insert } = setup('real.db');
    await Promise.all([insert(1), insert(2), insert(3)]);
    expect(count()).toBe(3);
    await writer.settled();
    expect(writer.syncedThrough).toBe(1);
    expect(fs.statSync(`${db.name}-wal`).size).toBeGreaterThan(0);
    db.close();
  });

  it('holds batches back until every holder lets go, then commits them in order', async () => {
    const { db, writer, count, insert } = setup('hold.db');
    const first = writer.hold();
    const second = writer.hold();
    let settled = 0;
    const writes = [1, 2, 3].map((n) => insert(n).then(() => settled++));
    await drain();
    expect(count()).toBe(0);
    first();
    first(); // a second call must not release the other holder's hold
    await drain();
    expect(count()).toBe(0);
    second();
    await Promise.all(writes);
    expect(settled).toBe(3);
    expect(db.prepare('SELECT n FROM t ORDER BY rowid').pluck().all()).toEqual([1, 2, 3]);
    db.close();
  });
});

describe('Writer: faults', () => {
  it('a failed sync refuses the batch, turns the instance read-only for good, and refuses every later write', async () => {
    const m = manualSync();
    const { db, faults, writer, count, insert } = setup('syncfail.db', m.sync);
    const a = tracked(insert(1));
    await waitFor('sync', () => m.started() === 1);
    const b = tracked(insert(2)); // queued while the failing sync runs: refused, never written
    await drain();
    m.fail(0, Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
    await waitFor('both refused', () => a.done && b.done);
    expect(a.error).toBeInstanceOf(WritesRefusedError);
    expect(b.error).toBeInstanceOf(WritesRefusedError);
    expect(writer.syncedThrough).toBe(0);
    expect(faults.has('wal-sync-failed')).toBe(true);
    expect(faults.first()?.message).toMatch(/EIO/);
    // No second sync is tried: after a failed fsync, the pages may be gone.
    expect(m.started()).toBe(1);
    await expect(insert(3)).rejects.toBeInstanceOf(WritesRefusedError);
    expect(() => writer.tx(() => db.prepare('INSERT INTO t VALUES (4)').run())).toThrow(WritesRefusedError);
    // Writes that bypass the writer hit the read-only connection.
    expect(() => db.prepare('INSERT INTO t VALUES (5)').run()).toThrow(/readonly/i);
    faults.clear('wal-sync-failed');
    expect(faults.has('wal-sync-failed')).toBe(true);
    expect(count()).toBe(1);
    db.close();
  });

  it('a full disk refuses the write, raises disk-full, and clears it when the probe succeeds', async () => {
    let full = true;
    const probe = () => {
      if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    const { db, faults, writer, insert } = setup('full-disk.db', undefined, probe);
    const refused = writer.run(() => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    });
    await expect(refused).rejects.toBeInstanceOf(WritesRefusedError);
    expect(faults.has('disk-full')).toBe(true);
    expect(() =>
      writer.tx(() => {
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      }),
    ).toThrow(WritesRefusedError);
    full = false;
    await waitFor('disk-full cleared by the probe', () => !faults.has('disk-full'));
    await insert(1);
    writer.close();
    db.close();
  });

  it('a successful write clears disk-full without waiting for the probe', async () => {
    const { db, faults, insert } = setup('full-clear.db');
    faults.raise('disk-full', 'test');
    await insert(1);
    expect(faults.has('disk-full')).toBe(false);
    db.close();
  });
});

describe('fileDataSync', () => {
  it('syncs a real file and refuses a missing one', async () => {
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
    await expect(sync()).rejects.toThrow(/ENOENT/);
    fs.writeFileSync(file, 'b');
    await expect(sync()).resolves.toBeUndefined();
  });
});

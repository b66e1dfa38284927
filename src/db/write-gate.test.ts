import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp.ts';
import { openDatabase } from './open.ts';
import { WriteBatcher } from './write-batcher.ts';
import { writeGate } from './write-gate.ts';

const dir = tempDir('tessera-gate-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const turn = () => new Promise((r) => setTimeout(r, 20));

describe('WriteGate', () => {
  it('holds batched writes back until every holder lets go, then commits them in order', async () => {
    const db = openDatabase(path.join(dir, 'a.db'), { key: randomBytes(32), create: true });
    db.exec('CREATE TABLE t (n INTEGER)');
    const batcher = new WriteBatcher(db);
    const count = () => Number(db.prepare('SELECT count(*) FROM t').pluck().get());
    const gate = writeGate(db);
    expect(writeGate(db)).toBe(gate);

    const first = gate.close();
    const second = gate.close();
    let settled = 0;
    const writes = [1, 2, 3].map((n) => batcher.run(() => db.prepare('INSERT INTO t VALUES (?)').run(n)).then(() => settled++));
    await turn();
    expect(settled).toBe(0);
    expect(count()).toBe(0);

    first();
    first(); // a second call must not open the gate for the other holder
    await turn();
    expect(gate.open).toBe(false);
    expect(count()).toBe(0);

    second();
    await Promise.all(writes);
    expect(settled).toBe(3);
    expect(db.prepare('SELECT n FROM t ORDER BY rowid').pluck().all()).toEqual([1, 2, 3]);

    // Open again: writes go straight through.
    await batcher.run(() => db.prepare('INSERT INTO t VALUES (4)').run());
    expect(count()).toBe(4);
    db.close();
  });

  it('is one gate per connection', () => {
    const a = openDatabase(path.join(dir, 'b.db'), { key: randomBytes(32), create: true });
    const b = openDatabase(path.join(dir, 'c.db'), { key: randomBytes(32), create: true });
    const release = writeGate(a).close();
    expect(writeGate(a).open).toBe(false);
    expect(writeGate(b).open).toBe(true);
    release();
    expect(writeGate(a).open).toBe(true);
    a.close();
    b.close();
  });
});

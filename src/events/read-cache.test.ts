import Database from 'better-sqlite3-multiple-ciphers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReadCache } from './read-cache.ts';

describe('ReadCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const setup = () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO t VALUES (\'a\', 1)');
    const read = db.prepare('SELECT v FROM t WHERE k = ?').pluck();
    let loads = 0;
    const load = () => {
      loads++;
      return read.get('a') as number;
    };
    return { db, load, loads: () => loads };
  };

  it('reuses a read until this connection writes anything, even a rolled-back write', () => {
    const { db, load, loads } = setup();
    const cache = new ReadCache<number>(db);
    expect(cache.get('a', load)).toBe(1);
    expect(cache.get('a', load)).toBe(1);
    expect(loads()).toBe(1);
    db.prepare("UPDATE t SET v = 2 WHERE k = 'a'").run();
    expect(cache.get('a', load)).toBe(2);
    expect(loads()).toBe(2);
    db.exec("BEGIN; INSERT INTO t VALUES ('b', 9); ROLLBACK");
    expect(cache.get('a', load)).toBe(2);
    expect(loads()).toBe(3);
    // A write to another table or row also counts: the cache does not know what a read depends on.
    db.exec("INSERT INTO t VALUES ('c', 3)");
    cache.get('a', load);
    expect(loads()).toBe(4);
  });

  it('always reads through inside a transaction, and never keeps what it read there', () => {
    const { db, load, loads } = setup();
    const cache = new ReadCache<number>(db);
    db.exec('BEGIN');
    db.prepare("UPDATE t SET v = 5 WHERE k = 'a'").run();
    expect(cache.get('a', load)).toBe(5);
    db.exec('ROLLBACK');
    expect(cache.get('a', load)).toBe(1);
    expect(loads()).toBe(2);
  });

  it('reads again after maxAgeMs, for writes by other processes', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const { db, load, loads } = setup();
    const cache = new ReadCache<number>(db, 1000);
    cache.get('a', load);
    vi.advanceTimersByTime(999);
    cache.get('a', load);
    expect(loads()).toBe(1);
    vi.advanceTimersByTime(2);
    cache.get('a', load);
    expect(loads()).toBe(2);
  });

  it('keeps a value built asynchronously only if nothing was written since its stamp', async () => {
    const { db } = setup();
    const cache = new ReadCache<string>(db);
    const stamp = cache.stamp();
    await Promise.resolve();
    cache.put('page', 'v1', stamp);
    expect(cache.peek('page')).toBe('v1');
    // A write while the next value was being built: it is stored stale and never served.
    const early = cache.stamp();
    db.prepare("UPDATE t SET v = 3 WHERE k = 'a'").run();
    cache.put('page', 'v2', early);
    expect(cache.peek('page')).toBeUndefined();
    expect(cache.peek('never-put')).toBeUndefined();
  });

  it('takes no stamp inside a transaction, so nothing built there is kept', () => {
    const { db } = setup();
    const cache = new ReadCache<string>(db);
    db.exec('BEGIN');
    const stamp = cache.stamp();
    expect(stamp).toBeUndefined();
    cache.put('page', 'uncommitted', stamp);
    db.exec('ROLLBACK');
    expect(cache.peek('page')).toBeUndefined();
  });
});

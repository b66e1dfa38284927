import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { openDatabase } from '../../src/db/open.ts';

/**
 * The "raw durable single-row insert loop" baseline: one autocommit INSERT per row into a
 * SQLCipher database opened exactly like Tessera's (WAL, synchronous=FULL), for `seconds`.
 */
export function rawInsertRate(dir: string, seconds: number): number {
  const db = openDatabase(path.join(dir, `raw-${randomUUID()}.db`), { key: randomBytes(32), create: true });
  try {
    db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, payload TEXT NOT NULL) STRICT');
    const insert = db.prepare('INSERT INTO t (id, payload) VALUES (?, ?)');
    const payload = 'x'.repeat(200);
    const end = performance.now() + seconds * 1000;
    let n = 0;
    const t0 = performance.now();
    while (performance.now() < end) {
      insert.run(randomUUID(), payload);
      n++;
    }
    return n / ((performance.now() - t0) / 1000);
  } finally {
    db.close();
  }
}

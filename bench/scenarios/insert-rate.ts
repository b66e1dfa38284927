import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type DB, openDatabase } from '../../src/db/open.ts';
import type { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario.ts';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Slice length: short enough that machine-wide drift hits both databases alike. */
const SLICE_SECONDS = 0.5;

interface Target {
  label: string;
  file: string;
  db: DB;
  insert: (id: string) => void;
  rows: number;
  ms: number;
}

/** Both sides must be durable WAL, or the ratio compares different promises. */
function assertDurableWal(db: DB, label: string): void {
  const mode = db.pragma('journal_mode', { simple: true });
  const sync = db.pragma('synchronous', { simple: true });
  if (mode !== 'wal' || sync !== 2) throw new Error(`${label}: expected journal_mode=wal, synchronous=FULL(2); got ${String(mode)}, ${String(sync)}`);
}

function fileIsPlainSqlite(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    fs.readSync(fd, head, 0, head.length, 0);
    return head.equals(SQLITE_MAGIC);
  } finally {
    fs.closeSync(fd);
  }
}

function prepare(label: string, file: string, db: DB): Target {
  assertDurableWal(db, label);
  db.exec('CREATE TABLE bench_rows (id TEXT PRIMARY KEY, payload TEXT NOT NULL)');
  const stmt = db.prepare('INSERT INTO bench_rows (id, payload) VALUES (?, ?)');
  const payload = randomBytes(100).toString('hex');
  return { label, file, db, insert: (id) => void stmt.run(id, payload), rows: 0, ms: 0 };
}

/** Single-row INSERTs, each its own autocommit transaction, so every one waits for its fsync. */
function insertFor(t: Target, seconds: number): void {
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    t.insert(randomUUID());
    t.rows++;
    now = performance.now();
  }
  t.ms += now - start;
}

function finish(t: Target, expectPlain: boolean): number {
  const counted = (t.db.prepare('SELECT count(*) AS n FROM bench_rows').get() as { n: number }).n;
  t.db.close(); // the file check below must see the checkpointed, closed file
  if (counted !== t.rows) throw new Error(`${t.label}: inserted ${t.rows} rows but the table holds ${counted}`);
  // Guards against measuring two plaintext files (or two encrypted ones) by mistake.
  if (fileIsPlainSqlite(t.file) !== expectPlain) throw new Error(`${t.label}: ${t.file} is ${expectPlain ? 'encrypted' : 'plaintext'}, expected the opposite`);
  return t.rows / (t.ms / 1000);
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const seconds = ctx.settings.insertSeconds;
  const plainFile = path.join(ctx.tmpDir, 'plain.db');
  const cipherFile = path.join(ctx.tmpDir, 'cipher.db');
  const rounds = Math.max(1, Math.round(seconds / SLICE_SECONDS));

  // Same native build for both, so the only difference is the cipher.
  const opened: DB[] = [];
  let plainRate: number;
  let cipherRate: number;
  try {
    const plainDb = new Database(plainFile);
    opened.push(plainDb);
    plainDb.pragma('journal_mode = WAL');
    plainDb.pragma('synchronous = FULL');
    const plain = prepare('plaintext', plainFile, plainDb);
    const cipherDb = openDatabase(cipherFile, { key: randomBytes(32), create: true });
    opened.push(cipherDb);
    const cipher = prepare('sqlcipher', cipherFile, cipherDb);

    // Interleaved slices, each side going first in turn, instead of one long run after the other.
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? [plain, cipher] : [cipher, plain];
      for (const t of order) insertFor(t, seconds / rounds);
    }
    plainRate = finish(plain, true);
    cipherRate = finish(cipher, false);
  } finally {
    for (const db of opened) if (db.open) db.close();
  }

  return {
    figures: [
      { name: 'plaintext.insertsPerSec', value: plainRate, unit: 'rows/s' },
      { name: 'sqlcipher.insertsPerSec', value: cipherRate, unit: 'rows/s' },
      { name: 'ratio.insertsPerSec (sqlcipher/plaintext)', value: plainRate > 0 ? cipherRate / plainRate : 0, unit: 'ratio' },
    ],
    notes: [
      `${seconds} s per database in ${rounds} alternating slices; one autocommit INSERT per row (id TEXT PRIMARY KEY, 200-byte payload), WAL, synchronous=FULL; files under ${os.tmpdir()}`,
    ],
  };
}

export const insertRate: Scenario = {
  name: 'insert-rate',
  title: 'Durable single-row INSERTs: SQLCipher (src/db/open.ts) vs plaintext SQLite',
  run,
};

import { createHash } from 'node:crypto';
import type { DB } from '../db/open.ts';

export interface TableFingerprint {
  rows: number;
  /** SHA-256 over every row in key order */
  sha256: string;
}
export type Fingerprint = Record<string, TableFingerprint>;

interface TableRow {
  name: string;
  sql: string | null;
}

function quote(id: string): string {
  return `"${id.replace(/"/g, '""')}"`;
}

/** Values as text that tells types apart (1 vs '1' vs x'01'); big integers stay exact. */
function encode(v: unknown): string {
  if (v === null) return 'n';
  if (typeof v === 'bigint') return `i${v.toString()}`;
  if (typeof v === 'number') return `r${v}`;
  if (typeof v === 'string') return `t${v.length}:${v}`;
  if (Buffer.isBuffer(v)) return `b${v.toString('hex')}`;
  return `?${String(v)}`;
}

/** The tables a fingerprint covers: virtual tables are skipped (their shadow tables hold the data). */
function fingerprintedTables(db: DB, exclude: readonly string[]): TableRow[] {
  const tables = db.prepare(`SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as TableRow[];
  return tables.filter((t) => !exclude.includes(t.name) && !(t.sql && /^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(t.sql)));
}

function fingerprintTable(db: DB, t: TableRow): TableFingerprint {
  const withoutRowid = t.sql ? /\bWITHOUT\s+ROWID\b/i.test(t.sql) : false;
  let order = 'rowid';
  if (withoutRowid) {
    const pk = (db.prepare(`SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`).all(t.name) as { name: string }[]).map((c) => quote(c.name));
    order = pk.join(', ');
  }
  const stmt = db.prepare(`SELECT * FROM ${quote(t.name)} ORDER BY ${order}`).raw(true).safeIntegers(true);
  const hash = createHash('sha256');
  let rows = 0;
  for (const row of stmt.iterate() as Iterable<unknown[]>) {
    hash.update(row.map(encode).join('\u0001'));
    hash.update('\u0002');
    rows++;
  }
  return { rows, sha256: hash.digest('hex') };
}

/**
 * Row count and checksum per table, in primary-key order, so two databases at the same position
 * compare equal exactly when their rows do. Used after a restore and by the restore test.
 */
export function fingerprint(db: DB, opts: { exclude?: string[] } = {}): Fingerprint {
  const out: Fingerprint = {};
  for (const t of fingerprintedTables(db, opts.exclude ?? [])) out[t.name] = fingerprintTable(db, t);
  return out;
}

/** The same, awaiting `pause` between tables so a large database does not stall requests for long. */
export async function fingerprintPausing(db: DB, exclude: readonly string[], pause: () => Promise<unknown>): Promise<Fingerprint> {
  const out: Fingerprint = {};
  for (const t of fingerprintedTables(db, exclude)) {
    out[t.name] = fingerprintTable(db, t);
    await pause();
  }
  return out;
}

/** Tables whose fingerprints differ (or exist on one side only). */
export function diffFingerprints(a: Fingerprint, b: Fingerprint): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((n) => a[n]?.rows !== b[n]?.rows || a[n]?.sha256 !== b[n]?.sha256).sort();
}

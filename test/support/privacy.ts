import type { DB } from '../../src/db/open.ts';

/**
 * Every (table, column) whose value contains one of the needles, case-insensitively: text as
 * text, blobs as UTF-8 and as raw bytes. Scans every row of every table, so nothing is missed.
 */
export function findTraces(db: DB, needles: string[], skip: (table: string, row: Record<string, unknown>) => boolean = () => false): string[] {
  const hits: string[] = [];
  const lower = needles.map((n) => n.toLowerCase());
  const tables = (db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((t) => t.name);
  for (const t of tables) {
    for (const row of db.prepare(`SELECT * FROM "${t}"`).iterate() as IterableIterator<Record<string, unknown>>) {
      if (skip(t, row)) continue;
      for (const [col, v] of Object.entries(row)) {
        const text = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('latin1') : v === null ? '' : String(v);
        const l = text.toLowerCase();
        for (const n of lower) if (l.includes(n)) hits.push(`${t}.${col} contains ${n}`);
      }
    }
  }
  return [...new Set(hits)];
}

/** Whether a file's raw bytes contain the needle (as UTF-8). */
export function bytesContain(buf: Buffer, needle: string): boolean {
  return buf.includes(Buffer.from(needle, 'utf8'));
}

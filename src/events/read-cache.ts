import type { DB } from '../db/open.ts';

interface Entry<V> {
  value: V;
  changes: number;
  at: number;
}

/**
 * Per-process memo for the hottest public reads (an event by its slug, its seat count). Each
 * SQLite read costs a read transaction (file locks, a few microseconds); this costs one
 * statement that touches no table. An entry is reused only while
 * - this connection has changed nothing since it was read: SQLite's total_changes() moves on
 *   every INSERT, UPDATE or DELETE through it, even one later rolled back, so a write made by
 *   this server is visible to the very next request; and
 * - it is younger than `maxAgeMs`, which bounds how long a write by another process (the CLI
 *   on a live data directory) can go unseen.
 * Inside a transaction it always reads through: uncommitted state is never remembered.
 */
export class ReadCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly changes;

  constructor(
    private readonly db: DB,
    private readonly maxAgeMs = 1000,
    private readonly maxEntries = 1000,
  ) {
    this.changes = db.prepare('SELECT total_changes()').pluck();
  }

  get(key: string, load: () => V): V {
    if (this.db.inTransaction) return load();
    const changes = this.changes.get() as number;
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit && hit.changes === changes && now - hit.at < this.maxAgeMs) return hit.value;
    const value = load();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, changes, at: now });
    return value;
  }
}

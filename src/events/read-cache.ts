import type { DB } from '../db/open.ts';

/** This connection's write count and the time, when a value was read. */
export interface Stamp {
  changes: number;
  at: number;
}

interface Entry<V> extends Stamp {
  value: V;
}

/**
 * Per-process memo for the hottest public reads (an event by its slug, its seat count, the
 * rendered anonymous event page). Each
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
    const stamp = this.stamp();
    if (!stamp) return load();
    const hit = this.entries.get(key);
    if (hit && this.fresh(hit, stamp)) return hit.value;
    const value = load();
    this.put(key, value, stamp);
    return value;
  }

  /**
   * For a value built asynchronously (a rendered page): take the stamp before reading anything
   * it is built from, then put() it with that stamp, so a write in between makes it stale at
   * once. Undefined inside a transaction: nothing read there is remembered.
   */
  stamp(): Stamp | undefined {
    if (this.db.inTransaction) return undefined;
    return { changes: this.changes.get() as number, at: performance.now() };
  }

  /** The value remembered under `key`, if it is still what get() would reuse. */
  peek(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    const stamp = this.stamp();
    return stamp && this.fresh(hit, stamp) ? hit.value : undefined;
  }

  put(key: string, value: V, stamp: Stamp | undefined): void {
    if (!stamp) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { value, changes: stamp.changes, at: stamp.at });
  }

  private fresh(e: Entry<V>, now: Stamp): boolean {
    return e.changes === now.changes && now.at - e.at < this.maxAgeMs;
  }
}

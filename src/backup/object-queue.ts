import type { Writable } from 'node:stream';
import type { Faults } from '../db/faults.ts';
import type { Logger } from '../log.ts';
import { failedFor, succeeded } from './disk-space.ts';
import type { Shipper } from './shipper.ts';
import type { Spool, SpoolItem } from './spool.ts';
import type { BackupTarget } from './targets/target.ts';

/** Captured objects waiting in memory, across targets; beyond this they go to the spool on disk. */
const MEMORY_BUDGET = 64 * 1024 * 1024;

export interface ObjectQueueOptions {
  spool: Spool;
  shippers: Shipper[];
  log: Logger;
  faults?: Faults;
  /** bytes of sealed objects kept in memory before they go to the spool (default 64 MiB) */
  memoryBudgetBytes?: number;
  /** every target has the object */
  stored: (item: SpoolItem) => void;
}

/**
 * Sealed objects on their way to every target: held in memory while the budget allows (no disk
 * write and read-back on the hot path), else in the spool; handed to each target's Shipper;
 * forgotten once every target has them. A spool write that fails for lack of space raises the
 * disk-full fault, and the next one that succeeds clears it.
 */
export class ObjectQueue {
  /** key → targets that do not have it yet */
  private readonly waiting = new Map<string, Set<string>>();
  /** bytes of objects waiting in memory */
  private inMemory = 0;

  constructor(private readonly opts: ObjectQueueOptions) {}

  /** The object is still on its way to some target (retention must not delete it). */
  has(key: string): boolean {
    return this.waiting.has(key);
  }

  keys(): string[] {
    return [...this.waiting.keys()];
  }

  /**
   * Spilling moves every waiting in-memory object to disk first, oldest first, so that what a
   * crash can lose is always the newest objects, never one in the middle (a gap).
   */
  async hold(key: string, kind: SpoolItem['kind'], time: number, parts: Buffer[]): Promise<SpoolItem> {
    const size = parts.reduce((n, p) => n + p.length, 0);
    if (this.inMemory + size <= (this.opts.memoryBudgetBytes ?? MEMORY_BUDGET)) {
      this.inMemory += size;
      return { key, kind, time, size, data: parts };
    }
    await this.spill();
    return this.spooled(key, () => this.opts.spool.writeBuffers(key, parts));
  }

  /** An object written straight to the spool (snapshots: too big for memory). */
  write(key: string, produce: (out: Writable) => Promise<void>): Promise<SpoolItem> {
    return this.spooled(key, () => this.opts.spool.write(key, produce));
  }

  private async spooled(key: string, write: () => Promise<SpoolItem>): Promise<SpoolItem> {
    try {
      const item = await write();
      succeeded(this.opts);
      return item;
    } catch (e) {
      failedFor(this.opts, e, `the backup spool (${key})`);
      throw e;
    }
  }

  /** Moves every in-memory object still waiting to the spool (when over budget, and at shutdown). */
  async spill(): Promise<void> {
    const inMemory = new Map(this.opts.shippers.flatMap((s) => s.pending()).filter((i) => i.data).map((i) => [i.key, i]));
    for (const item of [...inMemory.values()].sort((a, b) => (a.key < b.key ? -1 : 1))) {
      const data = item.data;
      if (!data) continue;
      const written = await this.spooled(item.key, () => this.opts.spool.writeBuffers(item.key, data));
      // Shared by every shipper: from now on they read the file.
      item.file = written.file;
      item.data = undefined;
      this.inMemory -= item.size;
    }
  }

  enqueue(item: SpoolItem): void {
    this.waiting.set(item.key, new Set(this.opts.shippers.map((s) => s.target.label)));
    for (const s of this.opts.shippers) s.enqueue(item);
  }

  /** A target stored the object; once every target has, its memory or spool file goes. */
  shipped(target: BackupTarget, item: SpoolItem): void {
    const left = this.waiting.get(item.key);
    left?.delete(target.label);
    if (!left || left.size > 0) return;
    this.waiting.delete(item.key);
    if (item.data) {
      this.inMemory -= item.size;
      item.data = undefined;
    }
    void this.opts.spool.remove(item).catch((e: unknown) => this.opts.log.warn({ err: (e as Error).message }, 'backup: could not remove a shipped object from the spool'));
    this.opts.stored(item);
  }
}

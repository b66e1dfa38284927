import type { DB } from './open.ts';
import { DurableWrites, fileDataSync, type SyncFn, setDurableWrites } from './wal-sync.ts';
import { type WriteGate, writeGate } from './write-gate.ts';

interface Job {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface WriteBatcherOptions {
  /** most writes in one transaction */
  maxBatch?: number;
  /**
   * How a batch is made durable after its COMMIT, off the event loop. Default: fdatasync of the
   * WAL file on the thread pool. null: inside COMMIT, as SQLite's `synchronous = FULL` does.
   */
  sync?: SyncFn | null;
}

/** Why an acknowledged-looking write was refused after all. */
export class DurabilityError extends Error {
  constructor(cause: unknown) {
    super(`the write was committed but the disk did not confirm it: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DurabilityError';
  }
}

/**
 * Group commit. Writes queued within one event-loop turn run in a single BEGIN IMMEDIATE
 * transaction, each in its own savepoint (a failing write rolls back alone), and share one
 * COMMIT, so one fsync makes them all durable. The jobs still run one after another, so
 * rules such as "no more confirmed registrations than seats" hold exactly as without batching.
 *
 * The fsync itself runs on the thread pool: the batch commits with `synchronous = NORMAL` (WAL
 * written, not flushed) and its promises settle once an fdatasync of the WAL that started after
 * the COMMIT has finished, so nothing is acknowledged before it is on disk. Meanwhile the event
 * loop parses the next requests and builds the next batch, instead of waiting about a
 * millisecond per batch on the disk (more when a backup target writes to the same disk).
 * SQLite keeps NORMAL consistent on a crash; this restores FULL's durability. Other writes on
 * the connection keep the connection's own setting (FULL), which is put back after each batch.
 */
export class WriteBatcher {
  private queue: Job[] = [];
  private scheduled = false;
  /** Made once: better-sqlite3 builds four wrapper functions per transaction() call. */
  private readonly inSavepoint: (fn: () => unknown) => unknown;
  private readonly runBatch: (batch: Job[], outcomes: Outcome[]) => void;
  private readonly gate: WriteGate;
  private readonly maxBatch: number;
  private readonly durable: DurableWrites | undefined;
  private readonly relaxSync: { run(): unknown } | undefined;
  private readonly restoreSync: { run(): unknown } | undefined;

  constructor(db: DB, opts: WriteBatcherOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 256;
    this.gate = writeGate(db);
    const wal = !db.memory && String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    if (opts.sync !== null && wal) {
      this.durable = new DurableWrites(opts.sync ?? fileDataSync(`${db.name}-wal`));
      setDurableWrites(db, this.durable);
      const level = Number(db.pragma('synchronous', { simple: true }));
      this.relaxSync = db.prepare('PRAGMA synchronous = NORMAL');
      this.restoreSync = db.prepare(`PRAGMA synchronous = ${level}`);
    }
    // Called inside the batch's transaction, a transaction function is a savepoint.
    this.inSavepoint = db.transaction((fn: () => unknown) => fn());
    this.runBatch = db.transaction((batch: Job[], outcomes: Outcome[]) => {
      for (const job of batch) {
        try {
          outcomes.push({ ok: true, value: this.inSavepoint(job.fn) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
    }).immediate;
  }

  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    if (!this.gate.open) {
      // Still "scheduled": run() must not queue a second flush meanwhile.
      this.gate.whenOpen(() => setImmediate(() => this.flush()));
      return;
    }
    this.scheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    if (batch.length === 0) return;
    const outcomes: Outcome[] = [];
    this.relaxSync?.run();
    try {
      this.runBatch(batch, outcomes);
    } catch (error) {
      // The COMMIT itself failed: nothing of this batch is durable.
      for (const job of batch) job.reject(error);
      return;
    } finally {
      this.restoreSync?.run();
    }
    if (!this.durable) {
      batch.forEach((job, i) => settle(job, outcomes[i]!));
      return;
    }
    // A failed job rolled back to its savepoint: it wrote nothing that has to reach the disk.
    batch.forEach((job, i) => {
      const o = outcomes[i]!;
      if (!o.ok) job.reject(o.error);
    });
    this.durable.afterWrites().then(
      () =>
        batch.forEach((job, i) => {
          const o = outcomes[i]!;
          if (o.ok) job.resolve(o.value);
        }),
      (error: unknown) => {
        const refused = new DurabilityError(error);
        batch.forEach((job, i) => {
          if (outcomes[i]!.ok) job.reject(refused);
        });
      },
    );
  }
}

function settle(job: Job, o: Outcome): void {
  if (o.ok) job.resolve(o.value);
  else job.reject(o.error);
}

import type { DB } from './open.ts';
import { type WriteGate, writeGate } from './write-gate.ts';

interface Job {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit. Writes queued within one event-loop turn run in a single BEGIN IMMEDIATE
 * transaction, each in its own savepoint (a failing write rolls back alone), and share one
 * COMMIT, so one fsync makes them all durable. Every promise settles only after that COMMIT,
 * so nothing is acknowledged before it is on disk. The jobs still run one after another, so
 * rules such as "no more confirmed registrations than seats" hold exactly as without batching.
 */
export class WriteBatcher {
  private queue: Job[] = [];
  private scheduled = false;
  /** Made once: better-sqlite3 builds four wrapper functions per transaction() call. */
  private readonly inSavepoint: (fn: () => unknown) => unknown;
  private readonly runBatch: (batch: Job[], outcomes: Outcome[]) => void;
  private readonly gate: WriteGate;

  constructor(
    private readonly db: DB,
    private readonly maxBatch = 256,
  ) {
    this.gate = writeGate(db);
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
    try {
      this.runBatch(batch, outcomes);
    } catch (error) {
      // The COMMIT itself failed: nothing of this batch is durable.
      for (const job of batch) job.reject(error);
      return;
    }
    batch.forEach((job, i) => {
      const o = outcomes[i]!;
      if (o.ok) job.resolve(o.value);
      else job.reject(o.error);
    });
  }
}

import fs from 'node:fs';
import { type Fault, type Faults, WritesRefusedError, isDiskFull } from './faults.ts';
import type { DB } from './open.ts';

/**
 * The one path for writes, and its durability contract:
 *
 * - `tx(fn)` runs fn in one BEGIN IMMEDIATE transaction with `synchronous = FULL`: when it
 *   returns, the write is committed and its WAL is on disk. Inside an open transaction it joins it.
 * - `run(fn)` is group commit for the hot path (registrations): writes queued within one
 *   event-loop turn, or while the previous batch's sync runs, or within `batchWindowMs` of the
 *   previous batch's start, share one transaction (each in its own savepoint, so one failing
 *   write rolls back alone) and one fdatasync of the WAL, run off the event loop. Its promise
 *   resolves only after a sync that started after the batch's COMMIT has finished.
 * - Batches are numbered. `currentBatch` is the number of the batch a job runs in (0 outside
 *   one: such writes are durable at their own COMMIT); `syncedThrough` is the highest batch known
 *   to be on disk. The outbox stamps rows with the first and sends only rows at or below the
 *   second, so no mail leaves for a write a power cut could still undo.
 * - A failed sync is final (the kernel may have dropped the dirty pages): the `wal-sync-failed`
 *   fault is raised, the connection turns `query_only`, every unsynced batch is refused and
 *   nothing is acknowledged again until a restart. A full disk raises `disk-full`; the write is
 *   refused, and the fault clears on the next commit that succeeds (a probe tries every few
 *   seconds).
 * - `hold()` keeps batches back for a moment (the backup needs a quiet WAL to restart it).
 */

/** Makes everything written to the WAL before the call durable. */
export type SyncFn = () => Promise<void>;

/**
 * fdatasync of the WAL on libuv's thread pool, through a descriptor kept open. If SQLite deleted
 * the WAL and made a new one meanwhile, the old inode has no links left and the file is opened again.
 */
export function fileDataSync(file: string): SyncFn {
  let fd: number | undefined;
  return () =>
    new Promise<void>((resolve, reject) => {
      try {
        if (fd !== undefined && fs.fstatSync(fd).nlink === 0) {
          fs.closeSync(fd);
          fd = undefined;
        }
        fd ??= fs.openSync(file, 'r');
      } catch (e) {
        reject(e);
        return;
      }
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    });
}

export interface WriterOptions {
  faults: Faults;
  /** most writes in one batch */
  maxBatch?: number;
  /** the batch sync; default fdatasync of `<db>-wal`. null: inside COMMIT (in-memory databases) */
  sync?: SyncFn | null;
  /** a tiny real write, tried every `probeMs` while the disk is full to notice space came back */
  probe?: () => void;
  probeMs?: number;
  /**
   * At most one batch per this many ms: a write arriving within it of the last batch waits for
   * the window to end, one arriving after a quiet window goes at once. A commit's cost is mostly
   * per batch (each index touched writes a whole encrypted page), so at a few hundred writes a
   * second one-write batches cost about three times as much CPU per write as batches of 32.
   * 0: no window.
   */
  batchWindowMs?: number;
}

/** What the outbox needs of the writer: which batch a row is written in, and which are on disk. */
export interface Durability {
  readonly currentBatch: number;
  readonly syncedThrough: number;
}

interface Job {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export class Writer implements Durability {
  private queue: Job[] = [];
  private scheduled = false;
  private holds = 0;
  private batchNo = 0;
  private inBatch = 0;
  private synced = 0;
  private committed = 0;
  private syncing = false;
  /** a flush found a sync running and left its jobs queued for when it ends */
  private deferred = false;
  private waiting: { batch: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private probeTimer: NodeJS.Timeout | undefined;
  /** performance.now() when the last batch started */
  private lastBatchAt = Number.NEGATIVE_INFINITY;
  /** the flush waiting for the end of the batch window */
  private windowTimer: NodeJS.Timeout | undefined;
  private readonly maxBatch: number;
  private readonly sync: SyncFn | undefined;
  private readonly immediate: (fn: () => unknown) => unknown;
  private readonly inSavepoint: (fn: () => unknown) => unknown;
  private readonly runBatch: (batch: Job[], outcomes: Outcome[]) => void;
  private readonly relax: { run(): unknown } | undefined;
  private readonly restore: { run(): unknown } | undefined;

  constructor(
    private readonly db: DB,
    private readonly opts: WriterOptions,
  ) {
    this.maxBatch = opts.maxBatch ?? 256;
    const wal = !db.memory && String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    if (opts.sync !== null && wal) {
      this.sync = opts.sync ?? fileDataSync(`${db.name}-wal`);
      // Read first: SQLite applies a synchronous pragma already when it is prepared.
      const level = Number(db.pragma('synchronous', { simple: true }));
      this.relax = db.prepare('PRAGMA synchronous = NORMAL');
      this.restore = db.prepare(`PRAGMA synchronous = ${level}`);
    }
    // Made once: better-sqlite3 builds four wrapper functions per transaction() call.
    this.immediate = db.transaction((fn: () => unknown) => fn()).immediate;
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
    opts.faults.subscribe(({ type, fault }) => {
      if (type === 'raised' && fault.kind === 'wal-sync-failed') this.db.pragma('query_only = ON');
      if (type === 'raised' && fault.kind === 'disk-full') this.startProbe();
    });
  }

  get currentBatch(): number {
    return this.inBatch;
  }

  get syncedThrough(): number {
    return this.synced;
  }

  /** A durable write in its own transaction (or the caller's). */
  tx<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.refuseIfBroken();
    try {
      const value = this.immediate(fn) as T;
      this.opts.faults.clear('disk-full');
      return value;
    } catch (e) {
      throw this.refusal(e) ?? e;
    }
  }

  /** A write through group commit: resolves once it is durable. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Resolves once every batch committed before the call is durable. */
  settled(): Promise<void> {
    if (this.committed <= this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ batch: this.committed, resolve, reject });
      this.startSync();
    });
  }

  /** Holds batches back until the returned function is called (a second call does nothing). */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds === 0 && this.queue.length > 0) this.schedule(true);
    };
  }

  close(): void {
    // Writes waiting for the batch window are written now, not left hanging.
    if (this.windowTimer) {
      clearTimeout(this.windowTimer);
      this.windowTimer = undefined;
      this.flush();
    }
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }

  private schedule(force = false): void {
    const wait = this.lastBatchAt + (this.opts.batchWindowMs ?? 0) - performance.now();
    const now = wait <= 0 || this.queue.length >= this.maxBatch;
    // A batch that filled up while waiting for the window goes at once.
    if (this.scheduled && !force && !(now && this.windowTimer)) return;
    clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
    this.scheduled = true;
    if (now) {
      setImmediate(() => this.flush());
      return;
    }
    this.windowTimer = setTimeout(() => {
      this.windowTimer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    this.scheduled = false;
    if (this.holds > 0) return; // the last hold's release schedules the next flush
    // A batch committed now could not be acknowledged before the running sync ends anyway: wait
    // for it, and the writes arriving meanwhile share one commit (at moderate rates each would
    // otherwise pay a commit of its own). The wait is bounded by that sync; no latency is added.
    if (this.syncing) {
      this.deferred = true;
      return;
    }
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) this.schedule();
    if (batch.length === 0) return;
    const broken = this.brokenFault();
    if (broken) {
      for (const job of batch) job.reject(new WritesRefusedError(broken));
      return;
    }
    const outcomes: Outcome[] = [];
    this.lastBatchAt = performance.now();
    const no = ++this.batchNo;
    this.inBatch = no;
    this.relax?.run();
    try {
      this.runBatch(batch, outcomes);
    } catch (error) {
      // The COMMIT itself failed: nothing of this batch was written.
      const refused = this.refusal(error) ?? error;
      for (const job of batch) job.reject(refused);
      return;
    } finally {
      this.inBatch = 0;
      this.restore?.run();
    }
    this.opts.faults.clear('disk-full');
    // A failed job rolled back to its savepoint: it wrote nothing that must reach the disk.
    batch.forEach((job, i) => {
      const o = outcomes[i] as Outcome;
      if (!o.ok) job.reject(this.refusal(o.error) ?? o.error);
    });
    const done = () =>
      batch.forEach((job, i) => {
        const o = outcomes[i] as Outcome;
        if (o.ok) job.resolve(o.value);
      });
    if (!this.sync) {
      this.committed = this.synced = no;
      done();
      return;
    }
    this.committed = no;
    new Promise<void>((resolve, reject) => {
      this.waiting.push({ batch: no, resolve, reject });
      this.startSync();
    }).then(done, (e: unknown) => batch.forEach((job, i) => (outcomes[i] as Outcome).ok && job.reject(e)));
  }

  /** One sync at a time; callers that arrive meanwhile share the next one. */
  private startSync(): void {
    if (this.syncing || this.waiting.length === 0 || !this.sync) return;
    const broken = this.brokenFault();
    if (broken) {
      this.rejectWaiting(new WritesRefusedError(broken));
      return;
    }
    this.syncing = true;
    const upTo = this.committed;
    this.sync().then(
      () => {
        this.synced = Math.max(this.synced, upTo);
        const ready = this.waiting.filter((w) => w.batch <= upTo);
        this.waiting = this.waiting.filter((w) => w.batch > upTo);
        this.syncing = false;
        for (const w of ready) w.resolve();
        if (this.deferred) {
          this.deferred = false;
          this.schedule(true);
        }
        this.startSync();
      },
      (e: unknown) => {
        this.syncing = false;
        this.opts.faults.raise('wal-sync-failed', `the write-ahead log could not be synced to disk (${errorCode(e)}); writes are refused until the server is restarted`);
        this.rejectWaiting(new WritesRefusedError(this.brokenFault() as Fault));
        // The jobs left queued for after this sync are refused now too.
        if (this.deferred) {
          this.deferred = false;
          this.flush();
        }
      },
    );
  }

  private rejectWaiting(e: unknown): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.reject(e);
  }

  private brokenFault(): Fault | undefined {
    return this.opts.faults.list().find((f) => f.kind === 'wal-sync-failed');
  }

  private refuseIfBroken(): void {
    const f = this.brokenFault();
    if (f) throw new WritesRefusedError(f);
  }

  /** The refusal a failed write becomes, when it failed for a fault rather than its own reason. */
  private refusal(e: unknown): WritesRefusedError | undefined {
    return writeRefusal(this.opts.faults, e);
  }

  private startProbe(): void {
    const probe = this.opts.probe;
    if (!probe || this.probeTimer) return;
    this.probeTimer = setInterval(() => {
      if (!this.opts.faults.has('disk-full')) {
        clearInterval(this.probeTimer);
        this.probeTimer = undefined;
        return;
      }
      try {
        this.tx(probe);
      } catch {
        // Still full: the next probe tries again.
      }
    }, this.opts.probeMs ?? 2000);
    this.probeTimer.unref();
  }
}

/**
 * Turns a write's failure into a refusal when a fault explains it: a full disk (raised here), a
 * failed sync inside COMMIT (raised here; final), or a write made on the read-only connection.
 * undefined: the error is the write's own (a constraint, a bug) and stays as it is.
 */
export function writeRefusal(faults: Faults, e: unknown): WritesRefusedError | undefined {
  if (e instanceof WritesRefusedError) return e;
  const code = errorCode(e);
  if (isDiskFull(e)) {
    faults.raise('disk-full', 'the disk holding the database is full; free space and writes resume by themselves');
  } else if (code === 'SQLITE_IOERR_FSYNC' || code === 'SQLITE_IOERR_DIR_FSYNC') {
    faults.raise('wal-sync-failed', `the database could not be synced to disk (${code}); writes are refused until the server is restarted`);
  } else if (!(code === 'SQLITE_READONLY' && !faults.writable)) {
    return undefined;
  }
  const f = faults.first();
  return f ? new WritesRefusedError(f) : undefined;
}

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : e instanceof Error ? e.name : 'unknown error';
}

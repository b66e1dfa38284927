import { checkpointWorkerAssetKey } from '../assets.ts';
import { type DB, nativeAddonFile } from '../db/open.ts';
import type { Faults } from '../db/faults.ts';
import type { Logger } from '../log.ts';
import { WorkerRpc } from '../worker-rpc.ts';
import { failedFor, succeeded } from './disk-space.ts';
import { readShmHeader, type ShmHeader } from './wal.ts';

export interface CheckpointResult {
  /** 1 when another checkpoint or a lock got in the way */
  busy: number;
  /** frames in the WAL when it ran */
  log: number;
  /** frames it has copied back into the database file (all of them so far, not only this run) */
  checkpointed: number;
}

/** What runs checkpoints off the event loop (a CheckpointWorker; tests give a stand-in). */
export interface CheckpointThread {
  checkpoint(): Promise<CheckpointResult>;
  close(): Promise<void>;
}

/**
 * A worker thread with its own connection that runs PASSIVE checkpoints on request.
 *
 * A checkpoint decrypts every page it copies out of the WAL and encrypts it again into the
 * database file; SQLite's automatic checkpoint does that inside whichever COMMIT crosses
 * 1000 frames, which stalled every request behind it by 15–40 ms and took about a fifth of
 * the main thread under a registration rush. On its own connection it runs on the other core
 * while the event loop goes on. PASSIVE never blocks writers: it copies what no reader still
 * needs and reports how far it got.
 */
export class CheckpointWorker implements CheckpointThread {
  private readonly rpc: WorkerRpc<object, CheckpointResult>;

  constructor(file: string, key: Buffer) {
    this.rpc = new WorkerRpc(() => new URL('./checkpoint-worker.ts', import.meta.url), checkpointWorkerAssetKey, { file, keyHex: key.toString('hex'), addonPath: nativeAddonFile() });
  }

  /** Resolves once the worker has opened the database (a wrong key or path rejects). */
  started(): Promise<void> {
    return this.rpc.started();
  }

  async checkpoint(): Promise<CheckpointResult> {
    const r = await this.rpc.call({});
    return { busy: r.busy ?? 1, log: r.log ?? -1, checkpointed: r.checkpointed ?? -1 };
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}

export interface CheckpointOutcomes {
  log: Logger;
  /** disk-full is raised when a checkpoint fails for lack of space, cleared when one succeeds */
  faults?: Faults;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/**
 * The checkpoint worker of one database, started on first use. A failure (a full disk, a worker
 * that could not start or died) puts it aside for a back-off that doubles up to 30 s, then a
 * fresh worker is tried: nothing temporary retires it for good. Meanwhile available() is false
 * and the caller checkpoints on its own connection.
 */
export class CheckpointThreadSlot {
  private thread: CheckpointThread | undefined;
  /** ended on purpose (shutdown, a new key): a call it cuts short is not a failure */
  private closedThread: CheckpointThread | undefined;
  private failures = 0;
  private retryAt = 0;
  private lastError: string | undefined;

  constructor(
    private readonly start: () => CheckpointThread,
    private readonly out: CheckpointOutcomes,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  available(): boolean {
    return this.clock() >= this.retryAt;
  }

  /** Runs one checkpoint on the worker; rejects (and backs off) when it failed. */
  async checkpoint(): Promise<CheckpointResult> {
    let r: CheckpointResult;
    let thread: CheckpointThread | undefined;
    try {
      thread = this.thread ??= this.start();
      r = await thread.checkpoint();
    } catch (e) {
      if (thread === undefined || thread !== this.closedThread) this.failed(e);
      throw e;
    }
    succeeded(this.out);
    if (this.failures > 0) this.out.log.info({ after: this.failures }, 'checkpoint worker works again');
    this.failures = 0;
    this.lastError = undefined;
    return r;
  }

  private failed(e: unknown): void {
    this.failures++;
    this.retryAt = this.clock() + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(this.failures - 1, 8));
    const msg = e instanceof Error ? e.message : String(e);
    // Once per distinct reason, not once per retry.
    if (msg !== this.lastError) this.out.log.warn({ err: msg, retryInMs: Math.round(this.retryAt - this.clock()) }, 'checkpoint worker unavailable; checkpoints run on the main thread');
    this.lastError = msg;
    failedFor(this.out, e, 'a WAL checkpoint');
    // A worker may be half-broken (its connection, its thread): the next try starts a fresh one.
    const t = this.thread;
    this.thread = undefined;
    void t?.close().catch(() => undefined);
  }

  /** Ends the worker; a later checkpoint() starts another. */
  async close(): Promise<void> {
    const t = this.thread;
    this.thread = undefined;
    this.closedThread = t;
    await t?.close();
  }
}

/**
 * The app's own connection: it must never checkpoint (the checkpointer or the backup replicator
 * owns that), and after each WAL restart SQLite trims the -wal file back to this size, so one
 * burst does not leave a huge file behind.
 */
export function prepareAppConnection(db: DB): void {
  db.pragma('wal_autocheckpoint = 0');
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
}

/** worker rounds per look at the WAL; the next look (intervalMs later) goes on chasing */
const MAX_ROUNDS = 8;
/** frames left behind that count as caught up: one more round would mostly be overhead */
const CAUGHT_UP_FRAMES = 64;

export interface WalCheckpointsOptions {
  /** the app's connection (never auto-checkpoints; used for the short catch-up checkpoint) */
  db: DB;
  dbFile: string;
  key: Buffer;
  log: Logger;
  faults?: Faults;
  /** checkpoint on the worker once the WAL holds this many frames (SQLite's default is 1000) */
  frames?: number;
  /**
   * WAL length at which the app's connection finishes the job itself: under a steady stream of
   * commits a checkpoint running beside them never catches the WAL's end, and only a WAL whose
   * every frame is copied back can start over from its beginning.
   */
  catchUpFrames?: number;
  /** how often the WAL length is looked at */
  intervalMs?: number;
  /** false: no thread, every checkpoint on the app's connection; a function: starts that stand-in (tests). */
  worker?: false | (() => CheckpointThread);
}

/**
 * Checkpoint policy of a server with no backup target (with one, the backup replicator owns
 * checkpoints: it must copy frames before they go). The app's connection runs with
 * wal_autocheckpoint=0; this looks at the WAL-index header a few times a second and hands
 * long WALs to the worker. What the worker could not reach because commits kept arriving is
 * copied back by the app's own connection once the WAL passes catchUpFrames: by then only the
 * frames written during the last worker run are left, so that stall is short. No failure here
 * ever escapes: a full disk is raised as a fault and the next look tries again.
 */
export class WalCheckpoints {
  private readonly frames: number;
  private readonly catchUpFrames: number;
  private readonly shmFile: string;
  private readonly slot: CheckpointThreadSlot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastError: string | undefined;
  /** counters for /metrics and tests */
  readonly stats = { worker: 0, main: 0, failures: 0 };
  /** the last checkpoint that finished: when (ms since epoch) and how long it took (for /metrics) */
  last: { at: number; seconds: number } | undefined;

  constructor(private readonly opts: WalCheckpointsOptions) {
    this.frames = opts.frames ?? 1000;
    this.catchUpFrames = opts.catchUpFrames ?? 8 * this.frames;
    this.shmFile = `${opts.dbFile}-shm`;
    prepareAppConnection(opts.db);
    if (opts.worker !== false) {
      const start = opts.worker ?? (() => new CheckpointWorker(opts.dbFile, opts.key));
      this.slot = new CheckpointThreadSlot(start, opts);
    }
  }

  /** WAL frames now, and how far checkpoints have copied them back (for /metrics). */
  walFrames(): { frames: number; backfilled: number } {
    const h = this.header();
    return { frames: h?.mxFrame ?? 0, backfilled: h?.nBackfill ?? 0 };
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs ?? 100);
    this.timer.unref();
  }

  /** One look at the WAL; resolves (never rejects) when any checkpoint it started has finished. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    const h = this.header();
    if (!h || h.mxFrame < this.frames || h.mxFrame === h.nBackfill) return Promise.resolve();
    this.running = this.run()
      .catch((e: unknown) => this.mainFailed(e))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const slot = this.slot?.available() ? this.slot : undefined;
    let workerOk = slot !== undefined;
    if (slot) {
      // Chase the WAL's end: each round only copies what arrived during the previous one.
      let backfilled = -1;
      for (let round = 0; round < MAX_ROUNDS; round++) {
        try {
          const t0 = performance.now();
          await slot.checkpoint();
          this.stats.worker++;
          this.last = { at: Date.now(), seconds: (performance.now() - t0) / 1000 };
        } catch {
          this.stats.failures++;
          workerOk = false;
          break;
        }
        const h = this.header();
        if (!h || h.mxFrame < this.frames || h.mxFrame - h.nBackfill < CAUGHT_UP_FRAMES) break;
        // A reader's open snapshot stops checkpoints at its frame: another round would spin.
        if (h.nBackfill === backfilled) break;
        backfilled = h.nBackfill;
      }
    }
    const h = this.header();
    if (h && h.mxFrame > h.nBackfill && (!workerOk || h.mxFrame >= this.catchUpFrames)) {
      const t0 = performance.now();
      this.opts.db.pragma('wal_checkpoint(PASSIVE)');
      this.stats.main++;
      this.last = { at: Date.now(), seconds: (performance.now() - t0) / 1000 };
      this.lastError = undefined;
      succeeded(this.opts);
    }
  }

  private mainFailed(e: unknown): void {
    this.stats.failures++;
    failedFor(this.opts, e, 'a WAL checkpoint');
    const msg = e instanceof Error ? e.message : String(e);
    if (msg !== this.lastError) this.opts.log.error({ err: msg }, 'WAL checkpoint failed; trying again at the next look');
    this.lastError = msg;
  }

  private header(): ShmHeader | undefined {
    try {
      return readShmHeader(this.shmFile);
    } catch {
      return undefined;
    }
  }

  /** Waits for a running checkpoint, stops the timer and the worker. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.slot?.close();
  }
}

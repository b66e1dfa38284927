import { readShmHeader, type ShmHeader } from '../backup/wal.ts';
import type { Logger } from '../log.ts';
import { checkpointWorkerAssetKey } from '../assets.ts';
import { WorkerRpc } from '../worker-rpc.ts';
import { type DB, nativeAddonFile } from './open.ts';

export interface CheckpointResult {
  /** 1 when another checkpoint or a lock got in the way */
  busy: number;
  /** frames in the WAL when it ran */
  log: number;
  /** frames it has copied back into the database file (all of them so far, not only this run) */
  checkpointed: number;
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
export class CheckpointWorker {
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
  /** false: no thread, every checkpoint on the app's connection; an object: that worker (tests). */
  useWorker?: boolean | Pick<CheckpointWorker, 'checkpoint' | 'close'>;
}

/**
 * Checkpoint policy of a server with no backup target (with one, the backup replicator owns
 * checkpoints: it must copy frames before they go). The app's connection runs with
 * wal_autocheckpoint=0; this looks at the WAL-index header a few times a second and hands
 * long WALs to the worker. What the worker could not reach because commits kept arriving is
 * copied back by the app's own connection once the WAL passes catchUpFrames: by then only the
 * frames written during the last worker run are left, so that stall is short.
 */
export class WalCheckpoints {
  private readonly frames: number;
  private readonly catchUpFrames: number;
  private readonly shmFile: string;
  /** started on the first long WAL: most instances never need it between restarts */
  private worker: Pick<CheckpointWorker, 'checkpoint' | 'close'> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private workerBroken = false;
  /** counters for /metrics and tests */
  readonly stats = { worker: 0, main: 0, failures: 0 };

  constructor(private readonly opts: WalCheckpointsOptions) {
    this.frames = opts.frames ?? 1000;
    this.catchUpFrames = opts.catchUpFrames ?? 8 * this.frames;
    this.shmFile = `${opts.dbFile}-shm`;
    opts.db.pragma('wal_autocheckpoint = 0');
    // After a WAL restart SQLite trims the file back to this size, so a burst leaves no huge file.
    opts.db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    if (typeof opts.useWorker === 'object') this.worker = opts.useWorker;
    else if (opts.useWorker === false) this.workerBroken = true;
  }

  /** Without a worker (it failed to start) checkpoints still happen, on the main thread. */
  private startWorker(): CheckpointWorker | undefined {
    try {
      const w = new CheckpointWorker(this.opts.dbFile, this.opts.key);
      w.started().catch((e: unknown) => this.workerFailed(e));
      return w;
    } catch (e) {
      this.workerFailed(e);
      return undefined;
    }
  }

  private workerFailed(e: unknown): void {
    if (!this.workerBroken) this.opts.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'checkpoint worker unavailable; checkpoints run on the main thread');
    this.workerBroken = true;
  }

  /** WAL frames now, and how far checkpoints have copied them back (for /metrics). */
  walFrames(): { frames: number; backfilled: number } {
    const h = this.header();
    return { frames: h?.mxFrame ?? 0, backfilled: h?.nBackfill ?? 0 };
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs ?? 100);
    this.timer.unref();
  }

  /** One look at the WAL; returns when any checkpoint it started has finished. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    const h = this.header();
    if (!h || h.mxFrame < this.frames || h.mxFrame === h.nBackfill) return Promise.resolve();
    this.running = this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    if (!this.worker && !this.workerBroken) this.worker = this.startWorker();
    if (this.worker && !this.workerBroken) {
      // Chase the WAL's end: each round only copies what arrived during the previous one.
      let backfilled = -1;
      for (let round = 0; round < MAX_ROUNDS; round++) {
        try {
          await this.worker.checkpoint();
          this.stats.worker++;
        } catch (e) {
          this.stats.failures++;
          this.workerFailed(e);
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
    if (h && h.mxFrame > h.nBackfill && (this.workerBroken || h.mxFrame >= this.catchUpFrames)) {
      this.opts.db.pragma('wal_checkpoint(PASSIVE)');
      this.stats.main++;
    }
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
    await this.worker?.close();
  }
}

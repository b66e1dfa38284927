import type { DB } from '../db/open.ts';
import type { Faults } from '../db/faults.ts';
import type { Logger } from '../log.ts';
import { type CheckpointResult, type CheckpointThread, CheckpointThreadSlot, CheckpointWorker } from './checkpointer.ts';
import { failedFor, succeeded } from './disk-space.ts';
import { readShmHeader, type ShmHeader } from './wal.ts';

/** A held-back write waits at most this long, whatever the worker does. */
const MAX_HOLD_MS = 100;
/** writes are held back for a round with at most this much left to copy (a few milliseconds) */
const HOLD_FRAMES = 256;
/** how often the WAL's length is looked at between sync cycles (a 136-byte read) */
const CHASE_MS = 25;

/** What the checkpoints need to know of the replicator's generation. */
export interface CapturePosition {
  id: string;
  walIndex: number;
  /** last captured frame of the current WAL incarnation */
  frame: number;
  salt: Buffer;
  /** our last checkpoint copied back every captured frame and nothing more existed */
  complete: boolean;
}

/** The replicator, as the checkpoints see it. */
export interface CheckpointHost {
  position(): CapturePosition | undefined;
  /** a generation is under way and no snapshot is being taken: captures between cycles may run */
  capturing(): boolean;
  /** captures what was committed since (not shipped yet), which lets the next checkpoint go further */
  captureMore(): void;
  /** every frame is copied back: re-takes the read transaction so the WAL can start over */
  readDatabaseFileOnly(): void;
  closed(): boolean;
}

export interface ReplicaCheckpointsOptions {
  dbFile: string;
  dbKey: () => Buffer;
  log: Logger;
  faults?: Faults;
  /** checkpoint once the WAL holds this many frames (SQLite's own default is 1000) */
  checkpointFrames?: number;
  /** WAL length from which worker rounds chase the WAL's end (default 16 × checkpointFrames; with holdWrites only) */
  restartFrames?: number;
  /** WAL length at which the locked section checkpoints after all (default 32 × with holdWrites, else 8 ×) */
  lockedCheckpointFrames?: number;
  /** false: every checkpoint runs in the locked section, on this thread */
  checkpointWorker?: boolean;
  /** a stand-in for the worker (tests) */
  startWorker?: () => CheckpointThread;
  /**
   * Holds the app's writes back until the returned function is called. With it, a WAL past
   * restartFrames gets one worker checkpoint with no commits beside it, so that it copies back
   * every frame and the WAL can start over.
   */
  holdWrites?: () => () => void;
}

/**
 * The replicator's checkpoints. Our read transaction sits at the last captured frame, and a
 * checkpoint never copies back past a reader's frame, so the worker can run beside the app's
 * commits safely. A WAL can only start over once every frame is copied back; with commits
 * arriving that needs either a checkpoint inside the replicator's locked section (it stalls
 * the event loop for its length) or a worker round with the app's writes held back briefly.
 * A failed worker is retried after a back-off (CheckpointThreadSlot); meanwhile the locked
 * section checkpoints at the normal length.
 */
export class ReplicaCheckpoints {
  readonly checkpointFrames: number;
  private readonly lockedFrames: number;
  private readonly restartFrames: number;
  private readonly slot: CheckpointThreadSlot | undefined;
  /** the worker's checkpoint in flight, and the captured position it may copy back to */
  private inFlight: { walIndex: number; frame: number; generation: string } | undefined;
  /** set while the app's writes are held back for a checkpoint that lets the WAL start over */
  private releaseWrites: (() => void) | undefined;
  /** the last held round did not end complete: the next round lets writes through first */
  private heldRoundFailed = false;
  private lockedError: string | undefined;
  private chaseTimer: NodeJS.Timeout | undefined;
  /** counters for status and tests */
  readonly counts = { worker: 0, locked: 0, held: 0 };
  /** the last checkpoint that finished: when (ms since epoch) and how long it took (for /metrics) */
  last: { at: number; seconds: number } | undefined;

  constructor(
    private readonly opts: ReplicaCheckpointsOptions,
    private readonly host: CheckpointHost,
  ) {
    this.checkpointFrames = opts.checkpointFrames ?? 1000;
    // With writes that can be held back, the WAL starts over through held rounds, which idle the
    // event loop once every request is parsed (about 12 ms each). At 16 × the setting there are a
    // quarter as many as at 4 ×: measured 3–5% more registrations per second with a directory
    // target; 32 × gained nothing more. Without, only the locked checkpoint restarts the WAL,
    // and it stalls longer the more it has to copy.
    const holds = opts.holdWrites !== undefined;
    this.lockedFrames = opts.lockedCheckpointFrames ?? (holds ? 32 : 8) * this.checkpointFrames;
    this.restartFrames = Math.min(opts.restartFrames ?? 16 * this.checkpointFrames, this.lockedFrames);
    if (opts.checkpointWorker !== false) {
      const start = opts.startWorker ?? (() => new CheckpointWorker(opts.dbFile, opts.dbKey()));
      this.slot = new CheckpointThreadSlot(start, opts);
    }
  }

  /** a worker checkpoint is running (the WAL must not be restarted meanwhile) */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** the worker is there to chase the WAL between sync cycles */
  get chasing(): boolean {
    return this.slot?.available() === true;
  }

  /** WAL length from which the locked section checkpoints: the worker is not keeping up (or not there) */
  lockedThreshold(): number {
    return this.slot?.available() ? this.lockedFrames : this.checkpointFrames;
  }

  /**
   * PASSIVE never waits; with our write lock held it copies back exactly the captured frames.
   * A failure (a full disk above all) leaves the WAL as it is: the captured frames are safe and
   * the next cycle tries again.
   */
  runLocked(aux: DB, g: CapturePosition): void {
    let res: CheckpointResult | undefined;
    const t0 = performance.now();
    try {
      [res] = aux.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
    } catch (e) {
      failedFor(this.opts, e, 'a WAL checkpoint');
      const msg = (e as Error).message;
      if (msg !== this.lockedError) this.opts.log.error({ err: msg }, 'backup: WAL checkpoint failed; trying again at the next cycle');
      this.lockedError = msg;
      return;
    }
    this.lockedError = undefined;
    succeeded(this.opts);
    g.complete = res !== undefined && res.busy === 0 && res.log === res.checkpointed && res.log === g.frame;
    this.counts.locked++;
    this.last = { at: Date.now(), seconds: (performance.now() - t0) / 1000 };
  }

  /**
   * Between sync cycles: once enough has been committed past our position, capture it (held
   * for the next segment) and let the worker checkpoint up to there. Under a steady stream of
   * commits this keeps the worker close behind the WAL's end, so the checkpoint in the locked
   * section, when the WAL must start over, has little left to copy.
   */
  startChasing(): void {
    if (this.chaseTimer || !this.slot) return;
    this.chaseTimer = setInterval(() => this.chase(), CHASE_MS);
    this.chaseTimer.unref();
  }

  private chase(): void {
    const g = this.host.position();
    if (!g || this.inFlight || !this.chasing || !this.host.capturing()) return;
    let h: ShmHeader;
    try {
      h = readShmHeader(`${this.opts.dbFile}-shm`);
    } catch {
      return;
    }
    // Fewer, larger worker checkpoints: each ends with an fsync of the database file, which
    // competes with the commits' own fsyncs (a quarter of this chased more and measured slower).
    if (!h.salt.equals(g.salt) || h.mxFrame < this.checkpointFrames || h.mxFrame - g.frame < this.checkpointFrames) return;
    this.host.captureMore();
  }

  /** After a capture: start a worker round when the WAL is long enough and none is running. */
  afterCapture(g: CapturePosition): void {
    if (this.inFlight || !this.slot?.available() || g.frame < this.checkpointFrames || g.complete) return;
    const target = { walIndex: g.walIndex, frame: g.frame, generation: g.id };
    this.inFlight = target;
    const t0 = performance.now();
    this.slot.checkpoint().then(
      (res) => {
        this.inFlight = undefined;
        this.counts.worker++;
        this.last = { at: Date.now(), seconds: (performance.now() - t0) / 1000 };
        // Writes held back for this round go on whatever it achieved, once it is looked at.
        const heldRound = this.releaseWrites;
        this.releaseWrites = undefined;
        try {
          this.afterWorker(target, res, heldRound !== undefined);
        } finally {
          heldRound?.();
        }
      },
      () => {
        // The slot logged it, raised disk-full if that was it, and backs off.
        this.inFlight = undefined;
        this.letWritesGo();
      },
    );
  }

  private afterWorker(target: { walIndex: number; frame: number; generation: string }, res: CheckpointResult, heldRound: boolean): void {
    const cur = this.host.position();
    if (!cur || cur.id !== target.generation || cur.walIndex !== target.walIndex || cur.frame !== target.frame) return;
    // The checkpoint's own figures describe the WAL as it was when it began; the WAL-index says
    // whether anything was committed while it ran.
    let end: ShmHeader | undefined;
    try {
      end = readShmHeader(`${this.opts.dbFile}-shm`);
    } catch {
      end = undefined;
    }
    const walEnd = end?.salt.equals(cur.salt) ? end.mxFrame : undefined;
    cur.complete = res.busy === 0 && res.checkpointed === target.frame && walEnd === target.frame;
    if (heldRound) {
      this.counts.held++;
      this.heldRoundFailed = !cur.complete;
    }
    if (cur.complete) {
      if (!this.host.closed()) this.host.readDatabaseFileOnly();
      return;
    }
    if (walEnd === undefined || walEnd <= target.frame) return;
    const left = walEnd - target.frame;
    // Without a way to hold writes back, chasing a long WAL would never end: the locked
    // checkpoint of the next sync cycle restarts it instead.
    const long = this.opts.holdWrites !== undefined && walEnd >= this.restartFrames;
    if (left < this.checkpointFrames && !long) return;
    // Commits went on meanwhile: capture them now so the next round can go further. Once the
    // WAL is long, rounds follow each other with less left each time, and the one with little
    // left runs with the app's writes held back: a checkpoint takes milliseconds even for a few
    // frames (it ends with fsyncs), longer than the gap between two group commits, so one
    // running beside them never reaches the WAL's end. Past the locked length writes are held
    // whatever is left. After a held round that did not make it (a write from outside the
    // writer), one round lets the writes through first; past the locked length the sync
    // cycle's locked checkpoint takes over instead.
    if (this.heldRoundFailed && walEnd >= this.lockedFrames) return;
    const hold = long && (left <= HOLD_FRAMES || walEnd >= this.lockedFrames);
    if (hold && !heldRound && !this.heldRoundFailed && this.opts.holdWrites) {
      const release = this.opts.holdWrites();
      const timer = setTimeout(release, MAX_HOLD_MS);
      timer.unref();
      this.releaseWrites = () => {
        clearTimeout(timer);
        release();
      };
    }
    if (!heldRound) this.heldRoundFailed = false;
    this.host.captureMore();
    // No round started (the capture found nothing to do): nothing to hold the writes for.
    if (!this.inFlight) this.letWritesGo();
  }

  letWritesGo(): void {
    const release = this.releaseWrites;
    this.releaseWrites = undefined;
    release?.();
  }

  /** The database key changed: the worker's connection holds the old one. */
  async restartWorker(): Promise<void> {
    await this.slot?.close();
  }

  /** A worker round still running is cut short, which SQLite's checkpoint survives by design. */
  async close(): Promise<void> {
    if (this.chaseTimer) clearInterval(this.chaseTimer);
    this.letWritesGo();
    await this.slot?.close();
  }
}

import fs from 'node:fs';
import type { DB } from '../db/open.ts';
import { type CheckpointResult, CheckpointWorker } from '../db/checkpointer.ts';
import { openDatabase } from '../db/open.ts';
import type { DataKey } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import type { CaptureBuffers } from './capture-buffers.ts';
import { newGenerationId } from './layout.ts';
import { type Checksum, type WalHeader, WAL_HEADER_SIZE, checkFrames, compactFrames, committedFrames, frameOffset, parseWalHeader, readRange, readShmHeader, salt1, type ShmHeader } from './wal.ts';

/**
 * Follows the database's WAL and turns it into numbered segments and snapshots (Litestream's
 * mechanism, done in-process so it works on an encrypted database).
 *
 * Invariant: no WAL frame is ever overwritten before it was captured. Three things hold it:
 *  - the app's connection never checkpoints (wal_autocheckpoint=0); only this class does;
 *  - between cycles our own connection holds a read transaction, so nobody else's checkpoint can
 *    copy back frames past it, and the WAL cannot restart under it;
 *  - each cycle briefly takes the write lock (BEGIN IMMEDIATE), reads the committed end of the WAL
 *    from the WAL-index, copies the new frames, checkpoints while still holding it, and only then
 *    lets writers go on. In this process that section is synchronous, so the app's writes simply
 *    run before or after it; a writer in another process waits on its busy timeout.
 * A WAL restart (new salt) is expected only right after a complete checkpoint of every captured
 * frame, and salt-1 then grows by exactly one; anything else (a restart we did not cause, a WAL
 * that shrank, frames that fail their checksums, another database key) starts a new generation.
 */

export interface CapturedSegment {
  generation: string;
  index: number;
  time: number;
  dbKeyId: string;
  pageSize: number;
  walIndex: number;
  salt: Buffer;
  walHeader: Buffer;
  frameStart: number;
  frameEnd: number;
  checksumBefore: Checksum;
  /** the WAL checksum chain value after frameEnd */
  checksumAfter: Checksum;
  /**
   * The last image of each page in frameStart..frameEnd (compactFrames), as views into the
   * captured buffers: joined only by the compressor reading them.
   */
  frames: Buffer[];
  /** The frames are no longer needed (sealed, or given up): their memory may be used again. */
  release(): void;
}

/** What one capture read: frames (g.frame, mxFrame] of the current incarnation. */
type CapturedRun = Pick<CapturedSegment, 'walHeader' | 'frameStart' | 'frameEnd' | 'checksumBefore'> & { frames: Buffer };

export interface SnapshotJob {
  generation: string;
  index: number;
  time: number;
  nextSegment: number;
  dbKeyId: string;
  pageSize: number;
  walIndex: number;
  salt: Buffer;
  frameEnd: number;
  /** WAL header + frames 1..frameEnd of the current incarnation (empty when frameEnd is 0) */
  wal: Buffer;
  dbFile: string;
  /** bytes of the database file to copy; checkpoints are held off until release() */
  dbBytes: number;
  reason: string;
  /** Call once the database file has been read: our read lock ends and checkpoints resume. */
  release(): void;
}

export interface ReplicatorSink {
  generationStarted(g: { id: string; reason: string; dbKeyId: string; time: number }): void;
  segment(s: CapturedSegment): void;
  snapshot(job: SnapshotJob): void;
}

export interface ReplicatorOptions {
  dbFile: string;
  /** the active database key; a change starts a new generation */
  dbKey: () => DataKey;
  now: () => number;
  log: Logger;
  sink: ReplicatorSink;
  snapshotIntervalMs: number;
  /** checkpoint once the WAL holds this many frames (SQLite's own default is 1000) */
  checkpointFrames?: number;
  /**
   * WAL length from which the worker's checkpoints chase the WAL's end until one copies back
   * every frame, so that the WAL can start over (default 16 × checkpointFrames; used only with
   * holdWrites).
   */
  restartFrames?: number;
  /**
   * WAL length at which a checkpoint runs inside the locked section after all, when chasing did
   * not get the WAL to start over (default 32 × checkpointFrames with holdWrites, else 8 ×).
   */
  lockedCheckpointFrames?: number;
  /** memory reused for captured frames (default: fresh buffers each time) */
  buffers?: CaptureBuffers;
  /** false: every checkpoint runs in the locked section, on this thread (tests, fallback) */
  checkpointWorker?: boolean;
  /**
   * Holds the app's writes back until the returned function is called. With it, a WAL past
   * restartFrames gets one worker checkpoint with no commits beside it, so that it copies back
   * every frame and the WAL can start over (see WriteGate).
   */
  holdWrites?: () => () => void;
}

/** A held-back write waits at most this long, whatever the worker does. */
const MAX_HOLD_MS = 100;
/** writes are held back for a round with at most this much left to copy (a few milliseconds) */
const HOLD_FRAMES = 256;

interface Generation {
  id: string;
  dbKeyId: string;
  pageSize: number;
  walIndex: number;
  salt: Buffer;
  /** false while the salt only came from the WAL-index of an empty WAL */
  saltConfirmed: boolean;
  walHeader?: WalHeader;
  /** last captured frame of the current incarnation */
  frame: number;
  checksum: Checksum;
  nextSegment: number;
  nextSnapshot: number;
  lastSnapshotAt: number;
  /** our last checkpoint copied back every captured frame and nothing more existed */
  complete: boolean;
}

export interface ReplicatorPosition {
  generation: string;
  walIndex: number;
  frame: number;
  nextSegment: number;
  dbKeyId: string;
}

/** how often the WAL's length is looked at between sync cycles (a 136-byte read) */
const CHASE_MS = 25;

function isBusy(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

export class Replicator {
  private rep?: DB;
  private aux?: DB;
  private keyId = '';
  private pageSize = 0;
  private gen?: Generation;
  private snapshotActive = false;
  private pendingReason: string | undefined = 'replicator started';
  private snapshotReason: string | undefined;
  private closed = false;
  private lastError: string | undefined;
  private readonly shmFile: string;
  private readonly walFile: string;
  private readonly checkpointFrames: number;
  private readonly lockedCheckpointFrames: number;
  private readonly restartFrames: number;
  /** frames committed during a worker checkpoint that make it worth capturing before the sync cycle */
  private readonly earlyCaptureFrames: number;
  /** runs checkpoints off this thread; undefined until the first one, or when it failed */
  private worker: CheckpointWorker | undefined;
  private workerBroken: boolean;
  private chaseTimer: NodeJS.Timeout | undefined;
  /** frames captured by steps that do not ship (see step()), waiting for the next sync cycle */
  private held: (Omit<CapturedSegment, 'index' | 'frames' | 'checksumAfter' | 'release'> & { parts: Buffer[] }) | undefined;
  /** the worker's checkpoint in flight, and the captured position it may copy back to */
  private inFlight: { walIndex: number; frame: number; generation: string } | undefined;
  /** set while the app's writes are held back for a checkpoint that lets the WAL start over */
  private releaseWrites: (() => void) | undefined;
  /** the last held round did not end complete: the next round lets writes through first */
  private heldRoundFailed = false;
  /** counters for status and tests */
  readonly checkpoints = { worker: 0, locked: 0, held: 0 };

  constructor(private readonly opts: ReplicatorOptions) {
    this.shmFile = `${opts.dbFile}-shm`;
    this.walFile = `${opts.dbFile}-wal`;
    this.checkpointFrames = opts.checkpointFrames ?? 1000;
    // With writes that can be held back, the WAL starts over through held rounds, which idle the
    // event loop once every request is parsed (about 12 ms each). At 16 × the setting there are a
    // quarter as many as at 4 ×: measured 3–5% more registrations per second with a directory
    // target; 32 × gained nothing more. Without, only the locked checkpoint restarts the WAL,
    // and it stalls longer the more it has to copy.
    const holds = opts.holdWrites !== undefined;
    this.lockedCheckpointFrames = opts.lockedCheckpointFrames ?? (holds ? 32 : 8) * this.checkpointFrames;
    this.restartFrames = Math.min(opts.restartFrames ?? 16 * this.checkpointFrames, this.lockedCheckpointFrames);
    // Fewer, larger worker checkpoints: each ends with an fsync of the database file, which
    // competes with the commits' own fsyncs (a quarter of this chased more and measured slower).
    this.earlyCaptureFrames = this.checkpointFrames;
    this.workerBroken = opts.checkpointWorker === false;
  }

  /** Opens the replicator's two connections (each open runs SQLCipher's key derivation once). */
  open(): void {
    const key = this.opts.dbKey();
    this.rep = this.connect(key);
    this.aux = this.connect(key);
    this.keyId = key.id;
    this.pageSize = Number(this.rep.pragma('page_size', { simple: true }));
    if (!this.chaseTimer && !this.workerBroken) {
      this.chaseTimer = setInterval(() => this.chase(), CHASE_MS);
      this.chaseTimer.unref();
    }
  }

  /**
   * Between sync cycles: once enough has been committed past our position, capture it (held
   * for the next segment) and let the worker checkpoint up to there. Under a steady stream of
   * commits this keeps the worker close behind the WAL's end, so the checkpoint in the locked
   * section, when the WAL must start over, has little left to copy.
   */
  private chase(): void {
    const g = this.gen;
    if (this.closed || !g || this.inFlight || this.snapshotActive || this.workerBroken || this.pendingReason !== undefined) return;
    let h: ShmHeader;
    try {
      h = readShmHeader(this.shmFile);
    } catch {
      return;
    }
    if (!h.salt.equals(g.salt) || h.mxFrame < this.checkpointFrames || h.mxFrame - g.frame < this.earlyCaptureFrames) return;
    this.step(false);
  }

  private connect(key: DataKey): DB {
    const db = openDatabase(this.opts.dbFile, { key: key.key });
    // Never wait inside the synchronous section: a busy lock just means "try next cycle".
    db.pragma('busy_timeout = 0');
    db.pragma('wal_autocheckpoint = 0');
    return db;
  }

  /** Where the last segment ended: frames captured but held for the next sync cycle do not count. */
  position(): ReplicatorPosition | undefined {
    const g = this.gen;
    return g && { generation: g.id, walIndex: g.walIndex, frame: this.held ? this.held.frameStart - 1 : g.frame, nextSegment: g.nextSegment, dbKeyId: g.dbKeyId };
  }

  get snapshotInProgress(): boolean {
    return this.snapshotActive;
  }

  /** The next cycle takes a snapshot (in the current generation). */
  requestSnapshot(reason: string): void {
    this.snapshotReason ??= reason;
  }

  /** The next cycle starts a new generation (e.g. after a failed snapshot or spool write). */
  requestNewGeneration(reason: string): void {
    this.pendingReason ??= reason;
  }

  /**
   * One sync step: capture every frame committed since the last one, start a generation or a
   * snapshot when due, checkpoint when the WAL is long. Synchronous on purpose (see above).
   * Returns false when another process held the write lock and nothing was done.
   */
  cycle(): boolean {
    return this.step(true);
  }

  /**
   * ship=false is a capture between sync cycles, run when the worker's checkpoint has caught up
   * with our read position while commits go on: capturing moves that position (and with it how
   * far the next checkpoint may copy), and the frames wait in `held` to go out with the next
   * sync cycle as one segment, so object count and restore granularity stay those of the sync
   * interval.
   */
  private step(ship: boolean): boolean {
    if (this.closed || !this.rep || !this.aux) return false;
    if (!ship && (!this.gen || this.pendingReason !== undefined || this.snapshotActive || this.opts.dbKey().id !== this.keyId)) return false;
    const key = this.opts.dbKey();
    if (key.id !== this.keyId && !this.snapshotActive) {
      // The database was rekeyed: our connections hold the old key.
      if (this.inFlight) return false;
      this.dropRead();
      this.rep.close();
      this.aux.close();
      void this.worker?.close();
      this.worker = undefined;
      this.open();
      this.requestNewGeneration(`database key changed to ${key.id}`);
    }
    const rep = this.rep;
    this.dropRead();
    try {
      rep.exec('BEGIN IMMEDIATE');
    } catch (e) {
      if (!isBusy(e)) throw e;
      this.holdRead();
      return false;
    }
    try {
      this.captureLocked(this.opts.now(), ship);
    } catch (e) {
      const msg = (e as Error).message;
      this.requestNewGeneration(`replicator error: ${msg}`);
      // Once per distinct failure, not once per cycle.
      if (msg !== this.lastError) this.opts.log.error({ err: msg }, 'backup: capturing the WAL failed; a new generation will start');
      this.lastError = msg;
    } finally {
      rep.exec('ROLLBACK');
      this.holdRead();
    }
    // Our read transaction now sits at the last captured frame, and a checkpoint never copies
    // back past a reader's frame: the worker can run beside the app's commits safely.
    const g = this.gen;
    if (g && !this.snapshotActive && !this.inFlight && !this.workerBroken && g.frame >= this.checkpointFrames && !g.complete) this.checkpointOnWorker(g);
    return true;
  }

  private captureLocked(now: number, ship: boolean): void {
    const h = readShmHeader(this.shmFile);
    if (!this.gen || this.pendingReason !== undefined) {
      if (this.snapshotActive) return;
      this.emitHeld();
      this.startGeneration(h, now, this.pendingReason ?? 'start');
      return;
    }
    const g = this.gen;
    // The worker's result says whether the WAL that just restarted had been copied back whole.
    if (!h.salt.equals(g.salt) && this.inFlight) return;
    if (!ship && (!h.salt.equals(g.salt) || h.mxFrame < g.frame)) return;
    // Held frames belong to the WAL incarnation they came from: out they go before anything else.
    if (!h.salt.equals(g.salt) || h.mxFrame < g.frame) this.emitHeld();
    if (!h.salt.equals(g.salt)) {
      const nextSalt = salt1(h.salt) === ((salt1(g.salt) + 1) >>> 0);
      if (g.frame === 0 && (!g.saltConfirmed || nextSalt)) {
        g.salt = h.salt;
        g.walHeader = undefined;
      } else if (g.complete && nextSalt) {
        g.walIndex++;
        g.frame = 0;
        g.salt = h.salt;
        g.walHeader = undefined;
        g.complete = false;
      } else {
        return this.restart(h, now, 'the WAL restarted before all of its frames were captured');
      }
    }
    if (h.mxFrame < g.frame) return this.restart(h, now, 'the WAL is shorter than what was captured');
    if (h.mxFrame > g.frame) {
      const seg = this.readNewFrames(g, h);
      if (typeof seg === 'string') {
        this.emitHeld();
        return this.restart(h, now, seg);
      }
      const captured = { ...seg, generation: g.id, time: now, dbKeyId: g.dbKeyId, pageSize: g.pageSize, walIndex: g.walIndex, salt: g.salt };
      // Parts are joined once, when the segment goes out: joining per capture would copy a
      // busy second's WAL over and over.
      const { frames, ...meta } = captured;
      if (this.held) this.held = { ...meta, frameStart: this.held.frameStart, checksumBefore: this.held.checksumBefore, parts: [...this.held.parts, frames] };
      else this.held = { ...meta, parts: [frames] };
    }
    if (!ship) return;
    this.emitHeld();
    if (!this.snapshotActive && (this.snapshotReason !== undefined || now - g.lastSnapshotAt >= this.opts.snapshotIntervalMs)) {
      this.beginSnapshot(g, now, this.snapshotReason ?? 'scheduled');
      this.snapshotReason = undefined;
    }
    // Here, with the write lock held, a checkpoint copies back exactly the captured frames and
    // the WAL can restart afterwards; it costs the event loop its duration, so it is kept for
    // when the worker cannot be used or cannot catch up.
    if (!this.snapshotActive && !this.inFlight && h.mxFrame >= (this.workerBroken ? this.checkpointFrames : this.lockedCheckpointFrames)) this.checkpoint(g);
  }

  /** Frames captured since the last segment go out as one, numbered now. */
  private emitHeld(): void {
    const held = this.held;
    const g = this.gen;
    this.held = undefined;
    if (!held || !g) return;
    const { parts, ...meta } = held;
    // Nothing has moved g since the held frames were captured: its chain value is theirs.
    const checksumAfter: Checksum = [g.checksum[0], g.checksum[1]];
    const buffers = this.opts.buffers;
    const release = buffers ? () => buffers.give(parts.map((p) => p.buffer)) : () => undefined;
    this.opts.sink.segment({ ...meta, checksumAfter, frames: compactFrames(parts, meta.pageSize).pieces, release, index: g.nextSegment++ });
  }

  private restart(h: ShmHeader, now: number, reason: string): void {
    this.opts.log.warn({ reason, generation: this.gen?.id }, 'backup: starting a new generation');
    this.pendingReason = reason;
    this.emitHeld();
    if (!this.snapshotActive) this.startGeneration(h, now, reason);
  }

  /** Copies frames (g.frame, h.mxFrame]; a reason string when they do not look committed. */
  private readNewFrames(g: Generation, h: ShmHeader): CapturedRun | string {
    if (!g.walHeader) {
      const parsed = parseWalHeader(readRange(this.walFile, 0, WAL_HEADER_SIZE));
      if (typeof parsed === 'string') return parsed;
      if (!parsed.salt.equals(h.salt)) return 'the WAL header does not carry the WAL-index salt';
      if (parsed.pageSize !== g.pageSize) return 'the WAL page size changed';
      g.walHeader = parsed;
      g.saltConfirmed = true;
      if (g.frame === 0) g.checksum = parsed.checksum;
    }
    const hdr = g.walHeader;
    const start = frameOffset(g.pageSize, g.frame + 1);
    const length = frameOffset(g.pageSize, h.mxFrame + 1) - start;
    const frames = readRange(this.walFile, start, length, this.opts.buffers?.take(length));
    // The WAL-index vouches for these frames (see committedFrames); restores and `backup verify`
    // still check the whole checksum chain.
    const check = committedFrames(frames, hdr);
    if (typeof check === 'string') return `frames ${g.frame + 1}..${h.mxFrame} of the WAL do not verify: ${check}`;
    const out = { walHeader: hdr.raw, frameStart: g.frame + 1, frameEnd: h.mxFrame, checksumBefore: g.checksum, frames };
    g.frame = h.mxFrame;
    g.checksum = check.checksum;
    g.complete = false;
    return out;
  }

  private startGeneration(h: ShmHeader, now: number, reason: string): void {
    const key = this.opts.dbKey();
    let walHeader: WalHeader | undefined;
    let checksum: Checksum = [0, 0];
    if (h.mxFrame > 0) {
      const parsed = parseWalHeader(readRange(this.walFile, 0, WAL_HEADER_SIZE));
      if (typeof parsed === 'string') throw new Error(`cannot start a generation: ${parsed}`);
      walHeader = parsed;
      const frames = readRange(this.walFile, WAL_HEADER_SIZE, frameOffset(parsed.pageSize, h.mxFrame + 1) - WAL_HEADER_SIZE);
      const check = checkFrames(frames, parsed, parsed.checksum);
      if (check.frames !== h.mxFrame || check.lastCommit !== h.mxFrame) throw new Error('cannot start a generation: the WAL does not verify');
      checksum = check.checksum;
    }
    const g: Generation = {
      id: newGenerationId(now),
      dbKeyId: key.id,
      pageSize: walHeader?.pageSize ?? this.pageSize,
      walIndex: 0,
      salt: Buffer.from(h.salt),
      saltConfirmed: walHeader !== undefined,
      walHeader,
      frame: h.mxFrame,
      checksum,
      nextSegment: 0,
      nextSnapshot: 0,
      lastSnapshotAt: now,
      complete: false,
    };
    this.gen = g;
    this.pendingReason = undefined;
    this.lastError = undefined;
    this.snapshotReason = undefined;
    this.opts.sink.generationStarted({ id: g.id, reason, dbKeyId: g.dbKeyId, time: now });
    this.beginSnapshot(g, now, reason);
  }

  /**
   * Called with the write lock held: the aux connection's read transaction pins the database file
   * at exactly frame g.frame until release(), so a plain copy of the file plus the WAL frames
   * 1..g.frame is a consistent image even though checkpoints by other processes could still copy
   * back frames up to that point while we read (replaying those frames on restore covers them).
   */
  private beginSnapshot(g: Generation, now: number, reason: string): void {
    const aux = this.aux as DB;
    aux.exec('BEGIN');
    try {
      aux.prepare('SELECT count(*) FROM sqlite_schema').get();
      const wal = g.frame > 0 ? readRange(this.walFile, 0, frameOffset(g.pageSize, g.frame + 1)) : Buffer.alloc(0);
      const dbBytes = fs.statSync(this.opts.dbFile).size;
      this.snapshotActive = true;
      let released = false;
      const job: SnapshotJob = {
        generation: g.id,
        index: g.nextSnapshot++,
        time: now,
        nextSegment: g.nextSegment,
        dbKeyId: g.dbKeyId,
        pageSize: g.pageSize,
        walIndex: g.walIndex,
        salt: Buffer.from(g.salt),
        frameEnd: g.frame,
        wal,
        dbFile: this.opts.dbFile,
        dbBytes,
        reason,
        release: () => {
          if (released) return;
          released = true;
          if (aux.open && aux.inTransaction) aux.exec('COMMIT');
          this.snapshotActive = false;
        },
      };
      g.lastSnapshotAt = now;
      this.opts.sink.snapshot(job);
    } catch (e) {
      if (aux.inTransaction) aux.exec('COMMIT');
      this.snapshotActive = false;
      throw e;
    }
  }

  /** PASSIVE never waits; with our write lock held it copies back exactly the captured frames. */
  private checkpoint(g: Generation): void {
    const [res] = (this.aux as DB).pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
    g.complete = res !== undefined && res.busy === 0 && res.log === res.checkpointed && res.log === g.frame;
    this.checkpoints.locked++;
  }

  /**
   * The same on the worker's connection, outside the locked section. While it runs the app
   * commits on, but our read transaction (at g.frame) keeps it from copying back anything we
   * have not captured and keeps the WAL from restarting. Complete only if nothing was committed
   * after the captured end meanwhile; otherwise the rest waits for a later cycle.
   */
  private checkpointOnWorker(g: Generation): void {
    const target = { walIndex: g.walIndex, frame: g.frame, generation: g.id };
    this.inFlight = target;
    let worker: CheckpointWorker;
    try {
      worker = this.worker ??= new CheckpointWorker(this.opts.dbFile, this.opts.dbKey().key);
    } catch (e) {
      this.inFlight = undefined;
      this.letWritesGo();
      this.workerFailed(e);
      return;
    }
    worker.checkpoint().then(
      (res) => {
        this.inFlight = undefined;
        this.checkpoints.worker++;
        // Writes held back for this round go on whatever it achieved, once it is looked at.
        const heldRound = this.releaseWrites;
        this.releaseWrites = undefined;
        try {
          this.afterWorkerCheckpoint(target, res, heldRound !== undefined);
        } finally {
          heldRound?.();
        }
      },
      (e: unknown) => {
        this.inFlight = undefined;
        this.letWritesGo();
        this.workerFailed(e);
      },
    );
  }

  private afterWorkerCheckpoint(target: { walIndex: number; frame: number; generation: string }, res: CheckpointResult, heldRound: boolean): void {
    const cur = this.gen;
    if (!cur || cur.id !== target.generation || cur.walIndex !== target.walIndex || cur.frame !== target.frame) return;
    // The checkpoint's own figures describe the WAL as it was when it began; the WAL-index says
    // whether anything was committed while it ran.
    let end: ShmHeader | undefined;
    try {
      end = readShmHeader(this.shmFile);
    } catch {
      end = undefined;
    }
    const walEnd = end?.salt.equals(cur.salt) ? end.mxFrame : undefined;
    cur.complete = res.busy === 0 && res.checkpointed === target.frame && walEnd === target.frame;
    if (heldRound) {
      this.checkpoints.held++;
      this.heldRoundFailed = !cur.complete;
    }
    if (cur.complete) {
      if (this.closed) return;
      // Our read transaction still names a WAL frame, which keeps the WAL from starting over;
      // taken again now that every frame is copied back, it reads the database file alone and
      // the next commit can restart the WAL (we have every frame it drops).
      this.dropRead();
      this.holdRead();
      return;
    }
    if (walEnd === undefined || walEnd <= target.frame) return;
    const left = walEnd - target.frame;
    // Without a way to hold writes back, chasing a long WAL would never end: the locked
    // checkpoint of the next sync cycle restarts it instead.
    const long = this.opts.holdWrites !== undefined && walEnd >= this.restartFrames;
    if (left < this.earlyCaptureFrames && !long) return;
    // Commits went on meanwhile: capture them now so the next checkpoint can go further, instead
    // of waiting for the sync cycle with a WAL that only grows. Once the WAL is long, rounds
    // follow each other, each with less left to copy, and the one that has little left runs
    // with the app's writes held back: a checkpoint takes milliseconds even for a handful of
    // frames (it ends with fsyncs), longer than the gap between two group commits, so one
    // running beside them never reaches the WAL's end. A WAL past the locked-checkpoint length
    // holds them whatever is left: the worker is not keeping up and writers must wait. After
    // a held round that did not make it (a write from outside the batcher), one round lets the
    // writes through first; past the locked-checkpoint length the sync cycle's locked
    // checkpoint takes over instead (it needs no checkpoint in flight).
    if (this.heldRoundFailed && walEnd >= this.lockedCheckpointFrames) return;
    const hold = long && (left <= HOLD_FRAMES || walEnd >= this.lockedCheckpointFrames);
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
    this.step(false);
    // No checkpoint started (the step found nothing to do): nothing to hold the writes for.
    if (!this.inFlight) this.letWritesGo();
  }

  private letWritesGo(): void {
    const release = this.releaseWrites;
    this.releaseWrites = undefined;
    release?.();
  }

  private workerFailed(e: unknown): void {
    if (!this.workerBroken) this.opts.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'backup: checkpoint worker unavailable; checkpoints run in the replicator');
    this.workerBroken = true;
    void this.worker?.close();
    this.worker = undefined;
  }

  private holdRead(): void {
    const rep = this.rep;
    if (!rep || rep.inTransaction) return;
    rep.exec('BEGIN');
    rep.prepare('SELECT count(*) FROM sqlite_schema').get();
  }

  private dropRead(): void {
    if (this.rep?.inTransaction) this.rep.exec('COMMIT');
  }

  /**
   * Ends the read transactions and closes both connections; call after the last cycle. A worker
   * checkpoint still running is cut short, which SQLite's checkpoint survives by design.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.chaseTimer) clearInterval(this.chaseTimer);
    this.letWritesGo();
    void this.worker?.close();
    this.worker = undefined;
    this.dropRead();
    if (this.aux?.inTransaction) this.aux.exec('COMMIT');
    this.rep?.close();
    this.aux?.close();
  }
}

/**
 * The app's own connection: it must never checkpoint (we own that), and after each WAL restart
 * SQLite trims the -wal file back to this size, so one burst does not leave a huge file behind.
 */
export function prepareAppConnection(db: DB): void {
  db.pragma('wal_autocheckpoint = 0');
  db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
}

import fs from 'node:fs';
import type { Faults } from '../db/faults.ts';
import type { DB } from '../db/open.ts';
import { openDatabase } from '../db/open.ts';
import type { DataKey } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import type { CapturedSegment, ReplicatorPosition, ReplicatorSink, SnapshotJob } from './captured.ts';
import { newGenerationId } from './layout.ts';
import { type CapturePosition, ReplicaCheckpoints, type ReplicaCheckpointsOptions } from './replica-checkpoints.ts';
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

/** What one capture read: frames (g.frame, mxFrame] of the current incarnation. */
type CapturedRun = Pick<CapturedSegment, 'walHeader' | 'frameStart' | 'frameEnd' | 'checksumBefore'> & { frames: Buffer };

export type { CapturedSegment, ReplicatorPosition, ReplicatorSink, SnapshotJob };

export interface ReplicatorOptions extends Pick<ReplicaCheckpointsOptions, 'checkpointFrames' | 'restartFrames' | 'lockedCheckpointFrames' | 'checkpointWorker' | 'startWorker' | 'holdWrites'> {
  dbFile: string;
  /** the active database key; a change starts a new generation */
  dbKey: () => DataKey;
  now: () => number;
  log: Logger;
  faults?: Faults;
  sink: ReplicatorSink;
  snapshotIntervalMs: number;
}

interface Generation extends CapturePosition {
  dbKeyId: string;
  pageSize: number;
  /** false while the salt only came from the WAL-index of an empty WAL */
  saltConfirmed: boolean;
  walHeader?: WalHeader;
  checksum: Checksum;
  nextSegment: number;
  nextSnapshot: number;
  lastSnapshotAt: number;
}

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
  private readonly cp: ReplicaCheckpoints;
  /** frames captured by steps that do not ship (see step()), waiting for the next sync cycle */
  private held: (Omit<CapturedSegment, 'index' | 'frames' | 'checksumAfter'> & { parts: Buffer[] }) | undefined;

  constructor(private readonly opts: ReplicatorOptions) {
    this.shmFile = `${opts.dbFile}-shm`;
    this.walFile = `${opts.dbFile}-wal`;
    this.cp = new ReplicaCheckpoints({ ...opts, dbKey: () => opts.dbKey().key }, {
      position: () => this.gen,
      capturing: () => !this.closed && this.gen !== undefined && !this.snapshotActive && this.pendingReason === undefined,
      captureMore: () => void this.step(false),
      readDatabaseFileOnly: () => {
        // Our read transaction still names a WAL frame, which keeps the WAL from starting over;
        // taken again now that every frame is copied back, it reads the database file alone and
        // the next commit can restart the WAL (we have every frame it drops).
        this.dropRead();
        this.holdRead();
      },
      closed: () => this.closed,
    });
  }

  /** checkpoints so far: on the worker, in the locked section, and worker rounds with writes held */
  get checkpoints(): { worker: number; locked: number; held: number; last: { at: number; seconds: number } | undefined } {
    return { ...this.cp.counts, last: this.cp.last };
  }

  /** Opens the replicator's two connections (each open runs SQLCipher's key derivation once). */
  open(): void {
    const key = this.opts.dbKey();
    this.rep = this.connect(key);
    this.aux = this.connect(key);
    this.keyId = key.id;
    this.pageSize = Number(this.rep.pragma('page_size', { simple: true }));
    this.cp.startChasing();
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
      if (this.cp.busy) return false;
      this.dropRead();
      this.rep.close();
      this.aux.close();
      void this.cp.restartWorker();
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
    if (this.gen && !this.snapshotActive) this.cp.afterCapture(this.gen);
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
    if (!h.salt.equals(g.salt) && this.cp.busy) return;
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
    if (!this.snapshotActive && !this.cp.busy && h.mxFrame >= this.cp.lockedThreshold()) this.cp.runLocked(this.aux as DB, g);
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
    this.opts.sink.segment({ ...meta, checksumAfter, frames: compactFrames(parts, meta.pageSize).pieces, index: g.nextSegment++ });
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
    const frames = readRange(this.walFile, start, length);
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
    void this.cp.close();
    this.dropRead();
    if (this.aux?.inTransaction) this.aux.exec('COMMIT');
    this.rep?.close();
    this.aux?.close();
  }
}

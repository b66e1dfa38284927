import { Cron } from 'croner';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { z } from 'zod';
import { type AuditLog, systemContext } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Keyring } from '../keys/keyring.ts';
import { clearNewGenerationMarker, pruneRetiredKeys, readNewGenerationMarker } from '../keys/rotation.ts';
import { keyringPath } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import { readCatalog } from './catalog.ts';
import { keyringKey, parseKey } from './layout.ts';
import { CaptureBuffers } from './capture-buffers.ts';
import { segmentObject, snapshotObject } from './objects.ts';
import { type ObjectHeader, readObject, writeObject } from './object-format.ts';
import { type CapturedSegment, Replicator, type SnapshotJob } from './replicator.ts';
import { planRetention } from './retention.ts';
import { SegmentSealer } from './segment-sealer.ts';
import { type ShippedInfo, Shipper, type TargetStatus } from './shipper.ts';
import { Spool, type SpoolItem } from './spool.ts';
import { type BackupStatus, requestFile, statusFile, writeStatusFile } from './status-file.ts';
import type { BackupTarget } from './targets/target.ts';
import { FRAME_HEADER_SIZE, readShmHeader } from './wal.ts';

export interface BackupServiceOptions {
  dataDir: string;
  dbFile: string;
  keyring: Keyring;
  log: Logger;
  targets: BackupTarget[];
  syncIntervalMs: number;
  snapshotIntervalMs: number;
  retentionDays: number;
  now?: () => number;
  checkpointFrames?: number;
  /** false: checkpoints only in the replicator's locked section (what it falls back to when the worker fails) */
  checkpointWorker?: boolean;
  /** memory reused for captured frames (a fresh pool by default) */
  captureBuffers?: CaptureBuffers;
  /** memory reused for sealed segments once every target has them (a fresh pool by default) */
  objectBuffers?: CaptureBuffers;
  retryDelays?: { baseDelayMs: number; maxDelayMs: number };
  /** the app's connection: clears a db-key rotation's "new generation required" marker once honoured */
  appDb?: DB;
  /** holds the app's batched writes back for a moment (Writer.hold); returns the release */
  holdWrites?: () => () => void;
  /** bytes of captured objects kept in memory before they go to the spool (default 64 MiB) */
  memoryBudgetBytes?: number;
  /**
   * The app's audit log. With it, a full retention pass also drops retired backup and db keys
   * that no kept object needs any more (audited as `keys.pruned`); without it keys are kept.
   */
  audit?: AuditLog;
}

/** A snapshot or segment a retention pass leaves in place (or that is still on its way). */
interface KeptObject {
  target?: BackupTarget;
  key: string;
  generation: string;
  time: number;
  size: number;
}

/** Stops readObject once the authenticated header is known: the payload is not needed. */
class HeaderRead extends Error {
  constructor(readonly header: ObjectHeader) {
    super('header read');
  }
}

/** Captured segments waiting in memory, across targets; beyond this they go to the spool on disk. */
const MEMORY_BUDGET = 64 * 1024 * 1024;
/** Memory of shipped segments kept for the next ones: a few seconds of a registration rush. */
const OBJECT_MEMORY_KEPT = 64 * 1024 * 1024;

const requestSchema = z.object({ id: z.string().regex(/^[0-9a-f]{8,32}$/) });

/**
 * Captures never follow each other closer than this while writes go on, nor closer than half the
 * sync interval: with the default interval, at most 4 PUTs a second per target under the heaviest
 * load (and one a second under light writes).
 */
export const MIN_CAPTURE_GAP_MS = 250;

export const captureFloorMs = (intervalMs: number) => Math.min(MIN_CAPTURE_GAP_MS, intervalMs / 2);

/**
 * Until a target has stored something of this run: a guess on the slow side (10 MiB/s). The cost
 * per byte also counts as one segment of priorBytes among the measured ones, so that the first one
 * or two fast uploads do not make the next captures late. Too slow only costs a few early
 * captures (extra PUTs); too fast would miss the interval.
 */
const FIRST_GUESS = { fixedMs: 50, msPerMiB: 100, priorBytes: 4 * 1024 * 1024 };
const MIB = 1024 * 1024;
/** Below this a segment's time says little about the cost per byte (20 ms of jitter = 80 ms/MiB). */
const SIZED_SAMPLE = 256 * 1024;
/** On top of the recent misses (below): a little room for the next one to be slower still. */
const SHIP_SAFETY = 1.1;

/**
 * How long an object takes from capture until a target has it (capture, compression, encryption,
 * waiting for the previous upload, the upload), from the last uploads of this run, as a fixed
 * part plus a cost per byte. The fixed part is the fastest recent object, where a big one
 * (> 1 MiB) counts as at most FIRST_GUESS.fixedMs, as its time is mostly its bytes; the cost per
 * byte is what the recent segments of some size took beyond it, over all their bytes (one small
 * segment that stalled must not make every capture early). Uploads of one size still vary (by a
 * third and more in a row against s3rver on a busy machine), so the prediction adds the most a
 * recent upload took beyond that line: a jittery target gets more room.
 */
export class ShipTimes {
  private readonly samples: { bytes: number; ms: number }[] = [];

  constructor(private readonly keep = 20) {}

  add(bytes: number, ms: number): void {
    this.samples.push({ bytes, ms });
    if (this.samples.length > this.keep) this.samples.shift();
  }

  /** ms for an object of `bytes`, on the slow side; undefined before the first sample */
  predict(bytes: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    const line = this.line();
    let miss = 0;
    for (const s of this.samples) miss = Math.max(miss, s.ms - (line.fixed + line.perByte * s.bytes));
    return line.fixed + line.perByte * bytes + miss;
  }

  private line(): { fixed: number; perByte: number } {
    let fixed = Infinity;
    for (const s of this.samples) fixed = Math.min(fixed, s.bytes <= MIB ? s.ms : Math.min(s.ms, FIRST_GUESS.fixedMs));
    let sizedBytes = FIRST_GUESS.priorBytes;
    let sizedMs = (FIRST_GUESS.msPerMiB * FIRST_GUESS.priorBytes) / MIB;
    for (const s of this.samples) {
      if (s.bytes < SIZED_SAMPLE) continue;
      sizedBytes += s.bytes;
      sizedMs += Math.max(0, s.ms - fixed);
    }
    return { fixed, perByte: sizedMs / sizedBytes };
  }
}

export interface CaptureState {
  intervalMs: number;
  /** how often the WAL is looked at between captures */
  probeMs: number;
  /** since the last capture started */
  sinceCaptureMs: number;
  /** upper bound of the age of the oldest change not captured yet */
  oldestAgeMs: number;
  /** WAL bytes committed and not captured yet; undefined when the WAL-index could not be read */
  pendingBytes: number | undefined;
  /** how fast the WAL grows now (bytes per ms) */
  growth: number;
  /** a healthy target already has a segment waiting behind the upload in flight */
  backlogged: boolean;
  /** ms from capture until every healthy target has an object of that many bytes */
  shipMs: (bytes: number) => number;
}

/**
 * The sync interval is the RPO budget: a change must be on every healthy target within it. So a
 * capture runs at the last look at the WAL before the oldest waiting change, plus the predicted
 * time to ship what has piled up by then, would overrun the interval (with one look of slack
 * for a late timer). Light writes thus ship about once per interval, a burst is captured early
 * (before its segment grows too big to ship in time), and never more often than
 * captureFloorMs(). With nothing waiting, a step still runs once per interval (snapshots that
 * are due, key changes, the status file). Uploads to one target go one at a time (so a crash
 * never leaves a hole in the middle of what it holds), so while a segment already waits behind
 * the upload in flight, capturing would not ship anything sooner: once per interval then.
 */
export function captureDue(x: CaptureState): boolean {
  const floor = captureFloorMs(x.intervalMs);
  if (x.sinceCaptureMs < floor) return false;
  if (x.pendingBytes === undefined) return x.sinceCaptureMs >= x.intervalMs / 2;
  if (x.pendingBytes === 0 || x.backlogged) return x.sinceCaptureMs >= x.intervalMs;
  const atNextLook = x.pendingBytes + x.growth * x.probeMs;
  return x.oldestAgeMs + 2 * x.probeMs + x.shipMs(atNextLook) >= x.intervalMs;
}

/**
 * The backup job of a running server: the replicator captures, this encrypts what it captured
 * into the spool, ships it to every target, prunes old backups and reports where things stand
 * (status(), and data/backup-status.json for `tessera backup status`).
 */
export class BackupService {
  private readonly replicator: Replicator;
  private readonly spool: Spool;
  private readonly sealer: SegmentSealer;
  /** sealed segments' memory, used again once every target stored one (see SegmentSealer) */
  private readonly objectBuffers: CaptureBuffers;
  private readonly shippers: Shipper[];
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private readonly shmFile: string;
  /** performance.now() when the last sync step that captured started */
  private cycleStartedAt = -Infinity;
  /**
   * On this.now()'s clock: every change not captured yet was committed after it (the start of
   * the last capture, or a later look at the WAL that found nothing new).
   */
  private uncapturedAfter: number | undefined;
  /** the WAL incarnation the last capture ended in, and the furthest frame seen in it since */
  private incarnation: { salt: Buffer; seenFrame: number } | undefined;
  /** the last look at the WAL since that capture, and the last one that found nothing new */
  private lastLook: { at: number; pending: number } | undefined;
  private quietSince = -Infinity;
  private cron: Cron | undefined;
  /** segment and keyring spool writes, in capture order */
  private chain: Promise<void> = Promise.resolve();
  private snapshotWork: Promise<void> | undefined;
  /** key → targets that do not have it yet */
  private readonly waiting = new Map<string, Set<string>>();
  private lastSegment: { key: string; time: number } | undefined;
  private lastSnapshot: { key: string; time: number } | undefined;
  private lastCycleAt: number | undefined;
  private lastKeyringSha: string | undefined;
  private request: { id: string; snapshot?: string; state: 'pending' | 'done' } | undefined;
  private requestedSnapshotKey: string | undefined;
  private readonly retentionRunning = new Set<string>();
  private readonly listeners: ((target: BackupTarget, item: SpoolItem) => void)[] = [];
  private statusWrite: Promise<void> | undefined;
  /** captured objects still being encrypted */
  private staging = 0;
  /** bytes of objects waiting in memory */
  private inMemory = 0;
  private started = false;
  private stopped = false;
  private readonly generationKeys = new Map<string, string>();
  /** target → capture-to-durable times of its last objects */
  private readonly shipTimes = new Map<string, ShipTimes>();
  /** segments and keyring copies of this run: their upload times tell how fast each target is */
  private readonly timed = new WeakSet<SpoolItem>();

  constructor(private readonly opts: BackupServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.spool = new Spool(`${opts.dataDir}/backup-spool`);
    this.objectBuffers = opts.objectBuffers ?? new CaptureBuffers(OBJECT_MEMORY_KEPT, 1024 * 1024);
    this.sealer = new SegmentSealer(opts.log, this.objectBuffers);
    this.shmFile = `${opts.dbFile}-shm`;
    this.replicator = new Replicator({
      dbFile: opts.dbFile,
      dbKey: () => opts.keyring.active('db'),
      now: this.now,
      log: opts.log,
      snapshotIntervalMs: opts.snapshotIntervalMs,
      checkpointFrames: opts.checkpointFrames,
      checkpointWorker: opts.checkpointWorker,
      holdWrites: opts.holdWrites,
      buffers: opts.captureBuffers ?? new CaptureBuffers(),
      sink: {
        generationStarted: (g) => this.onGeneration(g),
        segment: (s) => this.onSegment(s),
        snapshot: (j) => this.onSnapshot(j),
      },
    });
    for (const t of opts.targets) t.useLog?.(opts.log);
    this.shippers = opts.targets.map(
      (t) => new Shipper(t, { log: opts.log, now: this.now, onShipped: (target, item, info) => this.onShipped(target, item, info), ...opts.retryDelays }),
    );
  }

  get targets(): BackupTarget[] {
    return this.opts.targets;
  }

  /** Opens the replicator and takes the first snapshot of a new generation. */
  start(): void {
    this.spool.init();
    // Whatever a previous run could not ship (crash, target down at shutdown) goes first.
    const left = this.spool.scan();
    for (const item of left) this.enqueue(item);
    if (left.length) this.opts.log.info({ objects: left.length }, 'backup: shipping objects left in the spool by the previous run');
    for (const s of this.shippers) s.start();
    this.replicator.open();
    this.started = true;
    this.loop();
    this.cron = new Cron('41 * * * *', { protect: true, unref: true }, () => void this.runRetention());
    this.opts.log.info({ targets: this.opts.targets.map((t) => t.label), syncIntervalMs: this.opts.syncIntervalMs, retentionDays: this.opts.retentionDays }, 'backup: continuous replication on');
  }

  /**
   * Looks at the WAL every probeMs (a read of the WAL-index header) and runs a sync step when
   * captureDue() says so. Times count from the start of the last capture, not from the end of
   * its work, so the cadence does not drift by the length of the steps.
   */
  private loop(): void {
    if (!this.started || this.stopped) return;
    const interval = this.opts.syncIntervalMs;
    const probeMs = this.probeMs();
    const floor = captureFloorMs(interval);
    const now = performance.now();
    if (now - this.cycleStartedAt >= floor && this.due(now, probeMs)) this.tick();
    if (this.stopped) return;
    const since = performance.now() - this.cycleStartedAt;
    const wait = since < floor ? floor - since : Math.min(probeMs, Math.max(1, interval - since));
    this.timer = setTimeout(() => this.loop(), wait);
    this.timer.unref();
  }

  private probeMs(): number {
    return Math.min(50, Math.max(5, this.opts.syncIntervalMs / 20));
  }

  private due(now: number, probeMs: number): boolean {
    const pending = this.pendingWalBytes();
    const prev = this.lastLook;
    const sinceCapture = now - this.cycleStartedAt;
    let growth = 0;
    if (pending !== undefined) {
      if (pending === 0) {
        this.quietSince = now;
        this.uncapturedAfter = this.now();
      }
      this.lastLook = { at: now, pending };
      const age = now - Math.max(this.cycleStartedAt, this.quietSince);
      // A burst that just began shows in the growth since the previous look, not in the average.
      growth = Math.max(age > 0 ? pending / age : 0, prev && now > prev.at ? (pending - prev.pending) / (now - prev.at) : 0);
    }
    return captureDue({
      intervalMs: this.opts.syncIntervalMs,
      probeMs,
      sinceCaptureMs: sinceCapture,
      oldestAgeMs: Math.min(sinceCapture, now - this.quietSince),
      pendingBytes: pending,
      growth,
      backlogged: this.shippers.some((s) => s.healthy() && s.queuedBehind() > 0),
      shipMs: (bytes) => this.shipMs(bytes),
    });
  }

  /** For /metrics: checkpoints so far by where they ran, and the WAL's length now. */
  walStats(): { worker: number; main: number; frames: number } {
    let frames = 0;
    try {
      frames = readShmHeader(this.shmFile).mxFrame;
    } catch {
      // no WAL-index yet: nothing committed through the WAL
    }
    return { worker: this.replicator.checkpoints.worker, main: this.replicator.checkpoints.locked, frames };
  }

  /**
   * WAL bytes committed and not in a segment yet, from the WAL-index header (no lock taken). A
   * heuristic for the cadence only: a torn or odd read just means a capture a little early or late.
   */
  private pendingWalBytes(): number | undefined {
    const pos = this.replicator.position();
    const inc = this.incarnation;
    if (!pos || !inc) return undefined;
    let h: ReturnType<typeof readShmHeader>;
    try {
      h = readShmHeader(this.shmFile);
    } catch {
      return undefined;
    }
    let frames: number;
    if (h.salt.equals(inc.salt)) {
      inc.seenFrame = Math.max(inc.seenFrame, h.mxFrame);
      frames = h.mxFrame - pos.frame;
    } else {
      // The WAL restarted after a checkpoint: all of the new one, plus the end of the old one.
      frames = h.mxFrame + Math.max(0, inc.seenFrame - pos.frame);
    }
    return Math.max(0, frames) * (h.pageSize + FRAME_HEADER_SIZE);
  }

  /** Predicted capture-to-stored time on the slowest healthy target. */
  private shipMs(bytes: number): number {
    let worst: number | undefined;
    for (const s of this.shippers) {
      // A target that is down gets the backlog later anyway; it must not drive the cadence.
      if (!s.healthy()) continue;
      const p = this.shipTimes.get(s.target.label)?.predict(bytes);
      if (p !== undefined) worst = Math.max(worst ?? 0, p);
    }
    return SHIP_SAFETY * (worst ?? FIRST_GUESS.fixedMs + (FIRST_GUESS.msPerMiB * bytes) / MIB);
  }

  /** One sync step; never throws (a failing step is logged). */
  tick(): void {
    if (!this.started || this.stopped) return;
    try {
      this.pickUpRequest();
      const startedAt = performance.now();
      const wall = this.now();
      if (this.replicator.cycle()) {
        this.lastCycleAt = this.now();
        this.cycleStartedAt = startedAt;
        this.uncapturedAfter = wall;
        this.lastLook = undefined;
        this.quietSince = -Infinity;
        this.incarnation = this.readIncarnation();
      }
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message }, 'backup: sync step failed');
    }
    this.writeStatus();
  }

  /** Right after a step nothing of ours has written, so this is the incarnation it captured. */
  private readIncarnation(): { salt: Buffer; seenFrame: number } | undefined {
    try {
      const h = readShmHeader(this.shmFile);
      return { salt: h.salt, seenFrame: h.mxFrame };
    } catch {
      return undefined;
    }
  }

  onShippedObject(listener: (target: BackupTarget, item: SpoolItem) => void): void {
    this.listeners.push(listener);
  }

  status(): BackupStatus {
    const pos = this.replicator.position();
    const targets: TargetStatus[] = this.shippers.map((s) => s.status());
    return {
      pid: process.pid,
      updatedAt: new Date(this.now()).toISOString(),
      running: this.started && !this.stopped,
      syncIntervalMs: this.opts.syncIntervalMs,
      generation: pos?.generation,
      position: pos && { walIndex: pos.walIndex, frame: pos.frame, nextSegment: pos.nextSegment },
      lastSegment: this.lastSegment && { key: this.lastSegment.key, time: new Date(this.lastSegment.time).toISOString() },
      lastSnapshot: this.lastSnapshot && { key: this.lastSnapshot.key, time: new Date(this.lastSnapshot.time).toISOString() },
      snapshotInProgress: this.replicator.snapshotInProgress,
      checkpoints: { ...this.replicator.checkpoints },
      staging: this.staging,
      lastCycleAt: this.lastCycleAt !== undefined ? new Date(this.lastCycleAt).toISOString() : undefined,
      lagSeconds: Math.max(0, ...targets.map((t) => t.lagSeconds)),
      pendingSegments: Math.max(0, ...targets.map((t) => t.pendingSegments)),
      targets,
      request: this.request,
    };
  }

  /** Takes a snapshot now and resolves with its key once every target has it. */
  async snapshotNow(timeoutMs: number): Promise<string> {
    this.replicator.requestSnapshot('requested');
    this.requestedSnapshotKey = undefined;
    let gaveUp = false;
    const want = new Promise<string>((resolve) => {
      const check = () => {
        const key = this.requestedSnapshotKey;
        if (key && !this.waiting.has(key)) return resolve(key);
        if (!gaveUp) setTimeout(check, 50).unref();
      };
      check();
    });
    this.tick();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`the snapshot did not reach every target within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    });
    try {
      return await Promise.race([want, timeout]);
    } finally {
      gaveUp = true;
      clearTimeout(timer);
    }
  }

  /**
   * Final capture, then ships everything that is spooled, waiting at most timeoutMs for the
   * targets; what is left stays in the spool and goes out at the next start.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopped || !this.started) return;
    clearTimeout(this.timer);
    this.cron?.stop();
    // The last capture takes the write lock for a moment, and never waits for it inside the
    // step. Another connection may hold it just now (a second process, or SQLite's brief locks
    // around a checkpoint): try again for a while rather than leave the last writes out.
    const captureBy = performance.now() + Math.max(1000, Math.min(timeoutMs, 10_000));
    for (;;) {
      let done: boolean;
      try {
        done = this.replicator.cycle();
      } catch (e) {
        this.opts.log.error({ err: (e as Error).message }, 'backup: final sync step failed');
        break;
      }
      if (done) break;
      if (performance.now() >= captureBy) {
        this.opts.log.error('backup: the database stayed locked; the last writes are not in the backup');
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    this.stopped = true;
    await this.snapshotWork;
    this.replicator.close();
    await this.chain;
    await this.sealer.close();
    const deadline = this.now() + timeoutMs;
    await Promise.all(this.shippers.map((s) => s.waitIdle(Math.max(0, deadline - this.now()))));
    const left = this.shippers.reduce((n, s) => n + s.status().pendingObjects, 0);
    await Promise.all(this.shippers.map((s) => s.stop()));
    await Promise.all(this.opts.targets.map((t) => t.close?.()));
    // What a target did not take yet must outlive the process: move it to the spool.
    await this.spill().catch((e: unknown) => this.opts.log.error({ err: (e as Error).message }, 'backup: cannot keep unshipped objects for the next start'));
    if (left) this.opts.log.warn({ objects: left }, 'backup: targets did not take everything before shutdown; the rest stays in the spool and ships at the next start');
    else this.opts.log.info('backup: everything shipped');
    await this.statusWrite;
    await writeStatusFile(statusFile(this.opts.dataDir), this.status()).catch(() => undefined);
  }

  /**
   * Deletes what the retention window no longer needs, on every target (or one). After a full
   * pass that succeeded everywhere, retired keys that nothing kept still needs are dropped too.
   */
  async runRetention(only?: BackupTarget): Promise<{ target: string; deleted: number; error?: string }[]> {
    const out: { target: string; deleted: number; error?: string }[] = [];
    // Objects on their way (spool leftovers of the previous run above all) count as kept: they
    // reach a target after its catalog was read.
    const inFlightAtStart = [...this.waiting.keys()];
    const kept: KeptObject[] = [];
    let everyTarget = only === undefined;
    for (const t of only ? [only] : this.opts.targets) {
      if (this.retentionRunning.has(t.label)) {
        everyTarget = false;
        continue;
      }
      this.retentionRunning.add(t.label);
      try {
        const cat = await readCatalog(t);
        const plan = planRetention(cat, this.now(), this.opts.retentionDays);
        // Never delete what is still being shipped from the spool (a retry would recreate it).
        const del = plan.delete.filter((k) => !this.waiting.has(k));
        if (del.length) {
          await t.delete(del);
          this.opts.log.info({ target: t.label, deleted: del.length, keepFrom: plan.base?.key }, 'backup: retention removed old objects');
        }
        const gone = new Set(del);
        for (const g of cat.generations) {
          for (const o of [...g.snapshots, ...g.segments]) if (!gone.has(o.key)) kept.push({ target: t, key: o.key, generation: o.generation, time: o.time, size: o.size });
        }
        out.push({ target: t.label, deleted: del.length });
      } catch (e) {
        everyTarget = false;
        this.opts.log.warn({ target: t.label, err: (e as Error).message }, 'backup: retention pass failed');
        out.push({ target: t.label, deleted: 0, error: (e as Error).message });
      } finally {
        this.retentionRunning.delete(t.label);
      }
    }
    if (everyTarget && this.opts.audit && !this.stopped) {
      for (const key of new Set([...inFlightAtStart, ...this.waiting.keys()])) {
        const p = parseKey(key);
        if (p && p.kind !== 'keyring') kept.push({ key, generation: p.generation, time: p.time, size: 0 });
      }
      try {
        await this.pruneKeys(kept, this.opts.audit);
      } catch (e) {
        this.opts.log.warn({ err: (e as Error).message }, 'backup: cannot drop retired keys');
      }
    }
    return out;
  }

  /**
   * Drops retired backup and db keys that no kept object can need. Rotations run only with the
   * server stopped (they take data/tessera.pid, which the server holds while it runs: cli/commands
   * withRotation), so a key retired at time R sealed or encrypted only objects captured before R;
   * once the oldest object kept anywhere was captured after R, the key protects nothing left.
   * Capture times come from the clock, so as a check that does not trust it, the header of one
   * object of every kept generation from an earlier run is read (a generation never changes keys:
   * one run, one backup key, one db key) and the keys it names are kept whatever their age.
   */
  private async pruneKeys(kept: KeptObject[], audit: AuditLog): Promise<void> {
    // An empty target (all of them) proves nothing about what else may exist: keep everything.
    if (!kept.some((o) => o.target !== undefined)) return;
    // A loop, not Math.min(...): a month of one-second segments is more arguments than V8 takes.
    let oldest = Infinity;
    for (const o of kept) if (o.time < oldest) oldest = o.time;
    const cutoff = new Date(oldest);
    const candidates = this.opts.keyring
      .list()
      .filter((k) => (k.purpose === 'backup' || k.purpose === 'db') && k.status === 'retired' && Date.parse(k.retired ?? k.created) < oldest);
    if (candidates.length === 0) return;

    const needed = new Set<string>();
    const earlier = new Map<string, KeptObject[]>();
    for (const o of kept) {
      // This run's generations are under the active keys, which are never dropped.
      if (this.generationKeys.has(o.generation)) continue;
      const list = earlier.get(o.generation) ?? [];
      list.push(o);
      earlier.set(o.generation, list);
    }
    for (const [generation, objects] of earlier) {
      const onTarget = objects.filter((o) => o.target !== undefined);
      // Not on any target yet (still in the spool): its keys cannot be read from there; next pass.
      if (onTarget.length === 0) {
        this.opts.log.info({ generation }, 'backup: retired keys stay until the previous run\'s objects are shipped');
        return;
      }
      const smallest = onTarget.reduce((a, b) => (b.size < a.size ? b : a));
      const h = await this.readHeader(smallest);
      needed.add(h.backupKeyId);
      needed.add(h.dbKeyId);
    }
    const clockDoubt = candidates.filter((k) => needed.has(k.id)).map((k) => k.id);
    if (clockDoubt.length) this.opts.log.warn({ keys: clockDoubt }, 'backup: kept objects newer than a key\'s retirement still use it (clock went back?); keeping the key');

    const actor = systemContext();
    let changed = false;
    for (const purpose of ['backup', 'db'] as const) {
      const removed = pruneRetiredKeys({ keyring: this.opts.keyring, audit, actor }, purpose, cutoff, (id) => needed.has(id));
      if (removed.length === 0) continue;
      changed = true;
      this.opts.log.info({ purpose, removed, oldestKept: cutoff.toISOString() }, 'backup: retired keys no kept backup needs were dropped from the keyring');
    }
    // The copies beside the backups should not keep a dropped key longer than the window does.
    if (changed) this.storeKeyringCopy();
  }

  /** The authenticated header of one object, without downloading the rest of it. */
  private async readHeader(o: KeptObject): Promise<ObjectHeader> {
    const target = o.target as BackupTarget;
    const discard = new Writable({ write: (_c, _e, done) => done() });
    try {
      return await readObject(await target.get(o.key), discard, {
        name: o.key,
        keys: this.opts.keyring,
        onHeader: (h) => {
          throw new HeaderRead(h);
        },
      });
    } catch (e) {
      if (e instanceof HeaderRead) return e.header;
      throw e;
    }
  }

  /**
   * In memory while the budget allows (no disk write and read-back on the hot path), else
   * spooled. Spilling moves every waiting in-memory object to disk first, oldest first, so that
   * what a crash can lose is always the newest objects, never one in the middle (a gap).
   */
  private async hold(key: string, kind: SpoolItem['kind'], time: number, parts: Buffer[]): Promise<SpoolItem> {
    const size = parts.reduce((n, p) => n + p.length, 0);
    if (this.inMemory + size <= (this.opts.memoryBudgetBytes ?? MEMORY_BUDGET)) {
      this.inMemory += size;
      return { key, kind, time, size, data: parts };
    }
    await this.spill();
    return this.spool.writeBuffers(key, parts);
  }

  private async spill(): Promise<void> {
    const inMemory = new Map(this.shippers.flatMap((s) => s.pending()).filter((i) => i.data).map((i) => [i.key, i]));
    for (const item of [...inMemory.values()].sort((a, b) => (a.key < b.key ? -1 : 1))) {
      const data = item.data;
      if (!data) continue;
      const written = await this.spool.writeBuffers(item.key, data);
      // Shared by every shipper: from now on they read the file.
      item.file = written.file;
      item.data = undefined;
      this.inMemory -= item.size;
    }
  }

  private enqueue(item: SpoolItem): void {
    this.waiting.set(item.key, new Set(this.opts.targets.map((t) => t.label)));
    for (const s of this.shippers) s.enqueue(item);
  }

  private onShipped(target: BackupTarget, item: SpoolItem, info: ShippedInfo): void {
    // Only objects of this run that no outage held up tell how fast the target is; the keyring
    // copy of a generation's start is the first (small: its fixed cost).
    if (this.timed.has(item) && info.clean) {
      let t = this.shipTimes.get(target.label);
      if (!t) this.shipTimes.set(target.label, (t = new ShipTimes()));
      t.add(item.size, Math.max(0, this.now() - item.time));
    }
    const left = this.waiting.get(item.key);
    left?.delete(target.label);
    if (left && left.size === 0) {
      this.waiting.delete(item.key);
      if (item.data) {
        this.inMemory -= item.size;
        // Every target has it and no upload reads it any more. (Spilled objects are not given
        // back: an upload may still be reading their memory.)
        this.objectBuffers.give(item.data.map((b) => b.buffer));
        item.data = undefined;
      }
      void this.spool.remove(item).catch((e: unknown) => this.opts.log.warn({ err: (e as Error).message }, 'backup: could not remove a shipped object from the spool'));
      if (this.request?.snapshot === item.key) this.request.state = 'done';
      if (item.kind === 'snapshot') this.clearRotationMarker(item.key);
    }
    if (item.kind === 'snapshot') void this.runRetention(target);
    for (const l of this.listeners) l(target, item);
  }

  /**
   * `tessera keys rotate-db` leaves a marker asking for a fresh generation under the new key;
   * every server start begins one, so once its snapshot is on every target the marker can go.
   */
  private clearRotationMarker(snapshot: string): void {
    const db = this.opts.appDb;
    const p = parseKey(snapshot);
    if (!db || !p || p.kind !== 'snapshot') return;
    try {
      const marker = readNewGenerationMarker(db);
      if (marker && marker.dbKeyId === this.generationKeys.get(p.generation)) {
        clearNewGenerationMarker(db);
        this.opts.log.info({ generation: p.generation, dbKeyId: marker.dbKeyId }, 'backup: the generation required by the database key rotation is stored');
      }
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message }, 'backup: cannot clear the key-rotation marker');
    }
  }

  private onGeneration(g: { id: string; reason: string; dbKeyId: string }): void {
    this.generationKeys.set(g.id, g.dbKeyId);
    this.opts.log.info({ generation: g.id, reason: g.reason, dbKeyId: g.dbKeyId }, 'backup: new generation');
    this.storeKeyringCopy();
  }

  /**
   * A copy of the keyring (wrapped keys only) beside the backups: with the master key alone,
   * a lost server can be restored. Only when it changed (at a generation start, or after retired
   * keys were dropped).
   */
  private storeKeyringCopy(): void {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(keyringPath(this.opts.dataDir));
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message }, 'backup: cannot read the keyring to store a copy with the backups');
      return;
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha === this.lastKeyringSha) return;
    this.lastKeyringSha = sha;
    const key = keyringKey(this.now(), sha);
    this.staging++;
    this.chain = this.chain.then(async () => {
      try {
        const item = await this.hold(key, 'keyring', this.now(), [bytes]);
        this.timed.add(item);
        this.enqueue(item);
      } catch (e) {
        this.opts.log.warn({ err: (e as Error).message }, 'backup: cannot spool the keyring copy');
      } finally {
        this.staging--;
      }
    });
  }

  private onSegment(s: CapturedSegment): void {
    const { key, header } = segmentObject(s);
    this.lastSegment = { key, time: s.time };
    // Called inside the step that captured it: uncapturedAfter still holds for what it captured.
    const after = this.uncapturedAfter ?? s.time;
    const backupKey = this.opts.keyring.active('backup');
    this.staging++;
    this.chain = this.chain.then(async () => {
      try {
        const t0 = performance.now();
        let parts: Buffer[];
        try {
          parts = await this.sealer.seal(header, [s.walHeader, ...s.frames], backupKey);
        } finally {
          s.release();
        }
        const item = await this.hold(key, 'segment', s.time, parts);
        item.after = after;
        this.timed.add(item);
        this.opts.log.debug({ segment: key, bytes: item.size, sealMs: Math.round(performance.now() - t0), spooled: item.file !== undefined, waitedMs: Math.round(this.now() - s.time) }, 'backup: segment captured');
        this.enqueue(item);
      } catch (e) {
        // The frames are captured but lost to the backup: only a new snapshot closes the gap.
        this.opts.log.error({ err: (e as Error).message, segment: key }, 'backup: cannot spool a segment');
        this.replicator.requestNewGeneration('a segment could not be spooled');
      } finally {
        this.staging--;
      }
    });
  }

  private onSnapshot(job: SnapshotJob): void {
    const { key, header } = snapshotObject(job);
    if (this.request?.state === 'pending' && this.request.snapshot === undefined) this.request.snapshot = key;
    if (job.reason === 'requested') this.requestedSnapshotKey = key;
    const backupKey = this.opts.keyring.active('backup');
    const started = this.now();
    this.staging++;
    async function* payload(): AsyncGenerator<Buffer> {
      if (job.dbBytes > 0) {
        const fh = await fs.promises.open(job.dbFile, 'r');
        try {
          for await (const c of fh.createReadStream({ start: 0, end: job.dbBytes - 1, highWaterMark: 1 << 20, autoClose: false })) yield c as Buffer;
        } finally {
          await fh.close();
        }
      }
      // The file is read: checkpoints may run again while the rest is encrypted.
      job.release();
      if (job.wal.length) yield job.wal;
    }
    this.snapshotWork = (async () => {
      try {
        const item = await this.spool.write(key, async (out) => {
          await writeObject(out, header, payload(), backupKey);
        });
        this.lastSnapshot = { key, time: job.time };
        this.opts.log.info({ snapshot: key, bytes: item.size, ms: this.now() - started, reason: job.reason }, 'backup: snapshot taken');
        this.enqueue(item);
      } catch (e) {
        this.opts.log.error({ err: (e as Error).message, snapshot: key }, 'backup: snapshot failed; a new generation will start');
        this.replicator.requestNewGeneration('the last snapshot failed');
      } finally {
        job.release();
        this.snapshotWork = undefined;
        this.staging--;
      }
    })();
  }

  /** `tessera backup now` on a running server drops a request file into the data directory. */
  private pickUpRequest(): void {
    const file = requestFile(this.opts.dataDir);
    if (!fs.existsSync(file)) return;
    try {
      const parsed = requestSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
      fs.rmSync(file, { force: true });
      if (!parsed.success) return;
      this.request = { id: parsed.data.id, state: 'pending' };
      this.replicator.requestSnapshot('requested by tessera backup now');
      this.opts.log.info({ request: parsed.data.id }, 'backup: snapshot requested');
    } catch (e) {
      this.opts.log.warn({ err: (e as Error).message }, 'backup: unreadable snapshot request');
      fs.rmSync(file, { force: true });
    }
  }

  private writeStatus(): void {
    if (this.statusWrite) return;
    this.statusWrite = writeStatusFile(statusFile(this.opts.dataDir), this.status())
      .catch(() => undefined)
      .finally(() => (this.statusWrite = undefined));
  }
}

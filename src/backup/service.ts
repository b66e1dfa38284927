import { Cron } from 'croner';
import fs from 'node:fs';
import { z } from 'zod';
import type { AuditLog } from '../audit/service.ts';
import type { Faults } from '../db/faults.ts';
import type { DB } from '../db/open.ts';
import { clearNewGenerationMarker, readNewGenerationMarker } from '../keys/rotation.ts';
import type { Keyring } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import type { SnapshotJob } from './captured.ts';
import { parseKey } from './layout.ts';
import { ObjectQueue } from './object-queue.ts';
import { Replicator } from './replicator.ts';
import { Sealing } from './sealing.ts';
import { RetentionPass, type RetentionOutcome } from './retention.ts';
import { type ShipThresholds, SyncScheduler } from './scheduler.ts';
import { Shipper } from './shipper.ts';
import type { SpoolItem } from './spool.ts';
import { Spool } from './spool.ts';
import { type BackupStatus, removeStaleStatusTemps, requestFile, statusFile, writeStatusFile } from './status-file.ts';
import type { BackupTarget } from './targets/target.ts';
import { readShmHeader } from './wal.ts';

export interface BackupServiceOptions {
  dataDir: string;
  dbFile: string;
  keyring: Keyring;
  log: Logger;
  targets: BackupTarget[];
  /** ship at least this often: the most a committed change waits before it is captured */
  syncIntervalMs: number;
  /** ship as soon as this many WAL frames wait (default 2048, 8 MiB of 4 KiB pages) */
  syncFrames?: number;
  snapshotIntervalMs: number;
  retentionDays: number;
  now?: () => number;
  checkpointFrames?: number;
  /** false: checkpoints only in the replicator's locked section */
  checkpointWorker?: boolean;
  retryDelays?: { baseDelayMs: number; maxDelayMs: number };
  /** the app's connection: clears a db-key rotation's "new generation required" marker once honoured */
  appDb?: DB;
  /**
   * Holds the app's writes back until the returned function is called: lets a checkpoint copy
   * back the whole WAL so that it can start over (see ReplicaCheckpoints).
   */
  holdWrites?: () => () => void;
  /** the instance's fault states: disk-full is raised when a checkpoint or spool write finds no space */
  faults?: Faults;
  /** bytes of captured objects kept in memory before they go to the spool (default 64 MiB) */
  memoryBudgetBytes?: number;
  /** with it, a full retention pass also drops retired keys no kept object needs (audited) */
  audit?: AuditLog;
}

/** 8 MiB of 4 KiB pages: a burst ships in pieces a target takes in well under a second. */
export const DEFAULT_SYNC_FRAMES = 2048;

const at = (o: { key: string; time: number } | undefined) => o && { key: o.key, time: new Date(o.time).toISOString() };

const requestSchema = z.object({ id: z.string().regex(/^[0-9a-f]{8,32}$/) });

/**
 * The backup job of a running server: the scheduler says when, the replicator captures, this
 * seals what it captured, the queue ships it to every target, retention prunes old backups, and
 * status() (with data/backup-status.json for `tessera backup status`) says where things stand.
 */
export class BackupService {
  private readonly replicator: Replicator;
  private readonly spool: Spool;
  private readonly sealing: Sealing;
  private readonly shippers: Shipper[];
  private readonly queue: ObjectQueue;
  private readonly scheduler: SyncScheduler;
  private readonly retention: RetentionPass;
  private readonly now: () => number;
  private readonly shmFile: string;
  private cron: Cron | undefined;
  private lastCycleAt: number | undefined;
  private request: { id: string; snapshot?: string; state: 'pending' | 'done' } | undefined;
  /** `snapshotNow()`: the snapshot it asked for, and whether every target has it */
  private requested: { key: string; stored: boolean } | undefined;
  private readonly listeners: ((target: BackupTarget, item: SpoolItem) => void)[] = [];
  private statusWrite: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private readonly generationKeys = new Map<string, string>();

  constructor(private readonly opts: BackupServiceOptions) {
    this.now = opts.now ?? Date.now;
    this.spool = new Spool(`${opts.dataDir}/backup-spool`);
    this.shmFile = `${opts.dbFile}-shm`;
    this.replicator = new Replicator({
      dbFile: opts.dbFile,
      dbKey: () => opts.keyring.active('db'),
      now: this.now,
      log: opts.log,
      faults: opts.faults,
      snapshotIntervalMs: opts.snapshotIntervalMs,
      checkpointFrames: opts.checkpointFrames,
      checkpointWorker: opts.checkpointWorker,
      holdWrites: opts.holdWrites,
      sink: {
        generationStarted: (g) => this.onGeneration(g),
        segment: (s) => this.sealing.segment(s),
        snapshot: (j) => this.onSnapshot(j),
      },
    });
    this.shippers = opts.targets.map((t) => new Shipper(t, { log: opts.log, now: this.now, onShipped: (target, item) => this.onShipped(target, item), ...opts.retryDelays }));
    this.queue = new ObjectQueue({ spool: this.spool, shippers: this.shippers, log: opts.log, faults: opts.faults, memoryBudgetBytes: opts.memoryBudgetBytes, stored: (item) => this.onStored(item) });
    this.sealing = new Sealing({
      dataDir: opts.dataDir,
      keyring: opts.keyring,
      log: opts.log,
      now: this.now,
      queue: this.queue,
      lost: (reason) => this.replicator.requestNewGeneration(reason),
      uncapturedAfter: () => this.scheduler.uncapturedAfter(),
    });
    const thresholds: ShipThresholds = { frames: opts.syncFrames ?? DEFAULT_SYNC_FRAMES, ms: opts.syncIntervalMs };
    this.scheduler = new SyncScheduler({ thresholds, shmFile: this.shmFile, position: () => this.replicator.position(), step: () => this.step(), now: this.now });
    this.retention = new RetentionPass({
      targets: opts.targets,
      keyring: opts.keyring,
      log: opts.log,
      now: this.now,
      retentionDays: opts.retentionDays,
      audit: opts.audit,
      inFlight: () => this.queue.keys(),
      generationKeys: this.generationKeys,
      keyringChanged: () => this.sealing.keyringCopy(),
      stopped: () => this.stopped,
    });
  }

  get targets(): BackupTarget[] {
    return this.opts.targets;
  }

  /** Opens the replicator and takes the first snapshot of a new generation. */
  start(): void {
    this.spool.init();
    removeStaleStatusTemps(this.opts.dataDir);
    // Whatever a previous run could not ship (crash, target down at shutdown) goes first.
    const left = this.spool.scan();
    for (const item of left) this.queue.enqueue(item);
    if (left.length) this.opts.log.info({ objects: left.length }, 'backup: shipping objects left in the spool by the previous run');
    for (const s of this.shippers) s.start();
    this.replicator.open();
    this.started = true;
    this.scheduler.start();
    this.cron = new Cron('41 * * * *', { protect: true, unref: true }, () => void this.runRetention());
    this.opts.log.info({ targets: this.opts.targets.map((t) => t.label), syncIntervalMs: this.opts.syncIntervalMs, retentionDays: this.opts.retentionDays }, 'backup: continuous replication on');
  }

  /** For /metrics: checkpoints so far by where they ran, and the WAL's length now. */
  walStats(): { worker: number; main: number; frames: number; last: { at: number; seconds: number } | undefined } {
    let frames = 0;
    try {
      frames = readShmHeader(this.shmFile).mxFrame;
    } catch {
      // no WAL-index yet: nothing committed through the WAL
    }
    const c = this.replicator.checkpoints;
    return { worker: c.worker, main: c.locked, frames, last: c.last };
  }

  /** One sync step now (the restore test pins a position with it); never throws. */
  tick(): void {
    if (this.started && !this.stopped) this.scheduler.runStep();
  }

  /** How many times the scheduler has looked at the WAL so far (diagnostics; tests wait on it). */
  schedulerLooks(): number {
    return this.scheduler.looks;
  }

  /** A step as the scheduler runs it: true when the replicator captured. */
  private step(): boolean {
    let captured = false;
    try {
      this.pickUpRequest();
      captured = this.replicator.cycle();
      if (captured) this.lastCycleAt = this.now();
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message }, 'backup: sync step failed');
    }
    this.writeStatus();
    return captured;
  }

  onShippedObject(listener: (target: BackupTarget, item: SpoolItem) => void): void {
    this.listeners.push(listener);
  }

  status(): BackupStatus {
    const pos = this.replicator.position();
    const targets = this.shippers.map((s) => s.status());
    const overdue = this.started && !this.stopped ? this.scheduler.overdueMs() / 1000 : 0;
    return {
      pid: process.pid,
      updatedAt: new Date(this.now()).toISOString(),
      running: this.started && !this.stopped,
      syncIntervalMs: this.opts.syncIntervalMs,
      generation: pos?.generation,
      position: pos && { walIndex: pos.walIndex, frame: pos.frame, nextSegment: pos.nextSegment },
      lastSegment: at(this.sealing.lastSegment),
      lastSnapshot: at(this.sealing.lastSnapshot),
      snapshotInProgress: this.replicator.snapshotInProgress,
      checkpoints: this.replicator.checkpoints,
      staging: this.sealing.staging,
      lastCycleAt: this.lastCycleAt !== undefined ? new Date(this.lastCycleAt).toISOString() : undefined,
      // What waits uncaptured past its deadline counts as lag too: a busy host shows as behind.
      lagSeconds: Math.max(overdue, ...targets.map((t) => t.lagSeconds)),
      captureOverdueSeconds: overdue,
      pendingSegments: Math.max(0, ...targets.map((t) => t.pendingSegments)),
      targets,
      request: this.request,
    };
  }

  /** Takes a snapshot now and resolves with its key once every target has it. */
  async snapshotNow(timeoutMs: number): Promise<string> {
    this.replicator.requestSnapshot('requested');
    this.requested = undefined;
    const deadline = Date.now() + timeoutMs;
    this.tick();
    for (;;) {
      const stored = this.requestedStored();
      if (stored) return stored;
      if (Date.now() >= deadline) throw new Error(`the snapshot did not reach every target within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private requestedStored(): string | undefined {
    return this.requested?.stored ? this.requested.key : undefined;
  }

  /**
   * Final capture, then ships everything that is spooled, waiting at most timeoutMs for the
   * targets; what is left stays in the spool and goes out at the next start.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopped || !this.started) return;
    this.scheduler.stop();
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
    await this.sealing.snapshotSettled();
    this.replicator.close();
    await this.sealing.close();
    const deadline = this.now() + timeoutMs;
    await Promise.all(this.shippers.map((s) => s.waitIdle(Math.max(0, deadline - this.now()))));
    const left = this.shippers.reduce((n, s) => n + s.status().pendingObjects, 0);
    await Promise.all(this.shippers.map((s) => s.stop()));
    // What a target did not take yet must outlive the process: move it to the spool.
    await this.queue.spill().catch((e: unknown) => this.opts.log.error({ err: (e as Error).message }, 'backup: cannot keep unshipped objects for the next start'));
    if (left) this.opts.log.warn({ objects: left }, 'backup: targets did not take everything before shutdown; the rest stays in the spool and ships at the next start');
    else this.opts.log.info('backup: everything shipped');
    await this.statusWrite;
    await writeStatusFile(statusFile(this.opts.dataDir), this.status()).catch(() => undefined);
  }

  /** Deletes what the retention window no longer needs, on every target (or one). */
  runRetention(only?: BackupTarget): Promise<RetentionOutcome> {
    return this.retention.run(only);
  }

  private onShipped(target: BackupTarget, item: SpoolItem): void {
    this.queue.shipped(target, item);
    if (item.kind === 'snapshot') void this.runRetention(target);
    for (const l of this.listeners) l(target, item);
  }

  /** Every target has the object. */
  private onStored(item: SpoolItem): void {
    if (this.request?.snapshot === item.key) this.request.state = 'done';
    if (this.requested?.key === item.key) this.requested.stored = true;
    if (item.kind === 'snapshot') this.clearRotationMarker(item.key);
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
    this.sealing.keyringCopy();
  }

  private onSnapshot(job: SnapshotJob): void {
    const key = this.sealing.snapshot(job);
    if (this.request?.state === 'pending' && this.request.snapshot === undefined) this.request.snapshot = key;
    if (job.reason === 'requested') this.requested = { key, stored: false };
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

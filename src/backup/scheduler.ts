import type { ReplicatorPosition } from './captured.ts';
import { readShmHeader, type ShmHeader } from './wal.ts';

/**
 * When to capture, in Litestream's style: as soon as `frames` WAL frames wait, or once the oldest
 * waiting change is `ms` old, whichever comes first. With nothing waiting a step still runs every
 * `ms` (due snapshots, key changes, the status file). Fixed numbers rather than a prediction: the
 * cadence is easy to reason about, and what a slow target costs shows honestly in the status
 * (lag, achieved RPO) instead of being hidden by a guess.
 */
export interface ShipThresholds {
  frames: number;
  ms: number;
}

export interface ShipState {
  /** WAL frames committed and not captured yet; undefined when the WAL-index could not be read */
  pendingFrames: number | undefined;
  /** upper bound of the age of the oldest change not captured yet */
  oldestAgeMs: number;
  /** since the last step started */
  sinceStepMs: number;
}

export function shipDue(t: ShipThresholds, x: ShipState): boolean {
  if (x.pendingFrames === undefined || x.pendingFrames === 0) return x.sinceStepMs >= t.ms;
  return x.pendingFrames >= t.frames || x.oldestAgeMs >= t.ms;
}

export interface SyncSchedulerOptions {
  thresholds: ShipThresholds;
  shmFile: string;
  /** where the last capture ended */
  position: () => ReplicatorPosition | undefined;
  /** one sync step; true when it captured (false: the database was locked, nothing done) */
  step: () => boolean;
  /** wall clock, for the RPO bound of captured segments */
  now: () => number;
  /** monotonic clock for the cadence (tests give their own) */
  clock?: () => number;
  /** the WAL-index header (tests give their own) */
  header?: () => ShmHeader;
}

/**
 * Looks at the WAL-index header every probeMs (no lock, a 136-byte read) and runs a sync step
 * when shipDue() says so. Times count from the start of a step, not its end, so the cadence does
 * not drift by the steps' own length.
 */
export class SyncScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** performance.now() when the last step that captured started */
  private stepStartedAt = -Infinity;
  /** performance.now() of the last look that found nothing waiting */
  private quietAt = -Infinity;
  /** wall clock: every change not captured yet was committed after it */
  private uncapturedSince: number | undefined;
  /** the WAL incarnation the last capture ended in, and the furthest frame seen in it since */
  private incarnation: { salt: Buffer; seenFrame: number } | undefined;
  /** frames waiting at the last look */
  private lastPending: number | undefined;
  /** How many times the WAL was looked at: lets a caller wait for the scheduler instead of a clock. */
  looks = 0;
  private readonly clock: () => number;
  private readonly header: () => ShmHeader;
  readonly probeMs: number;

  constructor(private readonly opts: SyncSchedulerOptions) {
    const { frames, ms } = opts.thresholds;
    if (!Number.isInteger(frames) || frames < 1) throw new Error(`backup: the frame threshold must be a positive whole number (got ${frames})`);
    if (!(ms >= 1)) throw new Error(`backup: the time threshold must be at least 1 ms (got ${ms})`);
    this.probeMs = Math.min(50, Math.max(5, ms / 20));
    this.clock = opts.clock ?? (() => performance.now());
    this.header = opts.header ?? (() => readShmHeader(opts.shmFile));
  }

  start(): void {
    this.running = true;
    this.loop();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** Every change not captured yet was committed after this (wall clock); for segments' RPO. */
  uncapturedAfter(): number | undefined {
    return this.uncapturedSince;
  }

  /**
   * How late the capture of what waits is: the age of the oldest waiting change beyond the time
   * threshold, 0 when on time. On a host too busy to run the event loop in time (or a database
   * another process keeps locked) this grows, and the status and /metrics say so.
   */
  overdueMs(): number {
    if (!this.lastPending) return 0;
    const now = this.clock();
    const age = Math.min(now - this.stepStartedAt, now - this.quietAt);
    return Number.isFinite(age) && age > this.opts.thresholds.ms ? age - this.opts.thresholds.ms : 0;
  }

  /** One look at the WAL; runs a step if one is due. Returns whether it ran one. */
  probe(): boolean {
    this.looks++;
    const now = this.clock();
    const pendingFrames = this.pendingFrames();
    this.lastPending = pendingFrames;
    if (pendingFrames === 0) {
      this.quietAt = now;
      this.uncapturedSince = this.opts.now();
    }
    const sinceStepMs = now - this.stepStartedAt;
    if (!shipDue(this.opts.thresholds, { pendingFrames, sinceStepMs, oldestAgeMs: Math.min(sinceStepMs, now - this.quietAt) })) return false;
    this.runStep();
    return true;
  }

  /** Runs a step now (also for `backup now`), and starts counting from it if it captured. */
  runStep(): boolean {
    const startedAt = this.clock();
    const wall = this.opts.now();
    if (!this.opts.step()) return false;
    this.stepStartedAt = startedAt;
    this.quietAt = -Infinity;
    this.uncapturedSince = wall;
    this.lastPending = 0;
    // Right after a step nothing of ours has written, so this is the incarnation it captured.
    try {
      const h = this.header();
      this.incarnation = { salt: h.salt, seenFrame: h.mxFrame };
    } catch {
      this.incarnation = undefined;
    }
    return true;
  }

  private loop(): void {
    if (!this.running) return;
    this.probe();
    if (!this.running) return;
    const since = this.clock() - this.stepStartedAt;
    this.timer = setTimeout(() => this.loop(), Math.min(this.probeMs, Math.max(1, this.opts.thresholds.ms - since)));
    this.timer.unref();
  }

  /**
   * Frames committed and not in a segment yet, from the WAL-index header. A heuristic for the
   * cadence only: a torn or odd read just means a capture a little early or late.
   */
  private pendingFrames(): number | undefined {
    const pos = this.opts.position();
    const inc = this.incarnation;
    if (!pos || !inc) return undefined;
    let h: ShmHeader;
    try {
      h = this.header();
    } catch {
      return undefined;
    }
    if (h.salt.equals(inc.salt)) {
      inc.seenFrame = Math.max(inc.seenFrame, h.mxFrame);
      return Math.max(0, h.mxFrame - pos.frame);
    }
    // The WAL restarted after a checkpoint: all of the new one, plus the end of the old one.
    return h.mxFrame + Math.max(0, inc.seenFrame - pos.frame);
  }
}

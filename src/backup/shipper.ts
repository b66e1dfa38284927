import type { Logger } from '../log.ts';
import type { SpoolItem } from './spool.ts';
import type { BackupTarget } from './targets/target.ts';

export interface TargetStatus {
  target: string;
  /** objects still to upload (segments, snapshots, keyrings) */
  pendingObjects: number;
  pendingSegments: number;
  pendingBytes: number;
  /** age of the oldest segment not yet on this target; 0 when it has everything */
  lagSeconds: number;
  /**
   * The measured RPO: for the newest segment stored here (captured by this process), how long
   * its oldest possible change waited from COMMIT until it was stored. The sync interval promises
   * at most syncIntervalMs.
   */
  rpoSeconds?: number;
  /** the largest rpoSeconds of the last minute */
  rpoMaxSeconds?: number;
  lastShipped?: { key: string; at: string };
  lastError?: string;
  /** when the current run of failed uploads began (unset while uploads succeed) */
  failingSince?: string;
  failures: number;
  nextRetryAt?: string;
}

interface Lane {
  name: string;
  queue: SpoolItem[];
  wake?: () => void;
}

export interface ShipperOptions {
  log: Logger;
  now: () => number;
  onShipped: (target: BackupTarget, item: SpoolItem) => void;
  /** first retry delay; doubles up to maxDelayMs (with jitter) */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Uploads spooled objects to one target, in order, retrying with exponential back-off. Two
 * lanes: segments and keyrings in one, snapshots in the other, so a long snapshot upload never
 * delays the segments that bound how much data a crash can lose.
 */
export class Shipper {
  private readonly fast: Lane = { name: 'segments', queue: [] };
  private readonly bulk: Lane = { name: 'snapshots', queue: [] };
  private stopped = false;
  private readonly abort = new AbortController();
  private failures = 0;
  private failingSince: number | undefined;
  private lastError: string | undefined;
  private nextRetryAt: number | undefined;
  private lastShipped: { key: string; at: number } | undefined;
  private loops: Promise<void>[] = [];
  private idleWaiters: (() => void)[] = [];
  private readonly sleepers = new Set<() => void>();
  /** (stored at, RPO ms) of the segments stored in the last minute */
  private readonly rpo: { at: number; ms: number }[] = [];

  constructor(
    readonly target: BackupTarget,
    private readonly opts: ShipperOptions,
  ) {}

  start(): void {
    this.loops = [this.run(this.fast), this.run(this.bulk)];
  }

  enqueue(item: SpoolItem): void {
    const lane = item.kind === 'snapshot' ? this.bulk : this.fast;
    lane.queue.push(item);
    lane.wake?.();
  }

  /** Items still waiting (for moving in-memory ones to the spool at shutdown). */
  pending(): SpoolItem[] {
    return [...this.fast.queue, ...this.bulk.queue];
  }

  idle(): boolean {
    return this.fast.queue.length === 0 && this.bulk.queue.length === 0;
  }

  /** Resolves when both lanes are empty, or after timeoutMs (false then). */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.idle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  status(): TargetStatus {
    const items = [...this.fast.queue, ...this.bulk.queue];
    const segs = items.filter((i) => i.kind === 'segment');
    const oldest = segs.reduce((m, i) => Math.min(m, i.time), Infinity);
    const now = this.opts.now();
    this.trimRpo(now);
    const lastRpo = this.rpo.at(-1);
    return {
      target: this.target.label,
      pendingObjects: items.length,
      pendingSegments: segs.length,
      pendingBytes: items.reduce((n, i) => n + i.size, 0),
      lagSeconds: oldest === Infinity ? 0 : Math.max(0, (now - oldest) / 1000),
      rpoSeconds: lastRpo && lastRpo.ms / 1000,
      rpoMaxSeconds: lastRpo && this.rpo.reduce((m, r) => Math.max(m, r.ms), 0) / 1000,
      lastShipped: this.lastShipped && { key: this.lastShipped.key, at: new Date(this.lastShipped.at).toISOString() },
      lastError: this.lastError,
      failingSince: this.failingSince !== undefined ? new Date(this.failingSince).toISOString() : undefined,
      failures: this.failures,
      nextRetryAt: this.nextRetryAt !== undefined ? new Date(this.nextRetryAt).toISOString() : undefined,
    };
  }

  /** Keeps the last minute, and at least the newest entry. */
  private trimRpo(now: number): void {
    while (this.rpo.length > 1 && (this.rpo[0] as { at: number }).at < now - 60_000) this.rpo.shift();
  }

  private async run(lane: Lane): Promise<void> {
    const base = this.opts.baseDelayMs ?? 500;
    const max = this.opts.maxDelayMs ?? 30_000;
    while (!this.stopped) {
      const item = lane.queue[0];
      if (!item) {
        if (this.idle()) for (const w of this.idleWaiters.splice(0)) w();
        await new Promise<void>((r) => (lane.wake = r));
        lane.wake = undefined;
        continue;
      }
      try {
        const t0 = performance.now();
        await this.target.put(item.key, item.data ? { data: item.data } : { file: item.file as string }, this.abort.signal);
        this.opts.log.debug({ target: this.target.label, key: item.key, bytes: item.size, putMs: Math.round(performance.now() - t0) }, 'backup: stored');
        lane.queue.shift();
        if (item.kind === 'segment' && item.after !== undefined) {
          const at = this.opts.now();
          this.rpo.push({ at, ms: Math.max(0, at - item.after) });
          this.trimRpo(at);
        }
        if (this.failures > 0) this.opts.log.info({ target: this.target.label, after: this.failures }, 'backup: target reachable again');
        this.failures = 0;
        this.failingSince = undefined;
        this.lastError = undefined;
        this.nextRetryAt = undefined;
        this.lastShipped = { key: item.key, at: this.opts.now() };
        this.opts.onShipped(this.target, item);
      } catch (e) {
        if (this.stopped) break;
        const msg = (e as Error).message;
        this.failures++;
        this.failingSince ??= this.opts.now();
        // One warning per outage (and when the reason changes), not one per retry.
        if (msg !== this.lastError) this.opts.log.warn({ target: this.target.label, err: msg, pending: lane.queue.length }, 'backup: upload failed; retrying with back-off');
        this.lastError = msg;
        const delay = Math.min(max, base * 2 ** Math.min(this.failures - 1, 16)) * (0.5 + Math.random() / 2);
        this.nextRetryAt = this.opts.now() + delay;
        // New work must not cut the back-off short (a segment arrives every second); only stop() does.
        await new Promise<void>((r) => {
          const wake = () => {
            clearTimeout(t);
            this.sleepers.delete(wake);
            r();
          };
          const t = setTimeout(wake, delay);
          this.sleepers.add(wake);
        });
      }
    }
  }

  /** Stops both lanes; an upload in flight is aborted (its object stays in the spool). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.fast.wake?.();
    this.bulk.wake?.();
    for (const s of [...this.sleepers]) s();
    await Promise.allSettled(this.loops);
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

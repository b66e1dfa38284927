import type { BackupTarget } from '../backup/targets/target.ts';
import type { Keyring } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import { type LaneStatus, ObjectLane } from './object-lane.ts';
import type { LogSource } from './sources.ts';
import { type SyslogConfig, SyslogShipper } from './syslog.ts';

export interface LogShipperOptions {
  targets: BackupTarget[];
  sources: LogSource[];
  syslog?: SyslogConfig;
  keyring: Keyring;
  log: Logger;
  now: () => number;
  maxLines: number;
  intervalMs: number;
  /** a destination that has shipped nothing for this long while lines wait is a gap */
  maxLagMs: number;
  /** called once when a destination falls into a gap (lines dropped, or lag over the bound) */
  onGap: (gap: ShippingGap) => void;
}

export interface ShippingGap {
  destination: string;
  stream: string;
  reason: string;
}

export interface ShippingStatus {
  /** false while any destination is in a gap */
  ok: boolean;
  destinations: (LaneStatus & { gap: boolean })[];
}

/**
 * Copies the audit and access logs off the host as they are written (README "Log shipping"):
 * to every backup target as a chain of sealed objects, and to a syslog collector over TLS.
 * Runs on a timer in the server; `flush()` ships everything due now, whatever its age.
 */
export class LogShipper {
  private readonly lanes: ObjectLane[];
  private readonly syslog: SyslogShipper | undefined;
  private readonly inGap = new Map<string, { dropped: number }>();
  /** dropped-line counts as last seen per destination, so only new losses open a gap */
  private readonly seenDropped = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly o: LogShipperOptions) {
    const keys = { active: () => o.keyring.active('audit'), byId: (id: string) => o.keyring.byId(id) };
    this.lanes = o.targets.flatMap((target) => o.sources.map((source) => new ObjectLane({ target, source, keys, log: o.log, now: o.now, maxLines: o.maxLines, intervalMs: o.intervalMs })));
    this.syslog = o.syslog ? new SyslogShipper(o.syslog, o.sources, o.log, o.now) : undefined;
  }

  get enabled(): boolean {
    return this.lanes.length > 0 || this.syslog !== undefined;
  }

  start(): void {
    if (!this.enabled) return;
    const every = Math.max(50, Math.min(1000, Math.floor(this.o.intervalMs / 2)));
    this.timer = setInterval(() => void this.tick(false), every);
    this.timer.unref();
    void this.tick(false);
  }

  /** Ships everything waiting now, to every destination that can take it. */
  flush(): Promise<void> {
    return this.tick(true);
  }

  private tick(force: boolean): Promise<void> {
    // Never two passes at once: a slow target would otherwise ship the same lines twice.
    const prev = this.running ?? Promise.resolve();
    const run = prev.then(async () => {
      this.syslog?.step();
      await Promise.all(this.lanes.map((l) => l.step(force)));
      this.checkGaps();
    });
    this.running = run.finally(() => {
      if (this.running === run) this.running = undefined;
    });
    return run;
  }

  status(): ShippingStatus {
    const all = [...this.lanes.map((l) => l.status()), ...(this.syslog ? [this.syslog.status()] : [])];
    const destinations = all.map((s) => ({ ...s, gap: this.inGap.has(`${s.destination} ${s.stream}`) }));
    return { ok: destinations.every((d) => !d.gap), destinations };
  }

  /** A gap opens on dropped lines or a lag over the bound, and closes once the destination has caught up. */
  private checkGaps(): void {
    for (const s of this.status().destinations) {
      const id = `${s.destination} ${s.stream}`;
      const open = this.inGap.get(id);
      const reason =
        s.droppedLines > (open?.dropped ?? this.seenDropped.get(id) ?? 0)
          ? `${s.droppedLines} log lines were lost before they reached ${s.destination}`
          : s.lagSeconds * 1000 > this.o.maxLagMs
            ? `nothing reached ${s.destination} for ${Math.round(s.lagSeconds)} s while lines waited${s.error ? ` (${s.error})` : ''}`
            : undefined;
      this.seenDropped.set(id, s.droppedLines);
      if (reason && !open) {
        this.inGap.set(id, { dropped: s.droppedLines });
        this.o.log.error({ destination: s.destination, stream: s.stream, reason }, 'log shipping: gap');
        try {
          this.o.onGap({ destination: s.destination, stream: s.stream, reason });
        } catch (e) {
          this.o.log.error({ err: (e as Error).message }, 'log shipping: cannot raise the gap alert');
        }
      } else if (open) {
        open.dropped = s.droppedLines;
        if (!reason && s.lagSeconds === 0 && s.error === null) this.inGap.delete(id);
      }
    }
  }

  /** Ships what is left (bounded by `timeoutMs`) and stops. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.enabled) return;
    let t: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      t = setTimeout(resolve, timeoutMs);
      t.unref();
    });
    await Promise.race([this.flush().catch(() => undefined), deadline]);
    await this.syslog?.close(Math.max(100, timeoutMs));
    clearTimeout(t);
  }
}

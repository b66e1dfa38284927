import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * How late the event loop has been running lately: the 99th percentile of its delay over the
 * last full second (Node's own sampler). The registration queue reads it to notice overload that
 * happens before any handler runs (requests waiting to be parsed while the CPU is saturated).
 */
export class LoopLag {
  private readonly histogram: ReturnType<typeof monitorEventLoopDelay>;
  private readonly timer: NodeJS.Timeout;
  private lastMs = 0;

  constructor(windowMs = 1000) {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.timer = setInterval(() => {
      this.lastMs = this.histogram.percentile(99) / 1e6;
      this.histogram.reset();
    }, windowMs);
    this.timer.unref();
  }

  /** ms: the recent p99 delay, or the current window's if it is already worse (a stall now). */
  ms(): number {
    return Math.max(this.lastMs, this.histogram.count > 0 ? this.histogram.percentile(99) / 1e6 : 0);
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

import { type EventLoopUtilization, performance } from 'node:perf_hooks';

/**
 * How busy the main thread has been lately (event-loop utilization over the last window).
 *
 * When registrations arrive faster than one core can take them, they wait in socket buffers
 * before the server has read them, where the writer's line cannot see them: its oldest job stays
 * young while the people behind it wait seconds. Event-loop lag does not show it either (the loop
 * turns promptly, every turn is just full). Utilization does: near 1 the thread never idles, and
 * each registration it takes directly pushes every unread one further back. The registration
 * queue then parks new arrivals, which costs a fraction of a registration, so everyone gets an
 * answer while the writer works through the line in order.
 */
export class MainThreadLoad {
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  private recent = 0;

  /** windowMs: the shortest stretch a figure covers; sampled when asked, so an idle server keeps no timer. */
  constructor(private readonly windowMs = 250) {}

  /** Share of the last window (or, after a quiet spell, of the whole spell) the main thread was busy, 0–1. */
  utilization(): number {
    const now = performance.eventLoopUtilization();
    const since = performance.eventLoopUtilization(now, this.last);
    if (since.idle + since.active >= this.windowMs) {
      this.recent = since.utilization;
      this.last = now;
    }
    return this.recent;
  }
}

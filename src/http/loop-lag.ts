/**
 * How far behind the event loop is running, in ms. Under a rush, requests wait unread in socket
 * buffers while the loop works through earlier ones; no handler can see that wait, but it is as
 * long as the loop's turn. A timer that should fire every `intervalMs` measures it: when it fires
 * late by d, the loop was d behind; code running before it fires sees how long ago it last ran.
 */
export class LoopLag {
  private lastTick = performance.now();
  private lastDrift = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 10) {}

  start(): void {
    if (this.timer) return;
    this.lastTick = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.lastDrift = Math.max(0, now - this.lastTick - this.intervalMs);
      this.lastTick = now;
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The loop's current delay: the last one measured, or the turn running now if that is longer. */
  ms(): number {
    if (!this.timer) return 0;
    return Math.max(this.lastDrift, performance.now() - this.lastTick - this.intervalMs);
  }
}

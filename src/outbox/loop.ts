/**
 * The delivery loop shared by the mail and SMS outboxes: runs `process` every `intervalMs`, or
 * at once after a kick (something was just queued), never twice at a time, and never keeps the
 * process alive. `stop()` waits for a batch in progress; batches read `stopping` to end early.
 */
export class OutboxLoop {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private kicked = false;
  stopping = false;

  constructor(
    private readonly process: () => Promise<unknown>,
    private readonly intervalMs: number,
    /** A batch failed as a whole (the database, not one message): log it and carry on. */
    private readonly onBatchError: (e: unknown) => void,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    this.stopping = false;
  }

  kick(): void {
    if (!this.running) return;
    if (this.inFlight) this.kicked = true;
    else this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    this.kicked = false;
    this.inFlight = this.process().then(() => undefined, this.onBatchError);
    await this.inFlight;
    this.inFlight = undefined;
    this.schedule(this.kicked ? 0 : this.intervalMs);
  }
}

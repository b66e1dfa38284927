import { randomBytes } from 'node:crypto';
import type { AuditContext } from '../audit/service.ts';
import type { ParsedRegistration } from '../events/fields.ts';
import type { EventRow } from '../events/repo.ts';
import type { Abandoned, RegisterFailure, RegisterResult, RegistrationService } from './service.ts';

/**
 * Fair admission for an opening rush. A registration is decided by the one writer in arrival
 * order; while it keeps up, each request waits for its own answer (the direct path). When the
 * oldest registration still waiting for the writer has waited longer than `queueAfterMs`, more
 * direct requests would only time out, so new arrivals are parked instead: they get the "high
 * demand, you are in the queue" page at once, and the page asks again by itself. Parked people
 * are admitted in arrival order as the writer catches up, only while they still poll: someone
 * who closed the page is dropped and never stored. Once anyone is parked, every later arrival
 * parks behind them, so nobody overtakes (and nobody admitted earlier is answered "full" because
 * of someone who came later).
 *
 * Parked submissions live in memory only: they were never acknowledged, and the queue page says
 * so. The queue is bounded; past `maxParked` the answer is "try again in a minute".
 */
export interface QueueOptions {
  /** park new arrivals once the oldest direct registration has waited this long (ms) */
  queueAfterMs: number;
  /** most people parked at once */
  maxParked: number;
  now: () => number;
}

/** What the route answers with. */
export type Admission =
  | { kind: 'answer'; result: RegisterResult | Abandoned }
  | { kind: 'queued'; ticket: string; place: Place }
  | { kind: 'busy'; result: RegisterFailure };

/** Where a parked person stands: their place in line, a rough wait, when to ask again. */
export interface Place {
  ahead: number;
  etaSeconds: number;
  refreshSeconds: number;
}

export type TicketStatus =
  | { state: 'waiting'; eventId: string; place: Place }
  | { state: 'done'; eventId: string; result: RegisterResult; values: Record<string, unknown> }
  | { state: 'gone' };

interface Parked {
  ticket: string;
  seq: number;
  e: EventRow;
  parsed: ParsedRegistration;
  /** the submitted form, to show it again if the answer is an error */
  values: Record<string, unknown>;
  ctx: AuditContext;
  lastSeenAt: number;
  /** the refresh interval last given: missing three of them in a row means the person left */
  refreshMs: number;
  state: 'waiting' | 'running' | 'done';
  result?: RegisterResult;
  doneAt?: number;
}

/** How long a finished ticket waits for its person to come back for the answer. */
const KEEP_DONE_MS = 15 * 60_000;
const PUMP_MS = 25;

export class RegistrationQueue {
  /** every ticket handed out and not yet collected (waiting, running or done) */
  private readonly tickets = new Map<string, Parked>();
  /** the waiting ones in arrival order; `head` is the next to admit */
  private line: Parked[] = [];
  private head = 0;
  /** start times of the direct and admitted registrations not yet answered, oldest first */
  private readonly inFlight = new Map<number, number>();
  private nextSeq = 1;
  /** admissions per second, smoothed: the estimate behind "about N seconds" */
  private rate = 0;
  private rateWindowStart = 0;
  private rateCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastSweep = 0;
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly registrations: Pick<RegistrationService, 'check' | 'commit'>,
    private readonly opts: QueueOptions,
  ) {}

  private get waiting(): number {
    return this.line.length - this.head;
  }

  async register(e: EventRow, raw: Record<string, unknown>, ctx: AuditContext, signal?: AbortSignal): Promise<Admission> {
    const checked = this.registrations.check(e, raw, ctx);
    if ('fail' in checked) return { kind: 'answer', result: checked.fail };
    const now = this.opts.now();
    if (this.waiting === 0 && this.oldestWaitMs(now) <= this.opts.queueAfterMs) {
      const result = await this.run(e, checked.parsed, ctx, () => !signal?.aborted);
      return { kind: 'answer', result };
    }
    if (this.waiting >= this.opts.maxParked) {
      return { kind: 'busy', result: { ok: false, error: 'throttled', message: 'So many people are registering right now that the queue is full. Nothing was saved; please send the form again in a minute. Your answers are kept below.', retryAfterMs: 60_000 } };
    }
    const ticket = randomBytes(16).toString('base64url');
    const entry: Parked = { ticket, seq: this.nextSeq++, e, parsed: checked.parsed, values: raw, ctx, lastSeenAt: now, refreshMs: 0, state: 'waiting' };
    this.tickets.set(ticket, entry);
    this.line.push(entry);
    const place = this.place(entry);
    entry.refreshMs = place.refreshSeconds * 1000;
    this.startPump();
    return { kind: 'queued', ticket, place };
  }

  /** A parked person asking again (the queue page refreshing): marks them as still there. */
  status(ticket: string): TicketStatus {
    const entry = this.tickets.get(ticket);
    if (!entry) return { state: 'gone' };
    if (entry.state === 'done' && entry.result) {
      this.tickets.delete(ticket);
      return { state: 'done', eventId: entry.e.id, result: entry.result, values: entry.values };
    }
    entry.lastSeenAt = this.opts.now();
    const place = this.place(entry);
    entry.refreshMs = place.refreshSeconds * 1000;
    return { state: 'waiting', eventId: entry.e.id, place };
  }

  /** For /metrics and /readyz: how many are parked, and how long the writer's line is. */
  stats(): { parked: number; inFlight: number; oldestWaitMs: number } {
    return { parked: this.waiting, inFlight: this.inFlight.size, oldestWaitMs: this.oldestWaitMs(this.opts.now()) };
  }

  /** Stops admitting parked people; resolves once every admitted registration is written. */
  close(): Promise<void> {
    this.stopPump();
    return Promise.allSettled([...this.running]).then(() => undefined);
  }

  private stopPump(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private run(e: EventRow, parsed: ParsedRegistration, ctx: AuditContext, stillWanted: () => boolean): Promise<RegisterResult | Abandoned> {
    const id = this.nextSeq++;
    this.inFlight.set(id, this.opts.now());
    const p = this.registrations.commit(e, parsed, ctx, stillWanted).finally(() => {
      this.inFlight.delete(id);
      this.running.delete(p);
      this.countAdmission();
    });
    this.running.add(p);
    return p;
  }

  private oldestWaitMs(now: number): number {
    // A Map iterates in insertion order: the first entry is the oldest still in flight.
    for (const startedAt of this.inFlight.values()) return now - startedAt;
    return 0;
  }

  private place(entry: Parked): Place {
    const next = this.line[this.head];
    const ahead = next ? Math.max(0, entry.seq - next.seq) : 0;
    const rate = Math.max(this.rate, 50);
    const etaSeconds = Math.ceil(ahead / rate);
    // Ask again about when the turn comes, between 2 and 15 seconds: often enough to be admitted
    // promptly, rarely enough that ten thousand waiting people are not a rush of their own.
    const refreshSeconds = Math.min(15, Math.max(2, Math.round(etaSeconds / 2)));
    return { ahead, etaSeconds, refreshSeconds };
  }

  private countAdmission(): void {
    const now = this.opts.now();
    if (now - this.rateWindowStart >= 1000) {
      const perSec = (this.rateCount * 1000) / Math.max(1000, now - this.rateWindowStart);
      this.rate = this.rate === 0 ? perSec : 0.5 * this.rate + 0.5 * perSec;
      this.rateWindowStart = now;
      this.rateCount = 0;
    }
    this.rateCount++;
  }

  private startPump(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.pump(), PUMP_MS);
    this.timer.unref();
  }

  /**
   * Admits parked people in order while the writer keeps up (its oldest job younger than half
   * the threshold, and no more in flight than about half a threshold's worth at the measured
   * rate), and forgets the ones who left.
   */
  pump(): void {
    const now = this.opts.now();
    const budget = Math.max(16, (this.rate * this.opts.queueAfterMs) / 2000);
    while (this.waiting > 0 && this.inFlight.size < budget && this.oldestWaitMs(now) <= this.opts.queueAfterMs / 2) {
      const entry = this.line[this.head++] as Parked;
      if (now - entry.lastSeenAt > 3 * entry.refreshMs + 5000) {
        // Gone: three missed refreshes. Never stored; the place goes to the next person.
        this.tickets.delete(entry.ticket);
        continue;
      }
      entry.state = 'running';
      void this.run(entry.e, entry.parsed, entry.ctx, () => true).then(
        (result) => this.finish(entry, result as RegisterResult),
        (error: unknown) =>
          this.finish(entry, { ok: false, error: 'closed', message: error instanceof Error && error.name === 'WritesRefusedError' ? error.message : 'Your registration could not be saved. Nothing was stored; please try again.' }),
      );
    }
    if (this.head > 1024 && this.head * 2 > this.line.length) {
      this.line = this.line.slice(this.head);
      this.head = 0;
    }
    if (now - this.lastSweep > 5000) {
      this.lastSweep = now;
      for (const [t, p] of this.tickets) if (p.state === 'done' && now - (p.doneAt ?? now) > KEEP_DONE_MS) this.tickets.delete(t);
    }
    if (this.tickets.size === 0) this.stopPump();
  }

  private finish(entry: Parked, result: RegisterResult): void {
    entry.state = 'done';
    entry.doneAt = this.opts.now();
    entry.result = result;
  }
}

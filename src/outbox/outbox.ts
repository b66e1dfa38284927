import type { Faults } from '../db/faults.ts';
import type { DB } from '../db/open.ts';
import type { Durability } from '../db/writer.ts';
import type { Logger } from '../log.ts';
import { OutboxLoop } from './loop.ts';
import { type NewRow, type OutboxRowBase, type OutboxStatus, type OutboxTable, outboxRepo } from './repo.ts';

const PURGE_STEP = 500;

const BASE_RETRY_MS = 30_000;
const MAX_RETRY_MS = 60 * 60_000;

/** Delay before the next try after `failures` failed attempts: 30 s, 1 min, 2 min, … capped at 1 h. */
export function retryDelayMs(failures: number): number {
  return Math.min(MAX_RETRY_MS, BASE_RETRY_MS * 2 ** Math.max(0, failures - 1));
}

/** How one kind of message (mail, SMS) is delivered; the queue around it is the Outbox's. */
export interface Channel<R extends OutboxRowBase> {
  /** 'mail' or 'sms': names the log fields (`mailId`) and messages */
  name: string;
  table: OutboxTable;
  /** Sends one message; resolves to the provider's id for it (null when it gives none). */
  deliver(row: R): Promise<string | null>;
  /** What the row keeps of a failure: codes only, never a provider's free text (it can quote the address). */
  describeError(e: unknown): string;
  /** A failure no retry can fix (a mailbox that does not exist). */
  isPermanent(e: unknown): boolean;
  /** What the technical log may say about a row besides its id: an identifier, never personal data. */
  logFields(row: R): Record<string, string>;
  /** A claim outlives any single send with a wide margin. */
  leaseMs: number;
  maxAttempts: number;
  /** A message still queued this long after it was written is failed instead of sent late. */
  maxAgeMs?: number;
  intervalMs?: number;
  batchSize?: number;
}

export interface OutboxDeps {
  db: DB;
  log: Logger;
  now: () => number;
  durability: Durability;
  faults: Faults;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Outbox-first delivery: callers only insert a row, in their own transaction, so an action that
 * rolls back sends nothing. Delivery, leases, retries with back-off and purging happen here, off
 * the request path, and only for rows whose write is durable (see Writer). With no channel (no
 * SMTP server, no SMS provider) rows are kept with status `dev` for the instance owner to read.
 */
export class Outbox<R extends OutboxRowBase, N extends NewRow<R> = NewRow<R>> {
  private readonly repo;
  private readonly loop: OutboxLoop;
  private readonly idField: string;
  private readonly noun: string;

  constructor(
    private readonly d: OutboxDeps,
    private readonly table: OutboxTable,
    private readonly channel: Channel<R> | undefined,
    /** what the log says when a message is kept for lack of a provider */
    private readonly devReason: string,
    /** Whether the channel is configured right now (settings can change while running); default: always. */
    private readonly enabled: () => boolean = () => true,
  ) {
    this.repo = outboxRepo<R, N>(d.db, table);
    this.noun = table.split('_')[0] as string;
    this.idField = `${this.noun}Id`;
    this.repo.forgetBatches();
    this.loop = new OutboxLoop(() => this.process(), channel?.intervalMs ?? 5_000, (e: unknown) => {
      // Not a message failure (those are handled per row): the database itself failed.
      this.d.log.error({ error: e instanceof Error ? e.message : String(e), outbox: table }, 'outbox batch failed');
    });
  }

  get devMode(): boolean {
    return this.channel === undefined || !this.enabled();
  }

  /** Queues one row (joining the caller's transaction, or its group-commit batch). */
  enqueue(row: Omit<N, 'status' | 'next_attempt_at' | 'created_at' | 'batch'> & { id: string }, log: Record<string, string>): void {
    const at = iso(this.d.now());
    const status: OutboxStatus = this.devMode ? 'dev' : 'queued';
    this.repo.insert({ ...row, status, next_attempt_at: at, created_at: at, batch: this.d.durability.currentBatch } as N);
    if (status === 'dev') this.d.log.info({ [this.idField]: row.id, ...log }, `${this.noun} kept in dev outbox (${this.devReason})`);
    else this.loop.kick();
  }

  /**
   * Delivers every due message whose write is on disk and returns how many were sent. A failing
   * message is rescheduled or marked failed; it never stops the others and never makes this throw.
   * While the instance refuses writes nothing is claimed: a send could not be recorded.
   */
  async process(): Promise<number> {
    const channel = this.channel;
    if (!channel || this.devMode || !this.d.faults.writable) return 0;
    const requeued = this.repo.requeueExpiredClaims(iso(this.d.now()));
    if (requeued > 0) this.d.log.warn({ count: requeued, outbox: this.table }, 'outbox claims expired; messages queued again');
    if (channel.maxAgeMs !== undefined) {
      for (const id of this.repo.expireStale(iso(this.d.now() - channel.maxAgeMs))) this.d.log.error({ [this.idField]: id }, 'message too old to send; giving up');
    }
    const size = channel.batchSize ?? 10;
    let sent = 0;
    for (;;) {
      const now = this.d.now();
      const rows = this.repo.claimDue(iso(now), iso(now + channel.leaseMs), this.d.durability.syncedThrough, size);
      if (rows.length === 0) break;
      const results = await Promise.all(rows.map((row) => this.deliver(channel, row)));
      sent += results.filter(Boolean).length;
      if (rows.length < size || this.loop.stopping) break;
    }
    return sent;
  }

  private async deliver(channel: Channel<R>, row: R): Promise<boolean> {
    let providerId: string | null;
    try {
      providerId = await channel.deliver(row);
    } catch (e) {
      this.recordFailure(channel, row, e);
      return false;
    }
    this.repo.markSent(row.id, iso(this.d.now()), providerId);
    this.d.log.info({ [this.idField]: row.id, ...channel.logFields(row), ...(providerId ? { providerId } : {}) }, `${channel.name} sent`);
    return true;
  }

  private recordFailure(channel: Channel<R>, row: R, e: unknown): void {
    const attempts = row.attempts + 1;
    const error = channel.describeError(e);
    const now = this.d.now();
    const giveUp = attempts >= channel.maxAttempts || channel.isPermanent(e);
    this.repo.markAttemptFailed(row.id, { status: giveUp ? 'failed' : 'queued', attempts, nextAt: iso(giveUp ? now : now + retryDelayMs(attempts)), error });
    const fields = { [this.idField]: row.id, ...channel.logFields(row), attempts, error };
    if (giveUp) this.d.log.error(fields, `${channel.name} delivery failed; giving up`);
    else this.d.log.warn(fields, `${channel.name} delivery failed; will retry`);
  }

  /** Starts the delivery loop; with no channel there is nothing to deliver, so nothing starts. */
  start(): void {
    if (this.channel) this.loop.start();
  }

  /** Stops the loop and waits for a batch in progress. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Messages kept because no provider is configured, newest first. */
  devRows(limit = 50): R[] {
    return this.repo.listByStatus('dev', Math.min(Math.max(1, Math.trunc(limit)), 500));
  }

  get(id: string): R | undefined {
    return this.repo.get(id);
  }

  /**
   * Deletes sent, failed and dev messages older than `maxAgeMs`: finished messages still hold
   * addresses and one-time links, so they must not outlive their use. Queued and in-flight
   * messages are never touched.
   */
  async purgeFinished(maxAgeMs: number): Promise<number> {
    const before = iso(this.d.now() - maxAgeMs);
    let total = 0;
    // In steps, yielding between them: after a rush there are tens of thousands, and one DELETE
    // of them all would hold every request for its duration.
    for (;;) {
      const n = this.repo.purgeFinished(before, PURGE_STEP);
      total += n;
      if (n < PURGE_STEP) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

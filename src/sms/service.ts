import { randomInt, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { OutboxLoop } from '../mail/outbox-loop.ts';
import { constantTimeEqual, hashToken } from '../auth/token.ts';
import { type DB, transaction } from '../db/open.ts';
import type { Logger } from '../log.ts';
import { retryDelayMs } from '../mail/service.ts';
import { e164Schema } from './phone.ts';
import { type SmsOutboxRow, smsCodesRepo, smsOutboxRepo } from './repo.ts';
import { SmsError, type SmsSender } from './sender.ts';

export { SmsError };

export interface SmsOutboxOptions {
  db: DB;
  log: Logger;
  /** The provider; without one every message stays in the dev outbox. */
  sender?: SmsSender | undefined;
  now: () => number;
  /** How often the loop looks for due messages when nothing kicks it. */
  intervalMs?: number;
  /** After this many failed attempts a message is marked failed. */
  maxAttempts?: number;
  /** A message still queued this long after it was written is failed instead of sent. */
  maxAgeMs?: number;
}

export interface OutgoingSms {
  userId?: string | null;
  purpose: string;
  /** E.164, e.g. from normalizePhone(). */
  to: string;
  body: string;
}

// The purpose is the one thing the technical log says about a message besides its id, so it must
// be an identifier, never free text that could carry a number or a code.
const purposeSchema = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'must be an identifier such as login_code');

const smsSchema = z.object({
  userId: z.string().min(1).max(64).nullish(),
  purpose: purposeSchema,
  to: e164Schema,
  // Twilio's limit; a code message is far shorter.
  body: z.string().min(1).max(1600),
});

/**
 * Codes live 5 minutes, so an SMS is useless well before mail's 8 attempts (~2 h) are spent:
 * four attempts span 3.5 minutes (0, 30 s, 1 min 30, 3 min 30 with the shared back-off), and a
 * message that waited longer than MAX_AGE (say the server was down) is dropped, not sent late
 * to someone who has long since asked for a new code.
 */
const DEFAULT_MAX_ATTEMPTS = 4;
const DEFAULT_MAX_AGE_MS = 10 * 60_000;
/** A claim outlives any single send (15 s fetch timeout) with a wide margin. */
const CLAIM_LEASE_MS = 2 * 60_000;
const BATCH_SIZE = 10;
const DEFAULT_INTERVAL_MS = 5_000;

const iso = (ms: number): string => new Date(ms).toISOString();

function invalid(what: string, error: z.ZodError): SmsError {
  const issue = error.issues[0];
  // zod's messages name the rule, never the rejected value, so this cannot echo a number.
  return new SmsError(`invalid ${what}: ${issue ? `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}` : 'invalid'}`);
}

/**
 * Outbox-first SMS, the same design as the Mailer: callers only insert a row (in their own
 * transaction); delivery, retries and back-off happen here, off the request path. The technical
 * log names a message by outbox id and purpose, never by number, body or code.
 */
export class SmsOutbox {
  private readonly log: Logger;
  private readonly repo;
  private readonly sender: SmsSender | undefined;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly maxAttempts: number;
  private readonly maxAgeMs: number;
  private readonly loop: OutboxLoop;

  constructor(opts: SmsOutboxOptions) {
    this.log = opts.log;
    this.repo = smsOutboxRepo(opts.db);
    this.sender = opts.sender;
    this.now = opts.now;
    this.intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.loop = new OutboxLoop(() => this.processOutbox(), this.intervalMs, (e: unknown) => {
      // Not a message failure (those are handled per row): the database itself failed.
      this.log.error({ error: e instanceof Error ? e.message : String(e) }, 'sms outbox batch failed');
    });
    this.maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    this.maxAgeMs = opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  }

  /** True when no provider is configured: messages are kept for the instance owner to read. */
  get devMode(): boolean {
    return this.sender === undefined;
  }

  /**
   * Queues one SMS and returns its outbox id. Inside an open transaction the row joins it, so an
   * action that rolls back sends nothing; delivery starts on a later tick, after the commit.
   */
  enqueue(msg: OutgoingSms): string {
    const parsed = smsSchema.safeParse(msg);
    if (!parsed.success) throw invalid('sms', parsed.error);
    const m = parsed.data;
    const id = randomUUID();
    const at = iso(this.now());
    const status = this.devMode ? 'dev' : 'queued';
    this.repo.insert({ id, user_id: m.userId ?? null, purpose: m.purpose, to_number: m.to, body: m.body, status, next_attempt_at: at, created_at: at });
    if (status === 'dev') {
      this.log.info({ smsId: id, purpose: m.purpose }, 'sms kept in dev outbox (no SMS provider configured)');
    } else {
      this.loop.kick();
    }
    return id;
  }

  /**
   * Delivers every due queued message and returns how many were sent. A failing message is
   * rescheduled or marked failed; it never stops the others and never makes this throw.
   */
  async processOutbox(): Promise<number> {
    const sender = this.sender;
    if (sender === undefined) return 0;
    const requeued = this.repo.requeueExpiredClaims(iso(this.now()));
    if (requeued > 0) this.log.warn({ count: requeued }, 'sms claims expired; messages queued again');
    for (const stale of this.repo.expireStale(iso(this.now() - this.maxAgeMs))) {
      this.log.error({ smsId: stale.id, purpose: stale.purpose }, 'sms too old to send; giving up');
    }
    let sent = 0;
    for (;;) {
      const now = this.now();
      const rows = this.repo.claimDue(iso(now), iso(now + CLAIM_LEASE_MS), BATCH_SIZE);
      if (rows.length === 0) break;
      const results = await Promise.all(rows.map((row) => this.deliver(sender, row)));
      sent += results.filter(Boolean).length;
      if (rows.length < BATCH_SIZE || this.loop.stopping) break;
    }
    return sent;
  }

  private async deliver(sender: SmsSender, row: SmsOutboxRow): Promise<boolean> {
    let providerId: string;
    try {
      ({ providerId } = await sender.send(row.to_number, row.body));
    } catch (e) {
      this.recordFailure(row, e);
      return false;
    }
    this.repo.markSent(row.id, iso(this.now()), providerId);
    this.log.info({ smsId: row.id, purpose: row.purpose, providerId }, 'sms sent');
    return true;
  }

  private recordFailure(row: SmsOutboxRow, e: unknown): void {
    const attempts = row.attempts + 1;
    // Only our own SmsError messages are known to be free of numbers and bodies.
    const error = e instanceof SmsError ? e.message : 'sender error';
    const now = this.now();
    const giveUp = attempts >= this.maxAttempts || (e instanceof SmsError && e.permanent);
    this.repo.markAttemptFailed(row.id, { status: giveUp ? 'failed' : 'queued', attempts, nextAt: iso(giveUp ? now : now + retryDelayMs(attempts)), error });
    const fields = { smsId: row.id, purpose: row.purpose, attempts, error };
    if (giveUp) this.log.error(fields, 'sms delivery failed; giving up');
    else this.log.warn(fields, 'sms delivery failed; will retry');
  }

  /** Starts the delivery loop. In dev mode there is nothing to deliver, so nothing starts. */
  start(): void {
    if (!this.devMode) this.loop.start();
  }

  /** Stops the loop and waits for a batch in progress. */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Messages kept because no provider is configured, newest first, for the owner's admin page. */
  devOutbox(limit = 50): SmsOutboxRow[] {
    return this.repo.listByStatus('dev', Math.min(Math.max(1, Math.trunc(limit)), 500));
  }

  get(id: string): SmsOutboxRow | undefined {
    return this.repo.get(id);
  }

  /**
   * Deletes sent, failed and dev messages older than `maxAgeMs` (they still hold phone numbers,
   * and dev and failed ones their codes); the retention job calls this. Queued and in-flight
   * messages are never touched.
   */
  purgeFinished(maxAgeMs: number): number {
    return this.repo.purgeFinished(iso(this.now() - maxAgeMs));
  }
}

export type SmsCodeResult = 'ok' | 'invalid' | 'expired' | 'too-many';

export interface SmsCodesOptions {
  db: DB;
  now: () => number;
}

export const SMS_CODE_TTL_MS = 5 * 60_000;
export const SMS_CODE_MAX_ATTEMPTS = 5;

/**
 * A plain SHA-256 of a 6-digit code would fall to brute force in a millisecond, so the hash is not
 * what protects it. It is acceptable because a code is short-lived (5 minutes), single-use and
 * dies after 5 wrong guesses, and because it sits in an encrypted database whose outbox holds the
 * very same code in the SMS body until sent anyway; a slow hash would add nothing. Hashing still
 * keeps live codes out of plain sight in dumps, and binding user id and purpose makes a code
 * issued for one person or purpose useless for any other.
 */
function hashCode(userId: string, purpose: string, code: string): Buffer {
  return hashToken(`${userId}:${purpose}:${code}`);
}

/**
 * One-time codes sent by SMS. Issuing joins the caller's transaction (issue, then enqueue the SMS
 * holding the code, in one transaction). The per-code attempt limit stops guessing a code; how
 * often codes may be issued (each new one brings 5 new guesses) is the caller's throttle.
 */
export class SmsCodes {
  private readonly db: DB;
  private readonly repo;
  private readonly now: () => number;

  constructor(opts: SmsCodesOptions) {
    this.db = opts.db;
    this.repo = smsCodesRepo(opts.db);
    this.now = opts.now;
  }

  /** A fresh 6-digit code for this person and purpose; earlier unused ones stop working. */
  issue(userId: string, purpose: string, ttlMs: number = SMS_CODE_TTL_MS): string {
    const p = purposeSchema.safeParse(purpose);
    if (!p.success) throw invalid('sms code purpose', p.error);
    if (!Number.isInteger(ttlMs) || ttlMs < 10_000 || ttlMs > 60 * 60_000) throw new RangeError(`sms code lifetime must be 10 s..1 h, got ${ttlMs} ms`);
    // randomInt draws from the CSPRNG without modulo bias; leading zeros are kept.
    const code = String(randomInt(1_000_000)).padStart(6, '0');
    const t = this.now();
    transaction(this.db, () => {
      this.repo.retireUnused(userId, purpose);
      this.repo.insert({ id: randomUUID(), user_id: userId, purpose, code_hash: hashCode(userId, purpose, code), created_at: t, expires_at: t + ttlMs });
    });
    return code;
  }

  /**
   * Checks a typed code against the person's current code for this purpose. 'ok' consumes it.
   * Every wrong guess counts; the fifth returns 'too-many' and from then on the code is dead,
   * even the right one. 'expired' and 'too-many' mean: ask for a new code.
   */
  verify(userId: string, purpose: string, code: string): SmsCodeResult {
    // People type "123 456" or "123-456", sometimes with full-width digits.
    const typed = code.normalize('NFKC').replace(/[\s-]/g, '');
    return transaction(this.db, (): SmsCodeResult => {
      const row = this.repo.current(userId, purpose);
      if (!row) return 'invalid';
      const now = this.now();
      if (row.expires_at <= now) return 'expired';
      if (row.attempts >= SMS_CODE_MAX_ATTEMPTS) return 'too-many';
      if (constantTimeEqual(hashCode(userId, purpose, typed), row.code_hash) && this.repo.markUsed(row.id, now)) return 'ok';
      return this.repo.countAttempt(row.id) >= SMS_CODE_MAX_ATTEMPTS ? 'too-many' : 'invalid';
    });
  }

  /** Deletes expired codes; the retention job calls this. */
  purgeExpired(): number {
    return this.repo.purgeExpired(this.now());
  }
}

import { randomInt, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { constantTimeEqual, hashToken } from '../auth/token.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import { type Channel, Outbox, type OutboxDeps } from '../outbox/outbox.ts';
import type { SmsRow } from '../outbox/repo.ts';
import { e164Schema } from './phone.ts';
import { smsCodesRepo } from './repo.ts';
import { SmsError, type SmsSender } from './sender.ts';

export { SmsError };

export interface SmsOutboxOptions extends OutboxDeps {
  /** The provider; without one every message stays in the dev outbox. */
  sender?: SmsSender | undefined;
  /** The provider as configured now (instance settings); replaces `sender` when given. */
  senderOf?: () => SmsSender | undefined;
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
  private readonly outbox: Outbox<SmsRow>;

  private readonly senderNow: () => SmsSender | undefined;

  constructor(opts: SmsOutboxOptions) {
    const fixed = opts.sender;
    const senderNow = (this.senderNow = opts.senderOf ?? (() => fixed));
    const channel: Channel<SmsRow> | undefined =
      fixed === undefined && opts.senderOf === undefined
        ? undefined
        : {
            name: 'sms',
            table: 'sms_outbox',
            leaseMs: CLAIM_LEASE_MS,
            maxAttempts: opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
            maxAgeMs: opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
            ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
            // Only our own SmsError messages are known to be free of numbers and bodies.
            describeError: (e) => (e instanceof SmsError ? e.message : 'sender error'),
            isPermanent: (e) => e instanceof SmsError && e.permanent,
            logFields: (row) => ({ purpose: row.purpose }),
            deliver: async (row) => {
              const sender = senderNow();
              if (!sender) throw new SmsError('no SMS provider configured');
              return (await sender.send(row.to_number, row.body)).providerId;
            },
          };
    this.outbox = new Outbox(opts, 'sms_outbox', channel, 'no SMS provider configured', () => senderNow() !== undefined);
  }

  /** "Send test SMS" on the settings page: one message now, bypassing the outbox; the error in words when it fails. */
  async sendTest(to: string, body: string): Promise<{ ok: true } | { ok: false; error: string }> {
    const sender = this.senderNow();
    if (!sender) return { ok: false, error: 'no SMS provider is configured' };
    try {
      await sender.send(to, body);
      return { ok: true };
    } catch (e) {
      return { ok: false, error: e instanceof SmsError ? e.message : 'sender error' };
    }
  }

  /** True when no provider is configured: messages are kept for the instance owner to read. */
  get devMode(): boolean {
    return this.outbox.devMode;
  }

  /**
   * Queues one SMS and returns its outbox id. Inside an open transaction the row joins it, so an
   * action that rolls back sends nothing.
   */
  enqueue(msg: OutgoingSms): string {
    const parsed = smsSchema.safeParse(msg);
    if (!parsed.success) throw invalid('sms', parsed.error);
    const m = parsed.data;
    const id = randomUUID();
    this.outbox.enqueue({ id, user_id: m.userId ?? null, purpose: m.purpose, to_number: m.to, body: m.body }, { purpose: m.purpose });
    return id;
  }

  /** Delivers every due, durable message; returns how many were sent. */
  processOutbox(): Promise<number> {
    return this.outbox.process();
  }

  /** Starts the delivery loop. In dev mode there is nothing to deliver, so nothing starts. */
  start(): void {
    this.outbox.start();
  }

  /** Stops the loop and waits for a batch in progress. */
  stop(): Promise<void> {
    return this.outbox.stop();
  }

  /** Messages kept because no provider is configured, newest first, for the owner's admin page. */
  devOutbox(limit = 50): SmsRow[] {
    return this.outbox.devRows(limit);
  }

  get(id: string): SmsRow | undefined {
    return this.outbox.get(id);
  }

  /**
   * Deletes sent, failed and dev messages older than `maxAgeMs` (they still hold phone numbers,
   * and dev and failed ones their codes). Queued and in-flight messages are never touched.
   */
  purgeFinished(maxAgeMs: number): Promise<number> {
    return this.outbox.purgeFinished(maxAgeMs);
  }
}

export type SmsCodeResult = 'ok' | 'invalid' | 'expired' | 'too-many';

export interface SmsCodesOptions {
  db: DB;
  writer: Writer;
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
  private readonly writer: Writer;
  private readonly repo;
  private readonly now: () => number;

  constructor(opts: SmsCodesOptions) {
    this.writer = opts.writer;
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
    this.writer.tx(() => {
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
    return this.writer.tx((): SmsCodeResult => {
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

import type { DB } from '../db/open.ts';

export type SmsStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'dev';

export interface SmsOutboxRow {
  id: string;
  user_id: string | null;
  purpose: string;
  to_number: string;
  body: string;
  status: SmsStatus;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  provider_id: string | null;
  created_at: string;
  sent_at: string | null;
}

export type NewSmsOutboxRow = Pick<SmsOutboxRow, 'id' | 'user_id' | 'purpose' | 'to_number' | 'body' | 'status' | 'next_attempt_at' | 'created_at'>;

export function smsOutboxRepo(db: DB) {
  const insert = db.prepare(`INSERT INTO sms_outbox
    (id, user_id, purpose, to_number, body, status, attempts, next_attempt_at, created_at)
    VALUES (@id, @user_id, @purpose, @to_number, @body, @status, 0, @next_attempt_at, @created_at)`);
  // Pick and claim in one statement, so overlapping loops never take the same row. While claimed,
  // next_attempt_at is the lease end; a process that dies mid-send leaves the row to be queued
  // again once the lease runs out (at-least-once: the provider has no idempotency key).
  const claim = db.prepare(`UPDATE sms_outbox SET status = 'sending', next_attempt_at = @leaseUntil
    WHERE id IN (SELECT id FROM sms_outbox WHERE status = 'queued' AND next_attempt_at <= @now
                 ORDER BY next_attempt_at, created_at LIMIT @limit)
    RETURNING *`);
  const requeueExpired = db.prepare(`UPDATE sms_outbox SET status = 'queued' WHERE status = 'sending' AND next_attempt_at <= ?`);
  const expireStale = db.prepare(`UPDATE sms_outbox SET status = 'failed', last_error = 'too old to send'
    WHERE status = 'queued' AND created_at < ? RETURNING id, purpose`);
  // The body of a sent message is a spent code: it has no further use, so it is not kept.
  const markSent = db.prepare(`UPDATE sms_outbox SET status = 'sent', attempts = attempts + 1, sent_at = @at, provider_id = @providerId,
      last_error = NULL, body = ''
    WHERE id = @id AND status = 'sending'`);
  const markAttemptFailed = db.prepare(`UPDATE sms_outbox SET status = @status, attempts = @attempts, next_attempt_at = @nextAt, last_error = @error
    WHERE id = @id AND status = 'sending'`);
  const purge = db.prepare(`DELETE FROM sms_outbox WHERE status IN ('sent', 'failed', 'dev') AND created_at < ?`);
  const byId = db.prepare('SELECT * FROM sms_outbox WHERE id = ?');
  const byStatus = db.prepare('SELECT * FROM sms_outbox WHERE status = ? ORDER BY created_at DESC, id LIMIT ?');
  return {
    insert(row: NewSmsOutboxRow): void {
      insert.run(row);
    },
    claimDue(now: string, leaseUntil: string, limit: number): SmsOutboxRow[] {
      return claim.all({ now, leaseUntil, limit }) as SmsOutboxRow[];
    },
    /** Returns how many abandoned claims went back to the queue. */
    requeueExpiredClaims(now: string): number {
      return requeueExpired.run(now).changes;
    },
    /** Fails queued messages created before `createdBefore`; returns them. */
    expireStale(createdBefore: string): { id: string; purpose: string }[] {
      return expireStale.all(createdBefore) as { id: string; purpose: string }[];
    },
    markSent(id: string, at: string, providerId: string): boolean {
      return markSent.run({ id, at, providerId }).changes === 1;
    },
    markAttemptFailed(id: string, f: { status: 'queued' | 'failed'; attempts: number; nextAt: string; error: string }): boolean {
      return markAttemptFailed.run({ id, ...f }).changes === 1;
    },
    /** Deletes finished messages created before `before`; returns how many. */
    purgeFinished(before: string): number {
      return purge.run(before).changes;
    },
    get(id: string): SmsOutboxRow | undefined {
      return byId.get(id) as SmsOutboxRow | undefined;
    },
    listByStatus(status: SmsStatus, limit: number): SmsOutboxRow[] {
      return byStatus.all(status, limit) as SmsOutboxRow[];
    },
  };
}
export type SmsOutboxRepo = ReturnType<typeof smsOutboxRepo>;

export interface SmsCodeRow {
  id: string;
  user_id: string;
  purpose: string;
  code_hash: Buffer;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  attempts: number;
}

export function smsCodesRepo(db: DB) {
  const insert = db.prepare(`INSERT INTO sms_codes (id, user_id, purpose, code_hash, created_at, expires_at, used_at, attempts)
    VALUES (@id, @user_id, @purpose, @code_hash, @created_at, @expires_at, NULL, 0)`);
  // Retiring deletes: a replaced code has no further use, and one live row per person and purpose
  // keeps verification to a single comparison.
  const retire = db.prepare('DELETE FROM sms_codes WHERE user_id = ? AND purpose = ? AND used_at IS NULL');
  const current = db.prepare(`SELECT * FROM sms_codes WHERE user_id = ? AND purpose = ? AND used_at IS NULL
    ORDER BY created_at DESC, rowid DESC LIMIT 1`);
  const countAttempt = db.prepare('UPDATE sms_codes SET attempts = attempts + 1 WHERE id = ? RETURNING attempts');
  const markUsed = db.prepare('UPDATE sms_codes SET used_at = ? WHERE id = ? AND used_at IS NULL');
  const purge = db.prepare('DELETE FROM sms_codes WHERE expires_at < ?');
  return {
    insert(row: Omit<SmsCodeRow, 'used_at' | 'attempts'>): void {
      insert.run(row);
    },
    /** Deletes the unused codes of this person and purpose; returns how many. */
    retireUnused(userId: string, purpose: string): number {
      return retire.run(userId, purpose).changes;
    },
    current(userId: string, purpose: string): SmsCodeRow | undefined {
      return current.get(userId, purpose) as SmsCodeRow | undefined;
    },
    /** Counts one wrong guess; returns the new total. */
    countAttempt(id: string): number {
      return (countAttempt.get(id) as { attempts: number }).attempts;
    },
    markUsed(id: string, at: number): boolean {
      return markUsed.run(at, id).changes === 1;
    },
    /** Deletes codes (used or not) that expired before `before`; returns how many. */
    purgeExpired(before: number): number {
      return purge.run(before).changes;
    },
  };
}
export type SmsCodesRepo = ReturnType<typeof smsCodesRepo>;

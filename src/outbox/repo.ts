import type { DB } from '../db/open.ts';

export type OutboxStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'dev';
export type OutboxTable = 'mail_outbox' | 'sms_outbox';

/** The columns every outbox table has. */
export interface OutboxRowBase {
  id: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
  batch: number;
}

/** A mail row as stored: rendered (subject, text_body) or, for template mail, the template's parameters. */
export interface StoredMailRow extends OutboxRowBase {
  org_id: string | null;
  template: string;
  to_address: string;
  subject: string | null;
  text_body: string | null;
  html_body: string | null;
  params: string | null;
  /** JSON array of MailAttachment (see mail/service.ts); '[]' when none. */
  attachments: string;
}

export interface SmsRow extends OutboxRowBase {
  user_id: string | null;
  purpose: string;
  to_number: string;
  body: string;
  provider_id: string | null;
}

export type NewRow<R extends OutboxRowBase> = Omit<R, 'attempts' | 'last_error' | 'sent_at' | 'provider_id'>;
export type NewMailRow = NewRow<StoredMailRow>;
export type NewSmsRow = NewRow<SmsRow>;

const INSERT: Record<OutboxTable, string> = {
  mail_outbox: `INSERT INTO mail_outbox
    (id, org_id, template, to_address, subject, text_body, html_body, params, attachments, status, attempts, next_attempt_at, created_at, batch)
    VALUES (@id, @org_id, @template, @to_address, @subject, @text_body, @html_body, @params, @attachments, @status, 0, @next_attempt_at, @created_at, @batch)`,
  sms_outbox: `INSERT INTO sms_outbox
    (id, user_id, purpose, to_number, body, status, attempts, next_attempt_at, created_at, batch)
    VALUES (@id, @user_id, @purpose, @to_number, @body, @status, 0, @next_attempt_at, @created_at, @batch)`,
};

/** What a sent message keeps: an SMS body is a spent code with no further use, so it goes. */
const SENT_EXTRA: Record<OutboxTable, string> = {
  mail_outbox: '',
  sms_outbox: `, provider_id = @providerId, body = ''`,
};

/**
 * The queue statements both outbox tables share. The table name is one of two constants, never
 * input. Every query is instance-wide: the outbox is the instance's, and rows carry their org.
 */
export function outboxRepo<R extends OutboxRowBase, N extends NewRow<R>>(db: DB, table: OutboxTable) {
  const insert = db.prepare(INSERT[table]);
  // One statement both picks and claims, so two overlapping loops can never take the same row.
  // While claimed, next_attempt_at is the lease end: a process that dies mid-send leaves the row
  // to be queued again once the lease has run out (at-least-once, like any mail system). Only
  // rows whose batch is on disk are taken.
  const claim = db.prepare(`UPDATE ${table} SET status = 'sending', next_attempt_at = @leaseUntil
    WHERE id IN (SELECT id FROM ${table} WHERE status = 'queued' AND next_attempt_at <= @now AND batch <= @synced
                 ORDER BY next_attempt_at, created_at LIMIT @limit)
    RETURNING *`);
  const requeueExpired = db.prepare(`UPDATE ${table} SET status = 'queued' WHERE status = 'sending' AND next_attempt_at <= ?`);
  const expireStale = db.prepare(`UPDATE ${table} SET status = 'failed', last_error = 'too old to send'
    WHERE status = 'queued' AND created_at < ? RETURNING id`);
  const markSent = db.prepare(`UPDATE ${table} SET status = 'sent', attempts = attempts + 1, sent_at = @at, last_error = NULL${SENT_EXTRA[table]}
    WHERE id = @id AND status = 'sending'`);
  const markAttemptFailed = db.prepare(`UPDATE ${table} SET status = @status, attempts = @attempts, next_attempt_at = @nextAt, last_error = @error
    WHERE id = @id AND status = 'sending'`);
  const purge = db.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE status IN ('sent', 'failed', 'dev') AND created_at < ? LIMIT ?)`);
  const forgetBatches = db.prepare(`UPDATE ${table} SET batch = 0 WHERE batch <> 0`);
  const byId = db.prepare(`SELECT * FROM ${table} WHERE id = ?`);
  const byStatus = db.prepare(`SELECT * FROM ${table} WHERE status = ? ORDER BY created_at DESC, id LIMIT ?`);
  return {
    insert(row: N): void {
      insert.run(row);
    },
    claimDue(now: string, leaseUntil: string, synced: number, limit: number): R[] {
      return claim.all({ now, leaseUntil, synced, limit }) as R[];
    },
    /** Returns how many abandoned claims went back to the queue. */
    requeueExpiredClaims(now: string): number {
      return requeueExpired.run(now).changes;
    },
    /** Fails queued messages created before `createdBefore`; returns their ids. */
    expireStale(createdBefore: string): string[] {
      return (expireStale.all(createdBefore) as { id: string }[]).map((r) => r.id);
    },
    markSent(id: string, at: string, providerId: string | null): boolean {
      return markSent.run(table === 'sms_outbox' ? { id, at, providerId } : { id, at }).changes === 1;
    },
    markAttemptFailed(id: string, f: { status: 'queued' | 'failed'; attempts: number; nextAt: string; error: string }): boolean {
      return markAttemptFailed.run({ id, ...f }).changes === 1;
    },
    /** Deletes up to `limit` finished messages created before `before`; returns how many. */
    purgeFinished(before: string, limit: number): number {
      return purge.run(before, limit).changes;
    },
    /** Batch numbers belong to the process that wrote them; at start every stored row is on disk. */
    forgetBatches(): void {
      forgetBatches.run();
    },
    get(id: string): R | undefined {
      return byId.get(id) as R | undefined;
    },
    listByStatus(status: OutboxStatus, limit: number): R[] {
      return byStatus.all(status, limit) as R[];
    },
  };
}

export type OutboxRepo<R extends OutboxRowBase, N extends NewRow<R>> = ReturnType<typeof outboxRepo<R, N>>;

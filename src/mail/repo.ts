import type { DB } from '../db/open.ts';

export type MailStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'dev';

/** A message as sent and shown: rendered, whatever way it is stored. */
export interface OutboxRow {
  id: string;
  org_id: string | null;
  template: string;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string | null;
  /** JSON array of MailAttachment (see service.ts); '[]' when none. */
  attachments: string;
  status: MailStatus;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

/** As stored: rendered (subject, text_body) or, for template mail, the template's parameters. */
export type StoredOutboxRow = Omit<OutboxRow, 'subject' | 'text_body'> & { subject: string | null; text_body: string | null; params: string | null };

export type NewOutboxRow = Pick<StoredOutboxRow, 'id' | 'org_id' | 'template' | 'to_address' | 'subject' | 'text_body' | 'html_body' | 'params' | 'status' | 'next_attempt_at' | 'created_at'> & {
  attachments?: string;
};

export function mailRepo(db: DB) {
  const insert = db.prepare(`INSERT INTO mail_outbox
    (id, org_id, template, to_address, subject, text_body, html_body, params, attachments, status, attempts, next_attempt_at, created_at)
    VALUES (@id, @org_id, @template, @to_address, @subject, @text_body, @html_body, @params, @attachments, @status, 0, @next_attempt_at, @created_at)`);
  // One statement both picks and claims, so two overlapping loops can never take the same row.
  // While claimed, next_attempt_at is the lease end: a process that dies mid-send leaves the row
  // to be re-queued once the lease has run out (at-least-once, like any mail system).
  const claim = db.prepare(`UPDATE mail_outbox SET status = 'sending', next_attempt_at = @leaseUntil
    WHERE id IN (SELECT id FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= @now
                 ORDER BY next_attempt_at, created_at LIMIT @limit)
    RETURNING *`);
  const requeueExpired = db.prepare(`UPDATE mail_outbox SET status = 'queued' WHERE status = 'sending' AND next_attempt_at <= ?`);
  const markSent = db.prepare(`UPDATE mail_outbox SET status = 'sent', attempts = attempts + 1, sent_at = @at, last_error = NULL
    WHERE id = @id AND status = 'sending'`);
  const markAttemptFailed = db.prepare(`UPDATE mail_outbox SET status = @status, attempts = @attempts, next_attempt_at = @nextAt, last_error = @error
    WHERE id = @id AND status = 'sending'`);
  const purge = db.prepare(`DELETE FROM mail_outbox WHERE status IN ('sent', 'failed', 'dev') AND created_at < ?`);
  const byId = db.prepare('SELECT * FROM mail_outbox WHERE id = ?');
  const byStatus = db.prepare('SELECT * FROM mail_outbox WHERE status = ? ORDER BY created_at DESC, id LIMIT ?');
  return {
    insert(row: NewOutboxRow): void {
      insert.run({ attachments: '[]', ...row });
    },
    claimDue(now: string, leaseUntil: string, limit: number): StoredOutboxRow[] {
      return claim.all({ now, leaseUntil, limit }) as StoredOutboxRow[];
    },
    /** Returns how many abandoned claims went back to the queue. */
    requeueExpiredClaims(now: string): number {
      return requeueExpired.run(now).changes;
    },
    markSent(id: string, at: string): boolean {
      return markSent.run({ id, at }).changes === 1;
    },
    markAttemptFailed(id: string, f: { status: 'queued' | 'failed'; attempts: number; nextAt: string; error: string }): boolean {
      return markAttemptFailed.run({ id, ...f }).changes === 1;
    },
    /** Deletes finished messages created before `before`; returns how many. */
    purgeFinished(before: string): number {
      return purge.run(before).changes;
    },
    get(id: string): StoredOutboxRow | undefined {
      return byId.get(id) as StoredOutboxRow | undefined;
    },
    listByStatus(status: MailStatus, limit: number): StoredOutboxRow[] {
      return byStatus.all(status, limit) as StoredOutboxRow[];
    },
  };
}
export type MailRepo = ReturnType<typeof mailRepo>;

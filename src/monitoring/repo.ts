import type { DB } from '../db/open.ts';

export interface OutboxDepth {
  status: 'queued' | 'sending' | 'failed';
  n: number;
  oldest: string | null;
}

/**
 * Read-only figures for /metrics. Instance-wide on purpose: the outboxes are the instance's and
 * the counters are totals; nothing here is personal data or scoped to a tenant.
 */
export function monitoringRepo(db: DB) {
  // The table name is one of two constants, never input; (status, next_attempt_at) is indexed.
  const depth = (table: 'mail_outbox' | 'sms_outbox') =>
    db.prepare(`SELECT status, count(*) AS n, min(created_at) AS oldest FROM ${table} WHERE status IN ('queued', 'sending', 'failed') GROUP BY status`);
  const mail = depth('mail_outbox');
  const sms = depth('sms_outbox');
  const head = db.prepare('SELECT max(seq) FROM audit_log').pluck();
  const after = db.prepare('SELECT seq, action, result FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?');
  return {
    outbox: (channel: 'mail' | 'sms') => (channel === 'mail' ? mail : sms).all() as OutboxDepth[],
    auditHead: () => (head.get() as number | null) ?? 0,
    auditAfter: (seq: number, limit: number) => after.all(seq, limit) as { seq: number; action: string; result: string }[],
  };
}

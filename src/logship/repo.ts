import type { DB } from '../db/open.ts';
import type { AuditRow } from '../audit/repo.ts';

/**
 * Reads the audit log in chain order for shipping. Instance-wide on purpose: shipping copies the
 * whole log off the host for the operator, never to a tenant; it only reads.
 */
export function logshipRepo(db: DB) {
  const after = db.prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?');
  const head = db.prepare('SELECT max(seq) FROM audit_log').pluck();
  const tail = db.prepare('SELECT min(seq) FROM audit_log').pluck();
  return {
    auditAfter: (seq: number, limit: number) => after.all(seq, limit) as AuditRow[],
    auditHead: () => (head.get() as number | null) ?? 0,
    /** the oldest row still kept (retention removes from the start); 0 when there is none */
    auditTail: () => (tail.get() as number | null) ?? 0,
  };
}

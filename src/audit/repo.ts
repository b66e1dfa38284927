import type { DB } from '../db/open.ts';
import type { CheckpointRow } from './checkpoint.ts';

export interface AuditRow {
  seq: number;
  at: string;
  org_id: string | null;
  actor_type: 'user' | 'attendee' | 'api_token' | 'system';
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  result: 'success' | 'failure' | 'denied';
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: string;
  key_id: string;
  prev_mac: Buffer;
  mac: Buffer;
  /** generated from details.subject: the person's pseudonym (pseudonym.ts), when the row is about one */
  subject?: string | null;
}

export type NewAuditRow = Omit<AuditRow, 'seq' | 'subject'>;

export function auditRepo(db: DB) {
  const last = db.prepare('SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1');
  const insert = db.prepare(`INSERT INTO audit_log
    (at, org_id, actor_type, actor_id, action, target_type, target_id, result, ip, user_agent, request_id, details, key_id, prev_mac, mac)
    VALUES (@at, @org_id, @actor_type, @actor_id, @action, @target_type, @target_id, @result, @ip, @user_agent, @request_id, @details, @key_id, @prev_mac, @mac)`);
  const page = db.prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?');
  const at = db.prepare('SELECT mac FROM audit_log WHERE seq = ?').pluck();
  const atOrBelow = db.prepare('SELECT max(seq) FROM audit_log WHERE seq <= ?').pluck();
  // In (org_id, at) index order: rows are appended in time order, and "ORDER BY seq" alone made
  // SQLite sort every row of the organization (4 s on a million-row log).
  const forOrg = db.prepare('SELECT * FROM audit_log WHERE org_id = ? ORDER BY at DESC, seq DESC LIMIT ?');
  const checkpoint = db.prepare('SELECT seq, mac, last_at, pruned_at, pruned_total, key_id, sig FROM audit_checkpoint WHERE id = 1');
  const putCheckpoint = db.prepare(`INSERT INTO audit_checkpoint (id, seq, mac, last_at, pruned_at, pruned_total, key_id, sig) VALUES (1, @seq, @mac, @last_at, @pruned_at, @pruned_total, @key_id, @sig)
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac, last_at = excluded.last_at, pruned_at = excluded.pruned_at, pruned_total = excluded.pruned_total, key_id = excluded.key_id, sig = excluded.sig`);
  const lastBefore = db.prepare('SELECT seq FROM audit_log WHERE at < ? ORDER BY at DESC, seq DESC LIMIT 1').pluck();
  const first = db.prepare('SELECT seq FROM audit_log ORDER BY seq LIMIT 1').pluck();
  const rowAt = db.prepare('SELECT seq, at, mac FROM audit_log WHERE seq = ?');
  const deleteThrough = db.prepare('DELETE FROM audit_log WHERE seq <= ?');
  return {
    checkpoint: () => checkpoint.get() as CheckpointRow | undefined,
    putCheckpoint: (r: CheckpointRow) => putCheckpoint.run(r),
    /** The newest row written before `at` (0 when none). */
    lastSeqBefore: (at: string) => (lastBefore.get(at) as number | undefined) ?? 0,
    firstSeq: () => first.get() as number | undefined,
    rowAt: (seq: number) => rowAt.get(seq) as { seq: number; at: string; mac: Buffer } | undefined,
    deleteThrough: (seq: number) => deleteThrough.run(seq).changes,
    lastMac(): { seq: number; mac: Buffer } | undefined {
      return last.get() as { seq: number; mac: Buffer } | undefined;
    },
    macAt(seq: number): Buffer | undefined {
      return at.get(seq) as Buffer | undefined;
    },
    lastSeqAtOrBelow(seq: number): number {
      return (atOrBelow.get(seq) as number | null) ?? 0;
    },
    insert(row: NewAuditRow): number {
      return Number(insert.run(row).lastInsertRowid);
    },
    /** Rows in chain order after `afterSeq`, for verification. */
    pageAfter(afterSeq: number, limit: number): AuditRow[] {
      return page.all(afterSeq, limit) as AuditRow[];
    },
    /** Whether a key rotation to `newId` already has its audit row (rotation recovery is idempotent). */
    rotationRecorded(purpose: string, newId: string): boolean {
      return db.prepare(`SELECT 1 FROM audit_log WHERE action = 'keys.rotated' AND json_extract(details, '$.purpose') = ? AND json_extract(details, '$.newId') = ? LIMIT 1`).get(purpose, newId) !== undefined;
    },
    /** The key id of the last recorded master-key rotation. */
    lastMasterRotation(): string | undefined {
      const row = db.prepare(`SELECT json_extract(details, '$.newId') AS id FROM audit_log WHERE action = 'keys.rotated' AND json_extract(details, '$.purpose') = 'master' ORDER BY seq DESC LIMIT 1`).get() as { id: string } | undefined;
      return row?.id;
    },
    recentForOrg(orgId: string, limit: number): AuditRow[] {
      return forOrg.all(orgId, limit) as AuditRow[];
    },
    /** Staff and API reads of registrations (by id) and of the attendee lists and exports of events (by id). */
    readsOf(orgId: string, regIds: string[], eventIds: string[], actions: { reg: readonly string[]; event: readonly string[] }): AuditRow[] {
      if (regIds.length === 0 && eventIds.length === 0) return [];
      const q = (n: number) => Array.from({ length: n }, () => '?').join(', ') || 'NULL';
      return db
        .prepare(
          `SELECT * FROM audit_log WHERE org_id = ? AND actor_type IN ('user', 'api_token') AND result = 'success' AND (
            (target_type = 'registration' AND target_id IN (${q(regIds.length)}) AND action IN (${q(actions.reg.length)}))
            OR (target_type = 'event' AND target_id IN (${q(eventIds.length)}) AND action IN (${q(actions.event.length)}))) ORDER BY seq DESC LIMIT 1000`,
        )
        .all(orgId, ...regIds, ...actions.reg, ...eventIds, ...actions.event) as AuditRow[];
    },
  };
}
export type AuditRepo = ReturnType<typeof auditRepo>;

/** Who is told about security events: read across users and memberships, never written here. */
export function alertRecipientsRepo(db: DB) {
  const owners = db.prepare(`SELECT id, email FROM users WHERE instance_role = 'owner' AND disabled_at IS NULL ORDER BY created_at`);
  const orgAdmins = db.prepare(`SELECT u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id
    WHERE m.org_id = ? AND m.role IN ('owner', 'admin') AND m.disabled_at IS NULL AND u.disabled_at IS NULL ORDER BY u.email`);
  const orgsOfUser = db.prepare(`SELECT org_id FROM memberships WHERE user_id = ? AND disabled_at IS NULL ORDER BY org_id`);
  return {
    instanceOwners: () => owners.all() as { id: string; email: string }[],
    orgAdmins: (orgId: string) => orgAdmins.all(orgId) as { id: string; email: string }[],
    orgsOfUser: (userId: string) => (orgsOfUser.all(userId) as { org_id: string }[]).map((r) => r.org_id),
  };
}

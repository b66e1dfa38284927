import type { DB } from '../db/open.ts';
import type { AuditRow } from './repo.ts';

/** One search of the audit log; every field optional except the scope. */
export interface AuditQuery {
  /** an organization's log, or null for the whole instance (instance admins only) */
  orgId: string | null;
  /** only rows without an organization: the instance's own security log */
  instanceOnly?: boolean;
  actorId?: string;
  /** an exact code, or a category as "auth.*" */
  action?: string;
  targetId?: string;
  /** the person's pseudonyms (one per audit key) */
  subjects?: string[];
  ip?: string;
  /** ISO times, from inclusive, to exclusive */
  from?: string;
  to?: string;
  result?: AuditRow['result'];
  /** keyset cursor: rows with seq below this one */
  before?: number;
}

const ESCAPE_LIKE = /[\\%_]/g;

/**
 * The audit search's SQL. Built from fixed fragments with bound values only; every filter has an
 * index that ends in seq, and a time range is first turned into a seq range through the `at`
 * index (rows are appended in time order), so "newest first after this cursor" is one index walk.
 */
export function auditSearchRepo(db: DB) {
  const firstAtOrAfter = db.prepare('SELECT seq FROM audit_log WHERE at >= ? ORDER BY at, seq LIMIT 1').pluck();
  const regsOfSubject = (n: number, org: boolean) =>
    // "+org_id": the subject index must lead, whatever the statistics say (a person has few rows, an organization many).
    db.prepare(`SELECT DISTINCT target_id FROM audit_log WHERE subject IN (${marks(n)}) AND target_type = 'registration'${org ? ' AND +org_id = ?' : ''} LIMIT 1000`).pluck();
  const bySeq = db.prepare('SELECT * FROM audit_log WHERE seq = ?');
  const byOrgSeq = db.prepare('SELECT * FROM audit_log WHERE seq = ? AND org_id = ?');
  const maxSeq = db.prepare('SELECT max(seq) FROM audit_log').pluck();
  // Read across organizations for the instance admin's scope list and names, never written here.
  const orgNames = db.prepare('SELECT id, name FROM organizations ORDER BY name');
  const cache = new Map<string, ReturnType<DB['prepare']>>();
  const prepared = (sql: string) => {
    let st = cache.get(sql);
    if (!st) {
      if (cache.size > 200) cache.clear();
      st = db.prepare(sql);
      cache.set(sql, st);
    }
    return st;
  };

  /** The seq bounds of a time range: [low, high) with high exclusive. */
  function seqBounds(q: AuditQuery): { low: number; high: number } {
    let high = q.before ?? Number.MAX_SAFE_INTEGER;
    let low = 0;
    if (q.to) {
      const s = firstAtOrAfter.get(q.to) as number | undefined;
      high = Math.min(high, s ?? ((maxSeq.get() as number | null) ?? 0) + 1);
    }
    if (q.from) {
      const s = firstAtOrAfter.get(q.from) as number | undefined;
      low = s ?? Number.MAX_SAFE_INTEGER;
    }
    return { low, high };
  }

  return {
    /** Newest first, at most `limit` rows. */
    search(q: AuditQuery, limit: number): AuditRow[] {
      const { low, high } = seqBounds(q);
      if (low >= high) return [];
      const where: string[] = ['seq >= ?', 'seq < ?'];
      const args: {}[] = [low, high];
      // A person has few rows: their index lookups lead, and "+col" keeps the planner from
      // walking an organization's or a time range's rows instead (without ANALYZE it would).
      const c = (col: string) => (q.subjects ? `+${col}` : col);
      if (q.orgId !== null) {
        where.push(`${c('org_id')} = ?`);
        args.push(q.orgId);
      } else if (q.instanceOnly) where.push(`${c('org_id')} IS NULL`);
      if (q.actorId) {
        where.push(`${c('actor_id')} = ?`);
        args.push(q.actorId);
      }
      if (q.action?.endsWith('.*')) {
        // Codes are [a-z0-9_.]; the prefix is escaped anyway, so a stray % or _ matches itself.
        where.push(`${c('action')} LIKE ? ESCAPE '\\'`);
        args.push(`${q.action.slice(0, -1).replace(ESCAPE_LIKE, (m) => `\\${m}`)}%`);
      } else if (q.action) {
        where.push(`${c('action')} = ?`);
        args.push(q.action);
      }
      if (q.targetId) {
        where.push(`${c('target_id')} = ?`);
        args.push(q.targetId);
      }
      if (q.ip) {
        where.push(`${c('ip')} = ?`);
        args.push(q.ip);
      }
      if (q.result) {
        where.push(`${c('result')} = ?`);
        args.push(q.result);
      }
      // Exact time bounds as well, never through an index: the seq bounds narrow the walk.
      if (q.from) {
        where.push('+at >= ?');
        args.push(q.from);
      }
      if (q.to) {
        where.push('+at < ?');
        args.push(q.to);
      }
      if (q.subjects) {
        if (q.subjects.length === 0) return [];
        const org = q.orgId !== null;
        const regs = regsOfSubject(q.subjects.length, org).all(...q.subjects, ...(org ? [q.orgId] : [])) as string[];
        // The person's rows: those naming the pseudonym, and those about or by their registrations.
        const parts = [`SELECT seq FROM audit_log WHERE subject IN (${marks(q.subjects.length)})`];
        const personArgs: {}[] = [...q.subjects];
        if (regs.length) {
          parts.push(`SELECT seq FROM audit_log WHERE target_id IN (${marks(regs.length)}) AND target_type = 'registration'`, `SELECT seq FROM audit_log WHERE actor_id IN (${marks(regs.length)}) AND actor_type = 'attendee'`);
          personArgs.push(...regs, ...regs);
        }
        where.push(`seq IN (${parts.join(' UNION ')})`);
        args.push(...personArgs);
      }
      args.push(limit);
      return prepared(`SELECT * FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`).all(...(args as [{}])) as AuditRow[];
    },
    orgNames: () => orgNames.all() as { id: string; name: string }[],
    entry(seq: number, orgId: string | null): AuditRow | undefined {
      return (orgId === null ? bySeq.get(seq) : byOrgSeq.get(seq, orgId)) as AuditRow | undefined;
    },
  };
}
export type AuditSearchRepo = ReturnType<typeof auditSearchRepo>;

const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

import type { DB } from '../db/open.ts';
import type { AuditContext, AuditLog } from './service.ts';

export interface DenialRow {
  actor_type: string;
  actor_id: string;
  route: string;
  hour: string;
  target_org_id: string | null;
  reason: string;
  count: number;
  first_at: string;
  last_at: string;
  last_ip: string | null;
}

function denialsRepo(db: DB) {
  const bump = db.prepare(`INSERT INTO audit_denials (actor_type, actor_id, route, hour, target_org_id, reason, count, first_at, last_at, last_ip)
    VALUES (@actor_type, @actor_id, @route, @hour, @target_org_id, @reason, 1, @at, @at, @ip)
    ON CONFLICT (actor_type, actor_id, route, hour) DO UPDATE SET count = count + 1, last_at = excluded.last_at, last_ip = excluded.last_ip
    RETURNING count`).pluck();
  const recent = db.prepare('SELECT * FROM audit_denials WHERE last_at < ? ORDER BY last_at DESC LIMIT ?');
  const prune = db.prepare('DELETE FROM audit_denials WHERE last_at < ?');
  return {
    bump: (r: { actor_type: string; actor_id: string; route: string; hour: string; target_org_id: string | null; reason: string; at: string; ip: string | null }) => bump.get(r) as number,
    recent: (before: string, limit: number) => recent.all(before, limit) as DenialRow[],
    prune: (before: string) => prune.run(before).changes,
  };
}

/**
 * Refusals of callers who are not members of the organization they tried (and of non-admins on
 * instance pages). They belong to the instance's security log, not to the organization's: an
 * outsider must not be able to fill an organization's log. The first refusal per actor, route and
 * hour is a chained audit row without an organization; the rest only count up here (count, first
 * and last time), so a flood costs one row per route and hour.
 */
export class DenialLog {
  private readonly repo;
  constructor(
    private readonly db: DB,
    private readonly audit: AuditLog,
    private readonly now: () => number,
  ) {
    this.repo = denialsRepo(db);
  }

  record(ctx: AuditContext, route: string, targetOrgId: string | null, reason: string, details: Record<string, unknown> = {}): void {
    const at = new Date(this.now()).toISOString();
    // No fsync per refusal (writer.tx): a refusal acknowledges nothing, and a flood must stay cheap.
    this.db
      .transaction(() => {
        const count = this.repo.bump({ actor_type: ctx.actor.type, actor_id: ctx.actor.id ?? '', route, hour: at.slice(0, 13), target_org_id: targetOrgId, reason, at, ip: ctx.ip ?? null });
        if (count === 1) this.audit.record({ ...ctx, orgId: null }, 'access.denied', { type: 'route', id: route }, 'denied', { reason, ...(targetOrgId ? { targetOrg: targetOrgId } : {}), aggregated: 'per actor, route and hour', ...details });
      })
      .immediate();
  }

  /** Aggregated refusals, newest first (for the instance audit page). */
  recent(limit = 100, before = '9999'): DenialRow[] {
    return this.repo.recent(before, limit);
  }

  prune(before: Date): number {
    return this.repo.prune(before.toISOString());
  }
}

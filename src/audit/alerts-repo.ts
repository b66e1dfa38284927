import type { DB } from '../db/open.ts';

export interface AlertRow {
  id: number;
  org_id: string | null;
  rule: string;
  key: string;
  title: string;
  lines: string;
  created_at: number;
  mailed: number;
}

/** Stored alerts, seen networks and thresholds: organization data takes the organization id. */
export function securityAlertsRepo(db: DB) {
  const s = {
    insert: db.prepare('INSERT INTO security_alerts (org_id, rule, key, title, lines, created_at, mailed) VALUES (@org_id, @rule, @key, @title, @lines, @created_at, 0)'),
    lastMailed: db.prepare('SELECT max(created_at) FROM security_alerts WHERE org_id IS ? AND rule = ? AND mailed = 1').pluck(),
    unmailed: db.prepare('SELECT count(*) FROM security_alerts WHERE org_id IS ? AND rule = ? AND mailed = 0').pluck(),
    markMailed: db.prepare('UPDATE security_alerts SET mailed = 1 WHERE org_id IS ? AND rule = ? AND mailed = 0'),
    forOrg: db.prepare('SELECT * FROM security_alerts WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT ?'),
    seen: db.prepare('SELECT 1 FROM user_networks WHERE user_id = ? AND network = ?'),
    known: db.prepare('SELECT count(*) FROM user_networks WHERE user_id = ?').pluck(),
    addNetwork: db.prepare('INSERT OR IGNORE INTO user_networks (user_id, network, first_seen) VALUES (?, ?, ?)'),
    adminOrgs: db.prepare(`SELECT org_id FROM memberships WHERE user_id = ? AND role IN ('owner', 'admin') AND disabled_at IS NULL ORDER BY org_id`).pluck(),
    instanceRole: db.prepare('SELECT instance_role FROM users WHERE id = ?').pluck(),
    thresholds: db.prepare('SELECT alert_thresholds FROM organizations WHERE id = ?').pluck(),
    setThresholds: db.prepare('UPDATE organizations SET alert_thresholds = ? WHERE id = ?'),
  };
  return {
    insert: (a: Omit<AlertRow, 'id' | 'mailed'>) => Number(s.insert.run(a).lastInsertRowid),
    lastMailed: (orgId: string | null, rule: string) => (s.lastMailed.get(orgId, rule) as number | null) ?? undefined,
    unmailed: (orgId: string | null, rule: string) => s.unmailed.get(orgId, rule) as number,
    markMailed: (orgId: string | null, rule: string) => void s.markMailed.run(orgId, rule),
    forOrg: (orgId: string, limit: number) => s.forOrg.all(orgId, limit) as AlertRow[],
    networkSeen: (userId: string, network: string) => s.seen.get(userId, network) !== undefined,
    knownNetworks: (userId: string) => s.known.get(userId) as number,
    addNetwork: (userId: string, network: string, at: number) => void s.addNetwork.run(userId, network, at),
    adminOrgsOf: (userId: string) => s.adminOrgs.all(userId) as string[],
    instanceRole: (userId: string) => (s.instanceRole.get(userId) as string | null | undefined) ?? null,
    thresholds: (orgId: string) => (s.thresholds.get(orgId) as string | undefined) ?? '{}',
    setThresholds: (orgId: string, json: string) => void s.setThresholds.run(json, orgId),
  };
}

import type { DB } from '../db/open.ts';
import { type AuditRepo, type AuditRow, auditRepo } from './repo.ts';

const repos = new WeakMap<DB, AuditRepo>();

/** An organization's newest audit entries, newest first, for its audit page. */
export function recentOrgAudit(db: DB, orgId: string, limit = 200): AuditRow[] {
  let repo = repos.get(db);
  if (!repo) {
    repo = auditRepo(db);
    repos.set(db, repo);
  }
  return repo.recentForOrg(orgId, Math.min(Math.max(1, Math.trunc(limit)), 1000));
}

import type { DB } from '../db/open.ts';

/** Stored notice versions: tenant data, every statement takes the organization id. */
export function privacyNoticesRepo(db: DB) {
  const insert = db.prepare('INSERT OR IGNORE INTO privacy_notices (id, org_id, event_id, body, created_at) VALUES (@id, @org_id, @event_id, @body, @created_at)');
  const body = db.prepare('SELECT body FROM privacy_notices WHERE org_id = ? AND id = ?').pluck();
  return {
    insertIfNew: (r: { id: string; org_id: string; event_id: string; body: string; created_at: string }) => void insert.run(r),
    body: (orgId: string, id: string) => body.get(orgId, id) as string | undefined,
  };
}

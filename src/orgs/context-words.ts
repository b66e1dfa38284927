import type { DB } from '../db/open.ts';

/**
 * The names of the organizations a person belongs to: context words their password must not be
 * built around (see auth/password-policy.ts). Asked by the auth service through this lookup,
 * wired in services.ts.
 */
export function orgNamesOfUser(db: DB): (userId: string) => string[] {
  const stmt = db.prepare('SELECT o.name, o.slug FROM memberships m JOIN organizations o ON o.id = m.org_id WHERE m.user_id = ?');
  return (userId) => (stmt.all(userId) as { name: string; slug: string }[]).flatMap((r) => [r.name, r.slug]);
}

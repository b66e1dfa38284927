import { hasTable } from '../db/migrate.ts';
import type { DB } from '../db/open.ts';

/** The identity capability adds the users table; until an owner exists, setup stays open. */
export function instanceHasOwner(db: DB): boolean {
  if (!hasTable(db, 'users')) return false;
  return db.prepare(`SELECT 1 FROM users WHERE instance_role = 'owner' LIMIT 1`).get() !== undefined;
}

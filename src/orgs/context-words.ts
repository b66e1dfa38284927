import type { DB } from '../db/open.ts';
import { orgsRepo } from './repo.ts';

/**
 * The names of the organizations a person belongs to: context words their password must not be
 * built around (see auth/password-policy.ts). Asked by the auth service through this lookup,
 * wired in services.ts.
 */
export function orgNamesOfUser(db: DB): (userId: string) => string[] {
  const repo = orgsRepo(db);
  return (userId) => repo.orgNamesOfUser(userId);
}

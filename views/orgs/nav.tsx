/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { OrgRole } from '../../src/orgs/permissions.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';

/**
 * The app shell (views/components/shell.tsx) draws the organization's navigation on every page
 * now. Kept, drawing nothing, so a page written against the old in-page menu still compiles;
 * new pages do not use it.
 */
export function OrgNav(_: { org: OrgRow; role: OrgRole }) {
  return null;
}

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { AttendeeAccesses } from '../../views/audit/accesses.tsx';
import type { AppContext } from '../app-context.ts';
import type { OrgRow } from '../orgs/repo.ts';
import { namesFor } from './names.ts';

/** The "who accessed this attendee's data" section of the organizer's attendee page. */
export function attendeeAccesses(ctx: AppContext, org: OrgRow, reg: { id: string; event_id: string; created_at: string }) {
  const rows = ctx.auditSearch.accessesOf(org.id, reg);
  const names = namesFor(rows, {
    user: (id) => ctx.auth.user(id)?.name || undefined,
    org: (id) => (id === org.id ? org.name : undefined),
    event: (orgId, id) => ctx.events.eventById(orgId, id)?.title,
    token: (orgId, id) => ctx.orgs.tokens(orgId).find((t) => t.id === id)?.name,
  });
  return <AttendeeAccesses rows={rows} names={names} auditBase={`/orgs/${org.slug}/audit`} />;
}

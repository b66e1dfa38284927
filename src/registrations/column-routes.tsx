import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { auditCtx } from '../http/guard.ts';
import { parseForm } from '../http/forms.ts';
import type { RouteTable } from '../http/route-permissions.ts';
import type { AppEnv } from '../http/types.ts';
import { loadEvent } from '../events/load.ts';
import type { FieldRow } from '../events/repo.ts';
import { fixedListColumns } from '../../views/registrations/shared.tsx';

/** The attendee list's optional columns: the fixed ones, then the form's own fields. The name (or, without one, the email) is always shown: it is the link to the record. */
export function listColumnKeys(fields: FieldRow[]): string[] {
  return [...fixedListColumns.map(([k]) => k), ...fields.filter((f) => !f.builtin).map((f) => f.key)];
}

/** The columns this staff member shows in the event's attendee list; null when they never chose. */
export function chosenListColumns(c: Context<AppEnv>, e: Parameters<AppEnv['Variables']['app']['attendees']['listColumns']>[0], fields: FieldRow[]): string[] | null {
  const user = c.get('user');
  return user ? c.get('app').attendees.listColumns(e, user.id, listColumnKeys(fields)) : null;
}

const columnsForm = z.object({ columns: z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.string().max(64)).max(200)) });

/** Remembering the attendee list's column choice, per staff member and event, on the server. */
export function attendeeColumnRoutes(table: RouteTable): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  table.on(app).post('/orgs/:orgSlug/events/:eventId/attendee-columns', { kind: 'org', permission: 'attendees.read' }, async (c) => {
    const l = loadEvent(c);
    if ('response' in l) return l.response;
    const e = l.event;
    const form = await parseForm(c, columnsForm);
    const known = listColumnKeys(c.get('app').events.fields(e));
    // Unknown keys (a field removed since the page was drawn) are dropped, not refused.
    const chosen = form.ok ? known.filter((k) => form.data.columns.includes(k)) : known;
    c.get('app').attendees.saveListColumns(e, c.get('user')!.id, chosen, auditCtx(c, c.get('org').id));
    return c.redirect(`/orgs/${c.get('org').slug}/events/${e.id}/attendees?done=columns`, 303);
  });
  return app;
}

import type { Context } from 'hono';
import type { AuditContext } from '../audit/service.ts';
import { errorResponse } from '../http/error-page.tsx';
import { CONTROL_CHARS } from '../http/forms.ts';
import { auditCtx } from '../http/guard.ts';
import type { AppEnv } from '../http/types.ts';
import { type Permission, roleHas } from '../orgs/permissions.ts';
import { loadEvent } from '../events/load.ts';
import type { EventRow } from '../events/repo.ts';
import type { RegistrationRow } from './repo.ts';

/** What the attendee pages and the check-in desk share: the event path, role checks, loading. */
export type C = Context<AppEnv>;

export const EV = '/orgs/:orgSlug/events/:eventId';
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const org = (permission: Permission) => ({ kind: 'org' as const, permission });
export const noControl = (v: string) => !CONTROL_CHARS.test(v);

/** Whether a partial (htmx) response is wanted; history restores and boosted loads want the page. */
export const wantsPartial = (c: C) => c.req.header('hx-request') === 'true' && c.req.header('hx-request-type') !== 'full' && c.req.header('hx-history-restore-request') !== 'true';

const roleOf = (c: C) => {
  const m = c.get('membership');
  if (!m) throw new Error('org route without membership');
  return m.role;
};
export const can = (c: C, p: Permission) => roleHas(roleOf(c), p);
export const actx = (c: C): AuditContext => auditCtx(c, c.get('org').id);

/** Runs `fn` with the event, or answers 404 for other organizations' and out-of-scope events. */
export const withEvent = <T,>(c: C, fn: (e: EventRow) => T): T | Response | Promise<Response> => {
  const l = loadEvent(c);
  return 'response' in l ? l.response : fn(l.event);
};
export const regOr404 = (c: C, load: (id: string) => RegistrationRow | undefined): RegistrationRow | undefined => {
  const id = c.req.param('regId') ?? '';
  return UUID.test(id) ? load(id) : undefined;
};
export const noReg = (c: C) => errorResponse(c, 404, 'Registration not found', 'There is no such registration for this event.');
/** withEvent, plus the registration named in the path: 404 when it is not one of this event's. */
export const withRegistration = <T,>(c: C, fn: (e: EventRow, reg: RegistrationRow) => T) =>
  withEvent(c, (e) => {
    const reg = regOr404(c, (id) => c.get('app').attendees.get(e, id));
    return reg ? fn(e, reg) : noReg(c);
  });

import type { Context } from 'hono';
import { errorResponse } from '../http/error-page.tsx';
import type { AppEnv } from '../http/types.ts';
import type { EventRow } from './repo.ts';
import { eventInScope } from './service.ts';

/**
 * Loads `:eventId` inside the guarded organization. Another organization's event, a missing one,
 * or one outside a scoped member's chosen events all answer 404 (and the scope case is audited).
 */
export function loadEvent(c: Context<AppEnv>): { event: EventRow } | { response: Response | Promise<Response> } {
  const app = c.get('app');
  const org = c.get('org');
  const id = c.req.param('eventId') ?? '';
  const event = /^[0-9a-f-]{36}$/.test(id) ? app.events.get(org, id) : undefined;
  if (!event) return { response: errorResponse(c, 404, 'Event not found', 'There is no such event in this organization.') };
  if (!eventInScope(c.get('membership'), event.id)) {
    app.audit.record(
      { actor: { type: c.get('apiToken') ? 'api_token' : 'user', id: c.get('apiToken')?.id ?? c.get('user')?.id ?? null }, orgId: org.id, ip: c.get('clientIp'), requestId: c.get('requestId') },
      'access.denied',
      { type: 'event', id: event.id },
      'denied',
      { reason: 'event-scope' },
    );
    return { response: errorResponse(c, 404, 'Event not found', 'There is no such event in this organization.') };
  }
  c.set('event', event);
  return { event };
}

import type { Context } from 'hono';
import { errorResponse } from '../http/error-page.tsx';
import type { AppEnv } from '../http/types.ts';

/**
 * What every public page and personal link of a suspended organization answers (orgs/directory.ts):
 * the same page and status everywhere, saying nothing of why, of the event or of the person, and
 * nothing about whether a personal link is otherwise valid beyond that it belongs here. 503: the
 * state is temporary and lifted by the administrators; no-store so no cache keeps it afterwards.
 */
export function orgUnavailable(c: Context<AppEnv>): Response | Promise<Response> {
  c.header('Cache-Control', 'no-store');
  return errorResponse(c, 503, 'Unavailable', 'This organization is currently unavailable. Please try again later.');
}

/** The gate the public routes share: the organization behind a page or link is suspended. */
export function orgSuspended(c: Context<AppEnv>, orgId: string): boolean {
  return c.get('app').orgDirectory.isSuspended(orgId);
}

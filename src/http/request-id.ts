import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { AppEnv } from './types.ts';

/** Every request gets an id that ties together the access log, audit rows and error pages. */
export function assignRequestId(c: Context<AppEnv>): string {
  const id = randomUUID();
  c.set('requestId', id);
  c.set('userId', null);
  return id;
}

import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './types.ts';

/** Every request gets an id that ties together the access log, audit rows and error pages. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = randomUUID();
    c.set('requestId', id);
    c.set('userId', null);
    await next();
    c.res.headers.set('X-Request-Id', id);
  };
}

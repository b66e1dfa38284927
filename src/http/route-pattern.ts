import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';

/**
 * The pattern of the handler that answered (`/e/:slug`), for logs and metrics: never the real
 * path, which may carry tokens or ids. Middleware is registered with `use` (method ALL).
 */
export function routePattern(c: Context): string {
  const routes = matchedRoutes(c).filter((r) => r.method !== 'ALL');
  return routes.at(-1)?.path ?? 'unmatched';
}

import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';

/**
 * The pattern of the handler that answered (`/e/:slug`), for logs and metrics: never the real
 * path, which may carry tokens or ids. Middleware is registered with `use` (method ALL).
 */
export function routePattern(c: Context): string {
  // Runs for every request: a backwards scan instead of filter() + at().
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i];
    if (r && r.method !== 'ALL') return r.path;
  }
  return 'unmatched';
}

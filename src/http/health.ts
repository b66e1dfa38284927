import { Hono } from 'hono';
import { timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../app-context.ts';
import { routes } from './access.ts';
import { guard } from './guard.ts';
import type { AppEnv } from './types.ts';

export function healthRoutes(ctx: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = routes(app, guard);
  r.get('/healthz', { kind: 'public' }, (c) => c.json({ status: 'ok' }));
  r.get('/readyz', { kind: 'public' }, (c) => {
    try {
      ctx.db.prepare('SELECT 1').get();
      return c.json({ status: 'ready', checks: { database: 'ok' } });
    } catch {
      return c.json({ status: 'not ready', checks: { database: 'failing' } }, 503);
    }
  });
  r.get('/metrics', { kind: 'public' }, async (c) => {
    const want = ctx.cfg.metricsToken;
    if (want) {
      const got = Buffer.from(c.req.header('authorization') ?? '');
      const expected = Buffer.from(`Bearer ${want}`);
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        return c.text('metrics require a bearer token\n', 401, { 'WWW-Authenticate': 'Bearer realm="metrics"' });
      }
    }
    return c.body(await ctx.metrics.text(), 200, { 'Content-Type': ctx.metrics.contentType });
  });
  return app;
}

import { Hono } from 'hono';
import { timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../app-context.ts';
import type { RestoreTester } from '../backup/restore-test.ts';
import type { LogShipper, ShippingStatus } from '../logship/service.ts';
import type { RouteTable } from './route-permissions.ts';
import type { AppEnv } from './types.ts';

export function healthRoutes(table: RouteTable, ctx: AppContext, restoreTester?: RestoreTester, logShipping?: LogShipper): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const r = table.on(app);
  r.get('/healthz', { kind: 'public' }, (c) => c.json({ status: 'ok' }));
  // Ready or not is for everyone (a load balancer needs it); why, and the backup state, only for
  // the operator: a loopback client or the metrics token holder (ASVS V13.4.5).
  r.get('/readyz', { kind: 'public' }, (c) => {
    const detail = c.get('localCaller') || hasMetricsToken(c.req.header('authorization'), ctx.cfg.metricsToken);
    try {
      ctx.db.prepare('SELECT 1').get();
    } catch {
      return c.json(detail ? { status: 'not ready', checks: { database: 'failing' } } : { status: 'not ready' }, 503);
    }
    // A fault that stops writes takes the instance out of service: it would accept a form and
    // then refuse to save it. The check names the cause for the operator.
    const faults = ctx.faults.list();
    if (faults.length > 0) {
      if (!detail) return c.json({ status: 'not ready' }, 503);
      return c.json({ status: 'not ready', checks: { database: 'read-only', faults: faults.map((f) => ({ kind: f.kind, since: new Date(f.since).toISOString(), message: f.message })) } }, 503);
    }
    // Backup state is detail only, never a 503: a load balancer would take a healthy site out of
    // service because a bucket is down or last night's restore test failed. Lag and the test
    // result are alerted on via /metrics and the security alert instead.
    if (!detail) return c.json({ status: 'ready' });
    // A shipping gap is detail too (alerted and in /metrics): the site itself still works.
    return c.json({ status: 'ready', checks: { database: 'ok', backup: backupDetail(restoreTester), logShipping: shippingDetail(logShipping) } });
  });
  // With a token, the token is required from everywhere (other users of the host included);
  // without one, only loopback clients may read the metrics (ASVS V13.4.5).
  r.get('/metrics', { kind: 'public' }, async (c) => {
    const want = ctx.cfg.metricsToken;
    if (want) {
      if (!hasMetricsToken(c.req.header('authorization'), want)) {
        return c.text('metrics require a bearer token\n', 401, { 'WWW-Authenticate': 'Bearer realm="metrics"' });
      }
    } else if (!c.get('localCaller')) {
      return c.text('metrics are served to loopback clients only; set --metrics-token to scrape from elsewhere\n', 403);
    }
    return c.body(await ctx.metrics.text(), 200, { 'Content-Type': ctx.metrics.contentType });
  });
  return app;
}

/** Constant-time comparison: the token must not leak through the time a wrong guess takes. */
function hasMetricsToken(header: string | undefined, want: string | undefined): boolean {
  if (!want) return false;
  const got = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${want}`);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

function backupDetail(restoreTester: RestoreTester | undefined): { configured: false } | { configured: true; lagSeconds: number; lastRestoreTest: { ok: boolean; at: string } | null } | { error: string } {
  try {
    const s = restoreTester?.summary() ?? { configured: false as const };
    return s.configured ? { configured: true, lagSeconds: s.lagSeconds, lastRestoreTest: s.lastRestoreTest } : { configured: false };
  } catch {
    return { error: 'backup status unavailable' };
  }
}

function shippingDetail(s: LogShipper | undefined): { configured: false } | ({ configured: true } & ShippingStatus) {
  return s?.enabled ? { configured: true, ...s.status() } : { configured: false };
}

import type { MiddlewareHandler } from 'hono';
import type { AccessLogWriter } from '../audit/access-log.ts';
import type { Metrics } from './metrics.ts';
import { routePattern } from './route-pattern.ts';
import type { AppEnv } from './types.ts';

export function accessLog(writer: AccessLogWriter, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const durationMs = performance.now() - start;
      const route = routePattern(c);
      const status = c.res.status;
      metrics.observeRequest(c.req.method, route, status, durationMs / 1000);
      writer.write({
        time: new Date().toISOString(),
        requestId: c.get('requestId'),
        method: c.req.method,
        route,
        status,
        durationMs: Math.round(durationMs * 100) / 100,
        userId: c.get('userId') ?? null,
        ip: c.get('clientIp') ?? null,
      });
    }
  };
}

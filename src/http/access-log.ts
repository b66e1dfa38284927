import type { MiddlewareHandler } from 'hono';
import type { AccessLogWriter } from '../audit/access-log.ts';
import type { Metrics } from './metrics.ts';
import { routePattern } from './route-pattern.ts';
import type { AppEnv } from './types.ts';

let isoMs = -1;
let isoText = '';
/** Date#toISOString for the current millisecond; busy servers log many lines per millisecond. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

export function accessLog(writer: AccessLogWriter, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const durationMs = performance.now() - start;
      const route = routePattern(c);
      const status = c.res.status;
      const method = c.req.method;
      metrics.observeRequest(method, route, status, durationMs / 1000);
      writer.write({
        time: isoNow(),
        requestId: c.get('requestId'),
        method,
        route,
        status,
        durationMs: Math.round(durationMs * 100) / 100,
        userId: c.get('userId') ?? null,
        ip: c.get('clientIp') ?? null,
      });
    }
  };
}

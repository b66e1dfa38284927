import type { MiddlewareHandler } from 'hono';
import type { AppContext } from '../app-context.ts';
import { readClientInfo } from './client-info.ts';
import { assignRequestId } from './request-id.ts';
import { addSecurityHeaders, nodeResponse, setSecurityHeaders } from './security-headers.ts';
import type { AppEnv } from './types.ts';

/**
 * What every request needs before anything else: an id, the client's address and scheme, the
 * security headers and the app context. One step of Hono's middleware chain rather than four,
 * because each step costs about a microsecond on every request.
 */
export function requestContext(app: AppContext, opts: { trustProxy: boolean; tls: boolean }): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const id = assignRequestId(c);
    readClientInfo(c, opts);
    c.set('app', app);
    const out = nodeResponse(c);
    if (out) {
      out.setHeader('X-Request-Id', id);
      setSecurityHeaders(out, c.get('secure'));
      return next();
    }
    return next().then(() => {
      c.res.headers.set('X-Request-Id', id);
      addSecurityHeaders(c.res.headers, c.get('secure'));
    });
  };
}

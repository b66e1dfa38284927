import type { MiddlewareHandler } from 'hono';
import { constantTimeEqual } from '../auth/token.ts';
import { ErrorBody } from './error-page.tsx';
import type { AppEnv } from './types.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Two independent checks on every unsafe request from a browser:
 * 1. Fetch metadata / Origin: a cross-site request is refused outright.
 * 2. A token bound to the session (or the pre-session cookie) in the `X-CSRF-Token` header
 *    (htmx) or the `_csrf` form field. The handler is never called when either check fails.
 */
export function csrfProtection(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (SAFE.has(c.req.method) || c.get('apiToken')) return next();
    const site = c.req.header('sec-fetch-site');
    const origin = c.req.header('origin');
    const host = c.req.header('host');
    const crossSite = site !== undefined && site !== 'same-origin' && site !== 'none';
    let originMismatch = false;
    if (origin && host) {
      try {
        originMismatch = new URL(origin).host !== host;
      } catch {
        originMismatch = true;
      }
    }
    let supplied = c.req.header('x-csrf-token');
    if (!supplied) {
      const type = c.req.header('content-type') ?? '';
      if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
        const body = await c.req.parseBody();
        const v = body['_csrf'];
        supplied = typeof v === 'string' ? v : undefined;
      }
    }
    const expected = c.get('csrfToken');
    const tokenOk = !!supplied && !!expected && constantTimeEqual(Buffer.from(supplied), Buffer.from(expected));
    if (crossSite || originMismatch || !tokenOk) {
      const app = c.get('app');
      app.audit.record(
        { actor: { type: 'user', id: c.get('user')?.id ?? null }, ip: c.get('clientIp'), userAgent: c.req.header('user-agent') ?? null, requestId: c.get('requestId') },
        'security.csrf_rejected',
        null,
        'denied',
        { reason: crossSite ? 'cross-site' : originMismatch ? 'origin' : 'token' },
      );
      return c.html(
        ErrorBody({ status: 403, title: 'Form expired or sent from elsewhere', message: 'This form could not be accepted: it was sent from another site, or the page was open too long. Go back, reload the page and try again.', requestId: c.get('requestId') }),
        403,
      );
    }
    await next();
  };
}

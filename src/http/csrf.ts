import type { MiddlewareHandler } from 'hono';
import { constantTimeEqual } from '../auth/token.ts';
import { ErrorBody } from './error-page.tsx';
import type { AppEnv } from './types.ts';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Two independent checks on every unsafe request from a browser:
 * 1. Fetch metadata / Origin: a cross-site request is refused outright.
 * 2. With a session: a token bound to it in the `X-CSRF-Token` header (htmx) or the `_csrf`
 *    form field. Without one (login, registration): that token from the pre-session cookie, or
 *    the browser's own same-origin proof. The handler is never called when a check fails.
 */
export function csrfProtection(): MiddlewareHandler<AppEnv> {
  const check: MiddlewareHandler<AppEnv> = async (c, next) => {
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
    // Without a session there is no authority to abuse beyond the form itself; DESIGN §3 accepts
    // fetch metadata there: a browser marks its own same-origin requests and no page can forge it.
    const sameOriginProof = !c.get('session') && (site === 'same-origin' || (origin !== undefined && !originMismatch));
    if (crossSite || originMismatch || !(tokenOk || sameOriginProof)) {
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
  return (c, next) => (SAFE.has(c.req.method) || c.get('apiToken') ? next() : check(c, next));
}

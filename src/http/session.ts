import type { Context } from 'hono';
import { randomToken } from '../auth/token.ts';
import { CSRF_COOKIE, SESSION_COOKIE, clearSessionCookie, readCookie, setCsrfCookie } from './cookies.ts';
import type { AppEnv } from './types.ts';

/** The CSRF token for a form on this page; issues the pre-session cookie on first need. */
export function csrfToken(c: Context<AppEnv>): string {
  let t = c.get('csrfToken');
  if (!t && !c.get('apiToken')) {
    t = randomToken(32);
    setCsrfCookie(c, t);
    c.set('csrfToken', t);
  }
  return t;
}

/**
 * Resolves who is calling: a session cookie, or an API token in `Authorization: Bearer`.
 * A cookie that no longer matches a live session is cleared. Pages without a session get a
 * pre-session CSRF token (double-submit cookie) so login and setup forms are protected too.
 */
export function identifyCaller(c: Context<AppEnv>): void {
  const app = c.get('app');
  c.set('session', null);
  c.set('user', null);
  c.set('apiToken', null);
  const auth = c.req.header('authorization');
  if (auth?.startsWith('Bearer ')) {
    const found = app.orgs.authenticateToken(auth.slice(7).trim(), { actor: { type: 'system' }, ip: c.get('clientIp'), userAgent: c.req.header('user-agent') ?? null, requestId: c.get('requestId') });
    if (found) {
      c.set('apiToken', found.token);
      c.set('user', found.user);
      c.set('userId', found.user.id);
    }
    // A bearer request never uses cookies, so CSRF does not apply to it.
    c.set('csrfToken', '');
    return;
  }
  const raw = readCookie(c, SESSION_COOKIE);
  const valid = app.sessions.validate(raw, c.get('clientIp'));
  if (valid) {
    c.set('session', valid.session);
    c.set('user', valid.user);
    c.set('userId', valid.user.id);
    c.set('csrfToken', valid.session.csrf_token);
  } else {
    if (raw) clearSessionCookie(c);
    const pre = readCookie(c, CSRF_COOKIE);
    // Created lazily by csrfToken(c) when a page with a form is rendered, so anonymous hits on
    // cacheable public pages cost no random bytes and set no cookie.
    c.set('csrfToken', pre && /^[A-Za-z0-9_-]{43}$/.test(pre) ? pre : '');
  }
}

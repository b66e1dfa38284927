import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/**
 * One-time links (password reset, email confirmation, setup) carry their token in the URL only
 * for the first GET: the token moves into a short-lived `__Host-` cookie and the browser is sent
 * to the same page without it, so it does not stay in the address bar, history, bookmarks or
 * Referer headers (ASVS V14.2.1). The forms then read the cookie. SameSite=Lax (not Strict): the
 * first GET comes from a mail client, a cross-site navigation, and must set and send it.
 */
export type LinkPurpose = 'reset' | 'verify' | 'change' | 'setup';

/** Long enough to choose a password, short enough that a forgotten tab does not keep it. */
export const LINK_COOKIE_SECONDS = 10 * 60;

const name = (purpose: LinkPurpose) => `__Host-tessera_link_${purpose}`;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** GET with `?token=`: stores it and answers with the redirect to `cleanUrl`; null when the URL has no token. */
export function exchangeLinkToken(c: Context, purpose: LinkPurpose, cleanUrl: string): Response | null {
  const token = c.req.query('token');
  if (token === undefined) return null;
  // A malformed token is not stored; the clean page then says the link is not usable.
  if (TOKEN.test(token)) setCookie(c, name(purpose), token, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: LINK_COOKIE_SECONDS });
  else deleteCookie(c, name(purpose), { path: '/', secure: true });
  return c.redirect(cleanUrl, 303);
}

export function readLinkToken(c: Context, purpose: LinkPurpose): string {
  const v = getCookie(c, name(purpose));
  return v && TOKEN.test(v) ? v : '';
}

export function clearLinkToken(c: Context, purpose: LinkPurpose): void {
  deleteCookie(c, name(purpose), { path: '/', secure: true });
}

import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/**
 * `__Host-` cookies: Secure, Path=/, no Domain, so no subdomain or plain-HTTP page can set or
 * read them. Browsers accept Secure cookies from http://localhost and 127.0.0.1, which keeps
 * local development working; anywhere else Tessera must be reached over HTTPS.
 */
export const SESSION_COOKIE = '__Host-tessera_session';
export const CSRF_COOKIE = '__Host-tessera_csrf';

export function readCookie(c: Context, name: string): string | undefined {
  return getCookie(c, name);
}

export function setSessionCookie(c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true });
}

export function setCsrfCookie(c: Context, token: string): void {
  setCookie(c, CSRF_COOKIE, token, { path: '/', secure: true, httpOnly: true, sameSite: 'Strict' });
}

import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/**
 * Secret links carry their token in the URL only for the first GET: it is exchanged for a
 * short-lived cookie and the browser is sent on to a clean address, so the token stays out of
 * the address bar, the history, synced bookmarks and every later Referer (ASVS V14.2.1). It lives
 * only in the email (or wherever the link was shared), which re-issues the cookie when opened.
 *
 * `__Host-` (Secure, Path=/, no Domain), HttpOnly so page scripts never read it, SameSite=Lax
 * (not Strict): the first GET comes from a mail client, a cross-site navigation that must set
 * and send it.
 */
export type LinkKind = 'manage' | 'confirm' | 'share' | 'invite' | 'reset' | 'verify' | 'change' | 'setup' | 'privacy' | 'privacy-session';

/** Attendee, share and invitation links: long enough to fill a form or create an account. */
const SHARED = /^[A-Za-z0-9._~-]{16,300}$/;
/** One-time account links (32 random bytes, base64url): long enough to choose a password. */
const ACCOUNT = /^[A-Za-z0-9_-]{43}$/;

const LINKS: Record<LinkKind, { name: string; seconds: number; token: RegExp }> = {
  manage: { name: '__Host-tessera_reg', seconds: 30 * 60, token: SHARED },
  confirm: { name: '__Host-tessera_confirm', seconds: 30 * 60, token: SHARED },
  share: { name: '__Host-tessera_share', seconds: 30 * 60, token: SHARED },
  invite: { name: '__Host-tessera_invite', seconds: 60 * 60, token: SHARED },
  reset: { name: '__Host-tessera_link_reset', seconds: 10 * 60, token: ACCOUNT },
  verify: { name: '__Host-tessera_link_verify', seconds: 10 * 60, token: ACCOUNT },
  change: { name: '__Host-tessera_link_change', seconds: 10 * 60, token: ACCOUNT },
  setup: { name: '__Host-tessera_link_setup', seconds: 10 * 60, token: ACCOUNT },
  // The attendee's data page: the emailed single-use link (valid 1 h), then the session it opens.
  privacy: { name: '__Host-tessera_privacy_link', seconds: 60 * 60, token: ACCOUNT },
  'privacy-session': { name: '__Host-tessera_privacy', seconds: 30 * 60, token: ACCOUNT },
};

export function setLinkCookie(c: Context, kind: LinkKind, token: string): void {
  setCookie(c, LINKS[kind].name, token, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: LINKS[kind].seconds });
}

/** The stored token, or '' when there is none or it is not shaped like one of ours. */
export function readLinkCookie(c: Context, kind: LinkKind): string {
  const v = getCookie(c, LINKS[kind].name) ?? '';
  return LINKS[kind].token.test(v) ? v : '';
}

export function clearLinkCookie(c: Context, kind: LinkKind): void {
  deleteCookie(c, LINKS[kind].name, { path: '/', secure: true });
}

/** GET with `?token=`: stores it and answers with the redirect to `cleanUrl`; null when the URL has no token. */
export function exchangeLinkToken(c: Context, kind: LinkKind, cleanUrl: string): Response | null {
  const token = c.req.query('token');
  if (token === undefined) return null;
  // A malformed token is not stored; the clean page then says the link is not usable.
  if (LINKS[kind].token.test(token)) setLinkCookie(c, kind, token);
  else clearLinkCookie(c, kind);
  return c.redirect(cleanUrl, 303);
}

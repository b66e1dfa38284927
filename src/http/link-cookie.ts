import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

/**
 * Secret links (an attendee's manage and confirm links, share links, invitations) are exchanged
 * on their first GET for a short-lived cookie, and the browser is sent on to a clean address.
 * The token then stays out of the address bar, the history, bookmarks synced elsewhere and the
 * Referer of every later request; it lives only in the email (or wherever it was shared), which
 * re-issues the cookie each time it is opened.
 *
 * `__Host-` (Secure, Path=/, no Domain), HttpOnly so page scripts never read it, SameSite=Lax so
 * the top-level navigation from a mail client carries it to the clean page.
 */
export type LinkCookie = 'manage' | 'confirm' | 'share' | 'invite';

const NAMES: Record<LinkCookie, string> = {
  manage: '__Host-tessera_reg',
  confirm: '__Host-tessera_confirm',
  share: '__Host-tessera_share',
  invite: '__Host-tessera_invite',
};

/**
 * How long the exchanged cookie works. Long enough to read the page, fill a form, or create an
 * account and come back; short, because the link in the email brings it back whenever needed.
 */
export const LINK_COOKIE_SECONDS: Record<LinkCookie, number> = { manage: 30 * 60, confirm: 30 * 60, share: 30 * 60, invite: 60 * 60 };

/** A link token has only URL-safe characters: anything else is not one of ours. */
const TOKEN = /^[A-Za-z0-9._~-]{16,300}$/;

export function setLinkCookie(c: Context, kind: LinkCookie, token: string): void {
  setCookie(c, NAMES[kind], token, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: LINK_COOKIE_SECONDS[kind] });
}

export function readLinkCookie(c: Context, kind: LinkCookie): string {
  const v = getCookie(c, NAMES[kind]) ?? '';
  return TOKEN.test(v) ? v : '';
}

export function clearLinkCookie(c: Context, kind: LinkCookie): void {
  deleteCookie(c, NAMES[kind], { path: '/', secure: true });
}

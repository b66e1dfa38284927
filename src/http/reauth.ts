import type { Context } from 'hono';
import type { AppEnv } from './types.ts';

/**
 * Sensitive changes need a password (+ code) entered in the last 10 minutes. Returns the redirect
 * to the re-authentication page (which comes back to `back`), or null when the session is fresh.
 * The submitted form is not replayed: the person submits it again after confirming.
 */
export function requireRecentAuth(c: Context<AppEnv>, back: string): Response | null {
  const session = c.get('session');
  if (session && c.get('app').auth.isRecent(session)) return null;
  return c.redirect(`/account/reauth?next=${encodeURIComponent(back)}`, 303);
}

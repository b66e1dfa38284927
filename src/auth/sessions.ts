import { authRepo, type SessionRow, type UserRow } from './repo.ts';
import type { DB } from '../db/open.ts';
import { constantTimeEqual, hashToken, randomToken } from './token.ts';

export interface SessionPolicy {
  idleMs: number;
  absoluteMs: number;
}

/**
 * At most this many signed-in sessions per person (ASVS V7.1.2): a new sign-in ends the session
 * used longest ago. Pending sign-ins (password done, second factor not yet) do not count, so
 * someone who knows only the password cannot push the holder's devices out.
 */
export const MAX_SESSIONS_PER_USER = 10;

/** A session that proved the password but not yet the second factor lives only this long. */
const MFA_PENDING_MS = 10 * 60 * 1000;
/** last_seen is written at most this often, so reads do not turn every request into a write. */
const TOUCH_EVERY_MS = 60 * 1000;

export interface ValidSession {
  session: SessionRow;
  user: UserRow;
}

/**
 * Lucia's session design in one screen: the cookie holds `id.secret`; the table holds the id and
 * SHA-256(secret), compared in constant time. Expiry slides with use (idle timeout) but never
 * past the absolute lifetime. A disabled user's sessions are deleted the moment they are seen.
 */
export class SessionService {
  private readonly repo;
  constructor(
    db: DB,
    /** The instance lengths as configured now (flag, env or the settings page). */
    private readonly policy: () => SessionPolicy,
    private readonly now: () => number,
    /** Stricter lengths for this person (their organizations' policy), or null; see orgs/session-policy.ts. */
    private readonly stricterFor: (userId: string) => SessionPolicy | null = () => null,
  ) {
    this.repo = authRepo(db);
  }

  /** The instance policy, tightened by the person's organizations; read on every request, so a role change applies at once. */
  policyFor(userId: string): SessionPolicy {
    const s = this.stricterFor(userId);
    const p = this.policy();
    return s ? { idleMs: Math.min(s.idleMs, p.idleMs), absoluteMs: Math.min(s.absoluteMs, p.absoluteMs) } : p;
  }

  create(userId: string, opts: { mfaPending: boolean; ip: string | null; userAgent: string | null; reauth?: boolean }): { token: string; session: SessionRow } {
    const id = randomToken(16);
    const secret = randomToken(32);
    const t = this.now();
    const policy = this.policyFor(userId);
    const absolute = t + (opts.mfaPending ? MFA_PENDING_MS : policy.absoluteMs);
    const session: SessionRow = {
      id,
      secret_hash: hashToken(secret),
      user_id: userId,
      mfa_pending: opts.mfaPending ? 1 : 0,
      csrf_token: randomToken(32),
      created_at: t,
      last_seen_at: t,
      expires_at: Math.min(t + policy.idleMs, absolute),
      absolute_expires_at: absolute,
      reauth_at: opts.reauth ? t : null,
      ip: opts.ip,
      user_agent: opts.userAgent ? opts.userAgent.slice(0, 300) : null,
    };
    this.repo.insertSession(session);
    if (!opts.mfaPending) {
      this.repo.trimUserSessions(userId, MAX_SESSIONS_PER_USER);
      this.repo.setLastSignIn(userId, new Date(t).toISOString());
    }
    return { token: `${id}.${secret}`, session };
  }

  validate(token: string | undefined, ip: string | null): ValidSession | null {
    if (!token) return null;
    const dot = token.indexOf('.');
    if (dot < 1 || token.length > 200) return null;
    const session = this.repo.sessionById(token.slice(0, dot));
    if (!session) return null;
    if (!constantTimeEqual(hashToken(token.slice(dot + 1)), session.secret_hash)) return null;
    const t = this.now();
    if (t >= session.expires_at || t >= session.absolute_expires_at) {
      this.repo.deleteSession(session.id);
      return null;
    }
    const user = this.repo.userById(session.user_id);
    if (!user || user.disabled_at) {
      if (user) this.repo.deleteUserSessions(user.id);
      return null;
    }
    // The stored expiry was set under the policy of its day; a stricter one now (a new role, an
    // organization's setting) applies from the next request.
    const policy = this.policyFor(user.id);
    const absolute = Math.min(session.absolute_expires_at, session.mfa_pending ? session.absolute_expires_at : session.created_at + policy.absoluteMs);
    if (t >= session.last_seen_at + policy.idleMs || t >= absolute) {
      this.repo.deleteSession(session.id);
      return null;
    }
    if (t - session.last_seen_at >= TOUCH_EVERY_MS) {
      session.last_seen_at = t;
      session.expires_at = Math.min(t + policy.idleMs, absolute);
      session.ip = ip;
      try {
        this.repo.touchSession(session.id, t, session.expires_at, ip);
      } catch (e) {
        // A refused write (read-only after a failed sync, full disk) only loses the sliding
        // expiry bump: the person can still read pages; anything that must write is refused there.
        const code = (e as { code?: unknown }).code;
        if (code !== 'SQLITE_READONLY' && code !== 'SQLITE_FULL') throw e;
      }
    }
    return { session, user };
  }

  invalidate(sessionId: string): void {
    this.repo.deleteSession(sessionId);
  }

  invalidateAll(userId: string): number {
    return this.repo.deleteUserSessions(userId);
  }

  /** Every session of every person but `keepId` (an admin's "sign everyone out"). */
  invalidateEveryoneExcept(keepId: string): number {
    return this.repo.deleteAllSessionsExcept(keepId);
  }

  invalidateOthers(userId: string, keepId: string): number {
    return this.repo.deleteUserSessionsExcept(userId, keepId);
  }

  /** Revokes one of the user's own sessions; false when it is not theirs. */
  revokeOwn(userId: string, sessionId: string): boolean {
    return this.repo.deleteUserSession(userId, sessionId);
  }

  list(userId: string): SessionRow[] {
    return this.repo.listUserSessions(userId);
  }

  purgeExpired(): number {
    return this.repo.deleteExpiredSessions(this.now());
  }
}

export const REAUTH_WINDOW_MS = 10 * 60 * 1000;

export function recentlyAuthenticated(session: SessionRow, now: number): boolean {
  return session.reauth_at !== null && now - session.reauth_at < REAUTH_WINDOW_MS;
}

import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { Mailer } from '../mail/service.ts';
import { type AuthRepo, type SessionRow, type UserRow, authRepo } from './repo.ts';
import type { Result } from './service.ts';
import type { SessionService } from './sessions.ts';
import type { Throttle } from './throttle.ts';

export interface UserAdminDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  sessions: SessionService;
  throttle: Throttle;
  mailer: Pick<Mailer, 'enqueue'>;
  now: () => number;
}

/** Why an admin resets someone's second factor: asked on the page, kept in the audit row (a code, never free text). */
export const RESET_2FA_REASONS = [
  ['lost-device', 'Lost or broken phone or authenticator'],
  ['new-device', 'New phone, old factor not moved'],
  ['compromise', 'Suspected compromise of the factor'],
  ['other', 'Other (verified the person another way)'],
] as const;
export type Reset2faReason = (typeof RESET_2FA_REASONS)[number][0];

/** What an admin may do to an account; the page shows only these buttons, the routes check the same rule. */
export interface AllowedActions {
  disable: boolean;
  signOut: boolean;
  reset2fa: boolean;
}

/** Instance administration of accounts: listing, disabling, signing out, unlocking. */
export class UserAdmin {
  private readonly repo: AuthRepo;
  constructor(private readonly d: UserAdminDeps) {
    this.repo = authRepo(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  /** Nobody acts on their own account here (their account page does that); only owners act on owners. */
  allowed(actor: UserRow, target: UserRow): AllowedActions {
    const ok = target.id !== actor.id && (target.instance_role !== 'owner' || actor.instance_role === 'owner');
    return { disable: ok, signOut: ok, reset2fa: ok && (target.totp_secret !== null || target.phone_verified_at !== null) };
  }

  /**
   * Removes every second factor (authenticator, phone, recovery codes) and ends the person's
   * sessions: at the next sign-in they set one up again. The person is told by email.
   */
  resetSecondFactor(actor: UserRow, userId: string, reason: Reset2faReason, ctx: AuditContext): Result<object, 'unknown' | 'forbidden' | 'none'> {
    const target = this.repo.userById(userId);
    if (!target) return { ok: false, error: 'unknown', message: 'No such account.' };
    const may = this.allowed(actor, target);
    if (!may.signOut) {
      this.d.audit.record(ctx, 'user.2fa_reset', { type: 'user', id: userId }, 'denied', { reason: target.id === actor.id ? 'self' : 'owner-target' });
      return { ok: false, error: 'forbidden', message: target.id === actor.id ? 'Change your own second factor on your account page.' : 'Only instance owners can reset an owner\u2019s second factor.' };
    }
    if (!may.reset2fa) return { ok: false, error: 'none', message: 'This account has no second factor to reset.' };
    return this.d.writer.tx(() => {
      this.repo.disableTotp(userId);
      this.repo.removePhone(userId);
      this.repo.deleteRecoveryCodes(userId);
      const sessions = this.d.sessions.invalidateAll(userId);
      this.d.mailer.enqueue({
        template: 'account.2fa_reset',
        to: target.email,
        subject: 'Your two-factor sign-in was reset',
        text: `Hello ${target.name},\n\nan administrator of this Tessera instance removed the second factor (authenticator app, phone and recovery codes) from your account and signed you out everywhere. When you next sign in with your password you will be asked to set up a second factor again.\n\nIf you did not ask for this, tell your administrator at once.\n`,
      });
      this.d.audit.record(ctx, 'user.2fa_reset', { type: 'user', id: userId }, 'success', { reason, sessions });
      return { ok: true as const };
    });
  }

  /** Disabling ends every session and API token at once; the next request is rejected. */
  setDisabled(actorUser: UserRow, userId: string, disabled: boolean, ctx: AuditContext, revokeTokens: (userId: string) => void): Result<object, 'self' | 'unknown' | 'last-owner'> {
    const target = this.repo.userById(userId);
    if (!target) return { ok: false, error: 'unknown', message: 'No such account.' };
    if (target.id === actorUser.id) return { ok: false, error: 'self', message: 'You cannot disable your own account.' };
    return this.d.writer.tx(() => {
      if (disabled && target.instance_role === 'owner' && this.repo.countActiveOwners() <= 1) {
        return { ok: false as const, error: 'last-owner' as const, message: 'The last instance owner cannot be disabled.' };
      }
      this.repo.setDisabled(userId, disabled ? this.iso() : null, disabled ? actorUser.id : null);
      if (disabled) {
        this.d.sessions.invalidateAll(userId);
        revokeTokens(userId);
      }
      this.d.audit.record(ctx, disabled ? 'user.disabled' : 'user.enabled', { type: 'user', id: userId });
      return { ok: true as const };
    });
  }

  /** An instance admin ends every session of one person; owners can be signed out only by owners. */
  signOutEverywhere(actorUser: UserRow, userId: string, ctx: AuditContext): Result<{ count: number }, 'unknown' | 'forbidden'> {
    const target = this.repo.userById(userId);
    if (!target) return { ok: false, error: 'unknown', message: 'No such account.' };
    if (target.instance_role === 'owner' && actorUser.instance_role !== 'owner') {
      this.d.audit.record(ctx, 'user.signed_out', { type: 'user', id: userId }, 'denied', { reason: 'owner-target' });
      return { ok: false, error: 'forbidden', message: 'Only instance owners can sign out an owner.' };
    }
    return this.d.writer.tx(() => {
      const count = this.d.sessions.invalidateAll(userId);
      this.d.audit.record(ctx, 'user.signed_out', { type: 'user', id: userId }, 'success', { count });
      return { ok: true as const, count };
    });
  }

  /** Ends every session on the instance but the caller's own (after a suspected compromise). */
  signOutEveryone(session: SessionRow, ctx: AuditContext): number {
    return this.d.writer.tx(() => {
      const count = this.d.sessions.invalidateEveryoneExcept(session.id);
      this.d.audit.record(ctx, 'auth.all_sessions_revoked', null, 'success', { count });
      return count;
    });
  }

  unlock(userId: string, ctx: AuditContext): void {
    this.d.writer.tx(() => {
      this.d.throttle.clearAccount(userId);
      this.d.audit.record(ctx, 'auth.unlocked', { type: 'user', id: userId });
    });
  }

  isLocked(userId: string): boolean {
    return this.d.throttle.accountLockedAnywhere(userId);
  }

  listUsers(limit = 200, offset = 0): UserRow[] {
    return this.repo.listUsers(limit, offset);
  }

  /** Accounts whose email or name contains the text; all of them (up to `limit`) for an empty search. */
  search(q: string, limit = 200): UserRow[] {
    const text = q.trim();
    return text === '' ? this.repo.listUsers(limit, 0) : this.repo.searchUsers(text, limit);
  }
}

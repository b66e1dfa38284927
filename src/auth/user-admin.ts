import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
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
  now: () => number;
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
}

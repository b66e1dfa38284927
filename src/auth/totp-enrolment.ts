import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import { generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.ts';
import { type AuthRepo, type SessionRow, authRepo } from './repo.ts';
import type { Result } from './service.ts';
import type { SessionService } from './sessions.ts';
import type { Throttle } from './throttle.ts';
import { generateTotpSecret, totpUri, verifyTotp } from './totp.ts';

export interface TotpEnrolmentDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  sessions: SessionService;
  throttle: Throttle;
  now: () => number;
  /** The instance name as configured now (settings page or flag). */
  instanceName: () => string;
}

/** An authenticator app as second factor: enrolment, recovery codes, removal and the CLI reset. */
export class TotpEnrolment {
  private readonly repo: AuthRepo;
  constructor(private readonly d: TotpEnrolmentDeps) {
    this.repo = authRepo(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  startTotp(userId: string): { secret: string; uri: string } {
    const user = this.repo.userById(userId);
    if (!user) throw new Error('no such user');
    // Reuse a pending secret so reloading the page does not invalidate the app already scanned.
    const secret = user.totp_pending_secret ?? generateTotpSecret();
    if (!user.totp_pending_secret) this.repo.setPendingTotp(userId, secret);
    return { secret, uri: totpUri({ secret, account: user.email, issuer: `Tessera ${this.d.instanceName()}`.trim() }) };
  }

  /** Confirms enrolment with a first valid code; returns fresh recovery codes and a new session. */
  confirmTotp(session: SessionRow, code: string, ctx: AuditContext): Result<{ codes: string[]; token: string }, 'invalid'> {
    const user = this.repo.userById(session.user_id);
    if (!user?.totp_pending_secret) return { ok: false, error: 'invalid', message: 'Start the set-up again: no pending authenticator was found.' };
    const r = verifyTotp(user.totp_pending_secret, code, { lastUsedStep: null, now: this.d.now() });
    const actor = { ...ctx, actor: { type: 'user' as const, id: user.id } };
    if (!r.ok) {
      this.d.audit.record(actor, 'auth.2fa_enrol', { type: 'user', id: user.id }, 'failure');
      return { ok: false, error: 'invalid', message: 'That code is not correct. Check the time on your phone and try the current code.' };
    }
    return this.d.writer.tx(() => {
      this.repo.enableTotp(user.id, this.iso(), r.step);
      const codes = this.replaceRecoveryCodes(user.id);
      // A 2FA change ends every other session and rotates this one.
      this.d.sessions.invalidateAll(user.id);
      const { token } = this.d.sessions.create(user.id, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record(actor, 'auth.2fa_enabled', { type: 'user', id: user.id });
      return { ok: true as const, codes, token };
    });
  }

  private replaceRecoveryCodes(userId: string): string[] {
    const codes = generateRecoveryCodes(10);
    this.repo.replaceRecoveryCodes(userId, codes.map((c) => ({ id: randomUUID(), hash: hashRecoveryCode(c) })), this.iso());
    return codes;
  }

  regenerateRecoveryCodes(userId: string, ctx: AuditContext): string[] {
    return this.d.writer.tx(() => {
      const codes = this.replaceRecoveryCodes(userId);
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: userId } }, 'auth.recovery_codes_regenerated', { type: 'user', id: userId });
      return codes;
    });
  }

  recoveryCodesLeft(userId: string): number {
    return this.repo.countRecoveryCodes(userId);
  }

  disableTotp(session: SessionRow, ctx: AuditContext): { token: string } {
    return this.d.writer.tx(() => {
      this.repo.disableTotp(session.user_id);
      this.repo.deleteRecoveryCodes(session.user_id);
      this.d.sessions.invalidateAll(session.user_id);
      const { token } = this.d.sessions.create(session.user_id, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: session.user_id } }, 'auth.2fa_disabled', { type: 'user', id: session.user_id });
      return { token };
    });
  }

  /** CLI recovery for a locked-out owner: removes the second factor and every session. */
  resetTwoFactorByEmail(email: string, ctx: AuditContext): Result<{ userId: string }, 'unknown'> {
    const user = this.repo.userByEmail(email.trim());
    if (!user) return { ok: false, error: 'unknown', message: `no account with that email address` };
    this.d.writer.tx(() => {
      this.repo.disableTotp(user.id);
      this.repo.deleteRecoveryCodes(user.id);
      this.d.sessions.invalidateAll(user.id);
      this.d.throttle.clearAccount(user.id);
      this.d.audit.record(ctx, 'auth.2fa_reset', { type: 'user', id: user.id }, 'success', { via: 'cli' });
    });
    return { ok: true, userId: user.id };
  }
}

import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { Mailer } from '../mail/service.ts';
import { renderMail } from '../mail/templates.ts';
import { BASE_CONTEXT_WORDS, checkPassword } from './password-policy.ts';
import { hashPassword } from './password.ts';
import { type AuthRepo, authRepo } from './repo.ts';
import { type SendLimits, type SendQuota, takeSendQuota } from './send-quota.ts';
import { type Result, emailKey } from './service.ts';
import type { SessionService } from './sessions.ts';
import type { Throttle } from './throttle.ts';
import { hashToken, randomToken } from './token.ts';

const RESET_MINUTES = 30;
const VERIFY_HOURS = 48;

export interface EmailLinksDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  sessions: SessionService;
  throttle: Throttle;
  mailer: Mailer;
  now: () => number;
  /** Absolute base URL for links in emails. */
  baseUrl: () => string;
  /** The instance name as configured now (settings page or flag). */
  instanceName: () => string;
  /** Names of the person's organizations: context words for passwords. */
  orgNamesOf: (userId: string) => string[];
  /** The instance's minimum password length as configured now. */
  passwordMinLength: () => number;
  /** Limits on reset/email-change mail, per recipient and per network. */
  quota: SendQuota;
  sendLimits: SendLimits;
}

/**
 * The emailed links: password reset, email verification and email change. Each link carries a
 * single-use token stored as a hash; the mail is sent through the outbox.
 */
export class EmailLinks {
  private readonly repo: AuthRepo;
  constructor(private readonly d: EmailLinksDeps) {
    this.repo = authRepo(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  /** "tessera", the instance name and the person's organizations (ASVS V6.2.11); the policy adds the email's local part. */
  private contextWords(userId: string): string[] {
    return [...BASE_CONTEXT_WORDS, this.d.instanceName(), ...this.d.orgNamesOf(userId)];
  }

  private takeQuota(channel: 'mail' | 'sms', recipientHash: string, ctx: AuditContext): Result<object, 'limited'> {
    return takeSendQuota(this.d.quota, this.d.sendLimits, channel, recipientHash, ctx);
  }

  /**
   * Always looks the same from outside; mails a link only when the account exists. The limits
   * count requests for unknown addresses too, so a refusal does not tell whether one exists.
   */
  requestPasswordReset(email: string, ctx: AuditContext): Result<object, 'limited'> {
    const user = this.repo.userByEmail(email.trim());
    return this.d.writer.tx(() => {
      const quota = this.takeQuota('mail', emailKey(email), ctx);
      if (!quota.ok) {
        this.d.audit.record({ ...ctx, actor: { type: 'user', id: user?.id ?? null } }, 'auth.password_reset_requested', user ? { type: 'user', id: user.id } : null, 'denied', { reason: 'send_limit', ...(user ? {} : { emailHash: emailKey(email) }) });
        return quota;
      }
      if (!user || user.disabled_at) {
        this.d.audit.record(ctx, 'auth.password_reset_requested', null, 'failure', { reason: user ? 'disabled' : 'unknown_email', emailHash: emailKey(email) });
        return { ok: true as const };
      }
      const token = this.issueEmailToken(user.id, 'password_reset', RESET_MINUTES * 60_000);
      this.d.mailer.enqueue({ to: user.email, ...renderMail('passwordReset', { name: user.name, link: `${this.d.baseUrl()}/password/reset?token=${token}`, minutes: RESET_MINUTES }) });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: user.id } }, 'auth.password_reset_requested', { type: 'user', id: user.id });
      return { ok: true as const };
    });
  }

  checkResetToken(token: string): boolean {
    return this.findEmailToken(token, 'password_reset') !== undefined;
  }

  /** Sets the new password and ends every session; the person then signs in with password + 2FA. */
  async resetPassword(token: string, password: string, ctx: AuditContext): Promise<Result<object, 'token' | 'password'>> {
    const row = this.findEmailToken(token, 'password_reset');
    const user = row && this.repo.userById(row.user_id);
    if (!row || !user) return { ok: false, error: 'token', message: 'This reset link is invalid, expired or already used. Ask for a new one.' };
    const pw = checkPassword(password, { ...user, contextWords: this.contextWords(user.id), minLength: this.d.passwordMinLength() });
    if (!pw.ok) return { ok: false, error: 'password', message: pw.message };
    const hash = await hashPassword(password);
    return this.d.writer.tx(() => {
      if (!this.repo.useEmailToken(row.id, this.d.now())) return { ok: false as const, error: 'token' as const, message: 'This reset link was already used. Ask for a new one.' };
      this.repo.setPassword(user.id, hash, this.iso());
      this.d.sessions.invalidateAll(user.id);
      this.d.throttle.clearAccount(user.id);
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: user.id } }, 'auth.password_reset', { type: 'user', id: user.id });
      return { ok: true as const };
    });
  }

  private issueEmailToken(userId: string, purpose: 'verify_email' | 'password_reset' | 'email_change', ttlMs: number, newEmail: string | null = null): string {
    const token = randomToken(32);
    const t = this.d.now();
    this.repo.retireEmailTokens(userId, purpose, t);
    this.repo.insertEmailToken({ id: randomUUID(), user_id: userId, purpose, token_hash: hashToken(token), new_email: newEmail, created_at: t, expires_at: t + ttlMs });
    return token;
  }

  private findEmailToken(token: string, purpose: 'verify_email' | 'password_reset' | 'email_change') {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const row = this.repo.emailTokenByHash(hashToken(token), purpose);
    if (!row || row.used_at !== null || row.expires_at <= this.d.now()) return undefined;
    return row;
  }

  sendVerification(userId: string): void {
    const user = this.repo.userById(userId);
    if (!user || user.email_verified_at) return;
    const token = this.issueEmailToken(user.id, 'verify_email', VERIFY_HOURS * 3600_000);
    this.d.mailer.enqueue({ to: user.email, ...renderMail('verifyEmail', { name: user.name, link: `${this.d.baseUrl()}/email/confirm?token=${token}` }) });
  }

  requestEmailChange(userId: string, newEmail: string, ctx: AuditContext): Result<object, 'taken' | 'limited'> {
    const user = this.repo.userById(userId);
    if (!user) return { ok: false, error: 'taken', message: 'No such account.' };
    const existing = this.repo.userByEmail(newEmail);
    if (existing && existing.id !== userId) return { ok: false, error: 'taken', message: 'Another account already uses that email address.' };
    return this.d.writer.tx(() => {
      const quota = this.takeQuota('mail', emailKey(newEmail), ctx);
      if (!quota.ok) {
        this.d.audit.record({ ...ctx, actor: { type: 'user', id: userId } }, 'auth.email_change_requested', { type: 'user', id: userId }, 'denied', { reason: 'send_limit' });
        return quota;
      }
      const token = this.issueEmailToken(userId, 'email_change', VERIFY_HOURS * 3600_000, newEmail.trim());
      this.d.mailer.enqueue({ to: newEmail.trim(), ...renderMail('verifyEmail', { name: user.name, link: `${this.d.baseUrl()}/email/confirm?change=1&token=${token}` }) });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: userId } }, 'auth.email_change_requested', { type: 'user', id: userId });
      return { ok: true as const };
    });
  }

  /** Whether a confirmation link is still usable (to show its button), without using it. */
  checkConfirmToken(token: string, change: boolean): boolean {
    return this.findEmailToken(token, change ? 'email_change' : 'verify_email') !== undefined;
  }

  confirmEmail(token: string, change: boolean, ctx: AuditContext): Result<{ userId: string }, 'token' | 'taken'> {
    const row = this.findEmailToken(token, change ? 'email_change' : 'verify_email');
    if (!row) return { ok: false, error: 'token', message: 'This confirmation link is invalid, expired or already used.' };
    return this.d.writer.tx(() => {
      if (!this.repo.useEmailToken(row.id, this.d.now())) return { ok: false as const, error: 'token' as const, message: 'This confirmation link was already used.' };
      const actor = { ...ctx, actor: { type: 'user' as const, id: row.user_id } };
      if (change && row.new_email) {
        const other = this.repo.userByEmail(row.new_email);
        if (other && other.id !== row.user_id) return { ok: false as const, error: 'taken' as const, message: 'Another account already uses that email address.' };
        this.repo.setEmail(row.user_id, row.new_email, this.iso());
        this.d.audit.record(actor, 'auth.email_changed', { type: 'user', id: row.user_id });
      } else {
        this.repo.setEmailVerified(row.user_id, this.iso());
        this.d.audit.record(actor, 'auth.email_verified', { type: 'user', id: row.user_id });
      }
      return { ok: true as const, userId: row.user_id };
    });
  }
}

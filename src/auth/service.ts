import { createHash, randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import { BASE_CONTEXT_WORDS, checkPassword } from './password-policy.ts';
import { burnPasswordTime, hashPassword, verifyPassword } from './password.ts';
import { hashRecoveryCode } from './recovery-codes.ts';
import { type AuthRepo, type UserRow, authRepo } from './repo.ts';
import { type SessionService, recentlyAuthenticated } from './sessions.ts';
import { type Throttle, type ThrottleRules, accountKey, accountRules, ipRules, lockKey, networkOf } from './throttle.ts';
import { verifyTotp } from './totp.ts';
import type { SessionRow } from './repo.ts';
import type { SetupService } from './setup.ts';
import type { Writer } from '../db/writer.ts';
import type { SecurityAlerts } from '../audit/alerts.ts';
import type { SmsCodes } from '../sms/service.ts';
import type { EmailLinks } from './email-links.ts';
import { smsLoginPurpose } from './phone.ts';

/** A second factor is set up when TOTP is on or a phone number is verified for SMS codes. */
export const hasSecondFactor = (u: Pick<UserRow, 'totp_secret' | 'phone_verified_at'>) => u.totp_secret !== null || u.phone_verified_at !== null;

export type Fail<E extends string> = { ok: false; error: E; message: string; retryAfterMs?: number };
export type Result<T, E extends string = string> = ({ ok: true } & T) | Fail<E>;

/** Login failures all read the same, whichever part was wrong (no account enumeration). */
const INVALID_LOGIN = 'The email address or password is not correct.';

export interface AuthDeps {
  db: DB;
  audit: AuditLog;
  sessions: SessionService;
  throttle: Throttle;
  setup: SetupService;
  smsCodes: SmsCodes;
  now: () => number;
  /** The instance name as configured now (settings page or flag). */
  instanceName: () => string;
  /** Names of the person's organizations: context words for passwords. */
  orgNamesOf: (userId: string) => string[];
  /** The minimum password length and the sign-in lock as configured now (settings page). */
  policy: () => { passwordMinLength: number; lockRules: ThrottleRules };
  writer: Writer;
  /** Mails the address-verification link (for the owner made at setup). */
  emailLinks: Pick<EmailLinks, 'sendVerification'>;
  /** Told inside the transaction that locked an account. */
  alerts: Pick<SecurityAlerts, 'accountLocked'>;
}

export const emailKey = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 24);

/**
 * Accounts, sign-in (password, second factor, re-authentication), passwords and own sessions.
 * Emailed links (`email-links.ts`), TOTP enrolment (`totp-enrolment.ts`), phones (`phone.ts`) and
 * user administration (`user-admin.ts`) have their own classes. Routes parse and
 * render; every rule, transaction and audit entry lives here.
 */
export class AuthService {
  private readonly repo: AuthRepo;
  constructor(private readonly d: AuthDeps) {
    this.repo = authRepo(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  /** "tessera", the instance name and the person's organizations (ASVS V6.2.11); the policy adds the email's local part. */
  private contextWords(userId: string | null): string[] {
    return [...BASE_CONTEXT_WORDS, this.d.instanceName(), ...(userId ? this.d.orgNamesOf(userId) : [])];
  }

  private ownerSeen = false;
  /** Setup stays open until the first owner exists; owners are never deleted, so remember it. */
  instanceHasOwner(): boolean {
    if (!this.ownerSeen) this.ownerSeen = this.repo.anyOwner();
    return this.ownerSeen;
  }

  /** A user by email address. */
  userByEmail(email: string): UserRow | undefined {
    return this.repo.userByEmail(email);
  }

  user(id: string): UserRow | undefined {
    return this.repo.userById(id);
  }

  // ---- setup and accounts -------------------------------------------------------------------

  async createOwner(setupToken: string, input: { email: string; name: string; password: string }, ctx: AuditContext): Promise<Result<{ userId: string; token: string }, 'token' | 'password' | 'exists'>> {
    const pw = checkPassword(input.password, { ...input, contextWords: this.contextWords(null), minLength: this.d.policy().passwordMinLength });
    if (!pw.ok) return { ok: false, error: 'password', message: pw.message };
    const hash = await hashPassword(input.password);
    return this.d.writer.tx(() => {
      if (this.repo.countActiveOwners() > 0) return { ok: false as const, error: 'exists' as const, message: 'This instance already has an owner.' };
      if (!this.d.setup.consume(setupToken)) return { ok: false as const, error: 'token' as const, message: 'This setup link is no longer valid. Restart the server for a new one.' };
      const userId = this.insertUser({ email: input.email, name: input.name, hash, instanceRole: 'owner', verified: false });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: userId } }, 'user.created', { type: 'user', id: userId }, 'success', { instanceRole: 'owner', via: 'setup' });
      this.d.emailLinks.sendVerification(userId);
      const { token } = this.d.sessions.create(userId, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: userId } }, 'auth.login', { type: 'user', id: userId }, 'success', { via: 'setup' });
      return { ok: true as const, userId, token };
    });
  }

  /** Inserts a user row; the caller holds the transaction. */
  insertUser(u: { email: string; name: string; hash: string; instanceRole: UserRow['instance_role']; verified: boolean }): string {
    const id = randomUUID();
    const at = this.iso();
    this.repo.insertUser({ id, email: u.email.trim(), name: u.name.trim(), password_hash: u.hash, instance_role: u.instanceRole, email_verified_at: u.verified ? at : null, password_changed_at: at, created_at: at });
    return id;
  }

  /**
   * A new account made from an emailed invitation: the address counts as verified because the
   * link reached it. The account, the membership (`join`) and the session commit together, so a
   * used or expired invitation never leaves an orphan account behind.
   */
  async registerInvited(
    input: { email: string; name: string; password: string },
    join: (user: UserRow) => Result<object>,
    ctx: AuditContext,
  ): Promise<Result<{ userId: string; token: string }, 'password' | 'exists' | 'invalid'>> {
    const pw = checkPassword(input.password, { ...input, contextWords: this.contextWords(null), minLength: this.d.policy().passwordMinLength });
    if (!pw.ok) return { ok: false, error: 'password', message: pw.message };
    const hash = await hashPassword(input.password);
    const rollback = new Error('invitation could not be accepted');
    let joinMessage = '';
    try {
      return this.d.writer.tx(() => {
        if (this.repo.userByEmail(input.email.trim())) {
          return { ok: false as const, error: 'exists' as const, message: 'An account with this email address already exists. Sign in to accept the invitation.' };
        }
        const userId = this.insertUser({ email: input.email, name: input.name, hash, instanceRole: null, verified: true });
        const actor = { ...ctx, actor: { type: 'user' as const, id: userId } };
        this.d.audit.record(actor, 'user.created', { type: 'user', id: userId }, 'success', { via: 'invitation' });
        const joined = join(this.repo.userById(userId)!);
        if (!joined.ok) {
          joinMessage = joined.message;
          throw rollback;
        }
        const { token } = this.d.sessions.create(userId, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
        this.d.audit.record(actor, 'auth.login', { type: 'user', id: userId }, 'success', { via: 'invitation' });
        return { ok: true as const, userId, token };
      });
    } catch (e) {
      if (e !== rollback) throw e;
      this.d.audit.record(ctx, 'user.created', null, 'failure', { via: 'invitation', reason: 'invitation_invalid' });
      return { ok: false, error: 'invalid', message: joinMessage };
    }
  }

  // ---- login ---------------------------------------------------------------------------------

  /** `current` is the session the browser already holds: a successful sign-in ends it. */
  async login(
    email: string,
    password: string,
    ctx: AuditContext,
    current: SessionRow | null = null,
  ): Promise<Result<{ token: string; userId: string; mfaPending: boolean }, 'invalid' | 'throttled' | 'locked' | 'disabled'>> {
    const user = this.repo.userByEmail(email.trim());
    // An unknown address gets keys of the same shape, so throttling does not tell it apart.
    const account = user ? accountKey(user.id) : accountKey(`email:${emailKey(email)}`);
    const lock = user ? lockKey(user.id, ctx.ip) : lockKey(`email:${emailKey(email)}`, ctx.ip);
    const ipKey = `ip:${ctx.ip ?? 'unknown'}`;
    const actor = { ...ctx, actor: { type: 'user' as const, id: user?.id ?? null } };
    for (const key of [ipKey, lock, account]) {
      const v = this.d.throttle.check(key);
      if (!v.allowed) {
        await burnPasswordTime(password);
        this.d.audit.record(actor, 'auth.login', user ? { type: 'user', id: user.id } : null, 'denied', { reason: v.locked ? 'locked' : 'throttled', scope: key.split(':')[0], ...(user ? {} : { emailHash: emailKey(email) }) });
        const wait = Math.ceil(v.retryAfterMs / 1000);
        return v.locked
          ? { ok: false, error: 'locked', message: `Too many failed attempts from your network: sign-in is locked here for ${Math.ceil(wait / 60)} minutes. An administrator can unlock it sooner.`, retryAfterMs: v.retryAfterMs }
          : { ok: false, error: 'throttled', message: `Too many failed attempts. Wait ${wait} seconds, then try again.`, retryAfterMs: v.retryAfterMs };
      }
    }
    if (!user) {
      await burnPasswordTime(password);
      this.d.writer.tx(() => {
        this.d.throttle.fail(account, accountRules);
        this.d.throttle.fail(lock, this.d.policy().lockRules);
        this.d.throttle.fail(ipKey, ipRules);
        this.d.audit.record(actor, 'auth.login', null, 'failure', { reason: 'unknown_email', emailHash: emailKey(email) });
      });
      return { ok: false, error: 'invalid', message: INVALID_LOGIN };
    }
    const check = await verifyPassword(password, user.password_hash);
    if (!check.ok) {
      this.d.writer.tx(() => {
        this.d.throttle.fail(account, accountRules);
        const locked = this.d.throttle.fail(lock, this.d.policy().lockRules);
        this.d.throttle.fail(ipKey, ipRules);
        this.d.audit.record(actor, 'auth.login', { type: 'user', id: user.id }, 'failure', { reason: 'bad_password', lockedNow: locked });
        // fail() reports the lock only on the attempt that sets it: one notice per lock.
        if (locked) this.d.alerts.accountLocked(user, networkOf(ctx.ip), ctx);
      });
      return { ok: false, error: 'invalid', message: INVALID_LOGIN };
    }
    // Only someone who knows the password learns that the account is disabled.
    if (user.disabled_at) {
      this.d.audit.record(actor, 'auth.login', { type: 'user', id: user.id }, 'denied', { reason: 'disabled' });
      return { ok: false, error: 'disabled', message: 'This account is disabled. Ask your administrator to enable it again.' };
    }
    const newHash = check.needsRehash ? await hashPassword(password) : undefined;
    return this.d.writer.tx(() => {
      if (newHash) this.repo.setPassword(user.id, newHash, user.password_changed_at);
      const mfaPending = hasSecondFactor(user);
      // Success on the password clears the account's back-off only when no second factor follows.
      if (!mfaPending) this.clearAttempts(user.id, ctx);
      if (current) this.d.sessions.invalidate(current.id);
      const { token } = this.d.sessions.create(user.id, { mfaPending, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: !mfaPending });
      this.d.audit.record(actor, mfaPending ? 'auth.password_ok' : 'auth.login', { type: 'user', id: user.id }, 'success', newHash ? { rehashed: true } : {});
      return { ok: true as const, token, userId: user.id, mfaPending };
    });
  }

  /**
   * Second step: a TOTP code or a recovery code. Success replaces the pending session with a new
   * one (new id: no fixation across the privilege change).
   */
  secondFactor(session: SessionRow, code: string, ctx: AuditContext): Result<{ token: string }, 'invalid' | 'throttled' | 'locked'> {
    const user = this.repo.userById(session.user_id);
    if (!user || !hasSecondFactor(user)) return { ok: false, error: 'invalid', message: 'Two-factor authentication is not set up for this account.' };
    const actor = { ...ctx, actor: { type: 'user' as const, id: user.id } };
    const v = this.checkAttempts(user.id, ctx);
    if (!v.allowed) {
      this.d.audit.record(actor, 'auth.2fa', { type: 'user', id: user.id }, 'denied', { reason: v.locked ? 'locked' : 'throttled' });
      return v.locked
        ? { ok: false, error: 'locked', message: 'Too many failed attempts: sign-in is locked for a while. An administrator can unlock it sooner.', retryAfterMs: v.retryAfterMs }
        : { ok: false, error: 'throttled', message: `Too many failed attempts. Wait ${Math.ceil(v.retryAfterMs / 1000)} seconds, then try again.`, retryAfterMs: v.retryAfterMs };
    }
    return this.d.writer.tx(() => {
      const method = this.checkSecondFactor(user, session, code);
      if (!method.ok) {
        this.failAttempt(user, ctx);
        this.d.audit.record(actor, 'auth.2fa', { type: 'user', id: user.id }, 'failure', { reason: method.reason });
        return { ok: false as const, error: 'invalid' as const, message: method.reason === 'replayed' ? 'That code was already used. Wait for the next code.' : 'That code is not correct.' };
      }
      this.clearAttempts(user.id, ctx);
      this.d.sessions.invalidate(session.id);
      const { token } = this.d.sessions.create(user.id, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record(actor, 'auth.login', { type: 'user', id: user.id }, 'success', { secondFactor: method.method });
      return { ok: true as const, token };
    });
  }

  /** Second factors and re-authentication share the sign-in keys: back-off per account, lock per account + network. */
  private checkAttempts(userId: string, ctx: AuditContext) {
    const lock = this.d.throttle.check(lockKey(userId, ctx.ip));
    return lock.allowed ? this.d.throttle.check(accountKey(userId)) : lock;
  }

  private failAttempt(user: UserRow, ctx: AuditContext): void {
    this.d.throttle.fail(accountKey(user.id), accountRules);
    if (this.d.throttle.fail(lockKey(user.id, ctx.ip), this.d.policy().lockRules)) this.d.alerts.accountLocked(user, networkOf(ctx.ip), ctx);
  }

  private clearAttempts(userId: string, ctx: AuditContext): void {
    this.d.throttle.clear(accountKey(userId));
    this.d.throttle.clear(lockKey(userId, ctx.ip));
  }

  /** Inside a transaction: consumes a TOTP step or a recovery code. */
  private checkSecondFactor(user: UserRow, session: SessionRow, code: string): { ok: true; method: 'totp' | 'recovery' | 'sms' } | { ok: false; reason: 'invalid' | 'replayed' } {
    if (!hasSecondFactor(user)) return { ok: false, reason: 'invalid' };
    const trimmed = code.trim();
    if (/^\d[\d ]{5,7}$/.test(trimmed)) {
      let totpResult: { ok: false; reason: 'invalid' | 'replayed' } = { ok: false, reason: 'invalid' };
      if (user.totp_secret) {
        const r = verifyTotp(user.totp_secret, trimmed, { lastUsedStep: user.totp_last_step, now: this.d.now() });
        // Compare-and-set: a concurrent request with the same code loses here.
        if (r.ok) return this.repo.useTotpStep(user.id, r.step) ? { ok: true, method: 'totp' } : { ok: false, reason: 'replayed' };
        totpResult = r;
      }
      if (user.phone_verified_at && this.d.smsCodes.verify(user.id, smsLoginPurpose(session), trimmed.replace(/\s/g, '')) === 'ok') return { ok: true, method: 'sms' };
      return totpResult;
    }
    if (trimmed.length >= 10 && trimmed.length <= 40 && this.repo.useRecoveryCode(user.id, hashRecoveryCode(trimmed), this.iso())) {
      return { ok: true, method: 'recovery' };
    }
    return { ok: false, reason: 'invalid' };
  }

  logout(session: SessionRow, ctx: AuditContext): void {
    this.d.writer.tx(() => {
      this.d.sessions.invalidate(session.id);
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: session.user_id } }, 'auth.logout', { type: 'session', id: session.id });
    });
  }

  // ---- re-authentication ----------------------------------------------------------------------

  isRecent(session: SessionRow): boolean {
    return recentlyAuthenticated(session, this.d.now());
  }

  /**
   * Password (+ code) again. Success replaces the session with a new id marked as recently
   * authenticated (ASVS V7.2.4): a token copied before the re-authentication stops working.
   */
  async reauthenticate(session: SessionRow, password: string, code: string, ctx: AuditContext): Promise<Result<{ token: string }, 'invalid' | 'throttled' | 'locked'>> {
    const user = this.repo.userById(session.user_id);
    if (!user) return { ok: false, error: 'invalid', message: INVALID_LOGIN };
    const actor = { ...ctx, actor: { type: 'user' as const, id: user.id } };
    const v = this.checkAttempts(user.id, ctx);
    if (!v.allowed) return { ok: false, error: v.locked ? 'locked' : 'throttled', message: `Too many failed attempts. Wait ${Math.ceil(v.retryAfterMs / 1000)} seconds, then try again.` };
    const pw = await verifyPassword(password, user.password_hash);
    return this.d.writer.tx(() => {
      const second = hasSecondFactor(user) ? this.checkSecondFactor(user, session, code) : ({ ok: true, method: 'totp' } as const);
      if (!pw.ok || !second.ok) {
        this.failAttempt(user, ctx);
        this.d.audit.record(actor, 'auth.reauth', { type: 'user', id: user.id }, 'failure', { reason: !pw.ok ? 'bad_password' : 'bad_code' });
        return { ok: false as const, error: 'invalid' as const, message: hasSecondFactor(user) ? 'The password or the code is not correct.' : 'The password is not correct.' };
      }
      this.clearAttempts(user.id, ctx);
      this.d.sessions.invalidate(session.id);
      const { token } = this.d.sessions.create(user.id, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record(actor, 'auth.reauth', { type: 'user', id: user.id });
      return { ok: true as const, token };
    });
  }

  // ---- passwords --------------------------------------------------------------------------------

  async changePassword(session: SessionRow, current: string, next: string, ctx: AuditContext): Promise<Result<{ token: string }, 'invalid' | 'password'>> {
    const user = this.repo.userById(session.user_id);
    if (!user) return { ok: false, error: 'invalid', message: 'No such account.' };
    if (!(await verifyPassword(current, user.password_hash)).ok) {
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: user.id } }, 'auth.password_changed', { type: 'user', id: user.id }, 'failure', { reason: 'bad_current_password' });
      return { ok: false, error: 'invalid', message: 'Your current password is not correct.' };
    }
    const pw = checkPassword(next, { ...user, contextWords: this.contextWords(user.id), minLength: this.d.policy().passwordMinLength });
    if (!pw.ok) return { ok: false, error: 'password', message: pw.message };
    const hash = await hashPassword(next);
    return this.d.writer.tx(() => {
      this.repo.setPassword(user.id, hash, this.iso());
      this.d.sessions.invalidateAll(user.id);
      const { token } = this.d.sessions.create(user.id, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: user.id } }, 'auth.password_changed', { type: 'user', id: user.id });
      return { ok: true as const, token };
    });
  }

  // ---- sessions --------------------------------------------------------------------------------------

  revokeSession(userId: string, sessionId: string, ctx: AuditContext): boolean {
    return this.d.writer.tx(() => {
      const ok = this.d.sessions.revokeOwn(userId, sessionId);
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: userId } }, 'auth.session_revoked', { type: 'session', id: sessionId }, ok ? 'success' : 'failure');
      return ok;
    });
  }

  revokeOtherSessions(session: SessionRow, ctx: AuditContext): number {
    return this.d.writer.tx(() => {
      const n = this.d.sessions.invalidateOthers(session.user_id, session.id);
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: session.user_id } }, 'auth.sessions_revoked', { type: 'user', id: session.user_id }, 'success', { count: n });
      return n;
    });
  }

}

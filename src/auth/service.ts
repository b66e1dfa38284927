import { createHash, randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Mailer } from '../mail/service.ts';
import { renderMail } from '../mail/templates.ts';
import { BASE_CONTEXT_WORDS, checkPassword } from './password-policy.ts';
import { burnPasswordTime, hashPassword, verifyPassword } from './password.ts';
import { generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.ts';
import { type AuthRepo, type UserRow, authRepo } from './repo.ts';
import { type SessionService, recentlyAuthenticated } from './sessions.ts';
import { type QuotaRule, type SendLimits, type SendQuota, waitInWords } from './send-quota.ts';
import { type Throttle, accountKey, accountRules, ipRules, lockKey, lockRules, networkOf } from './throttle.ts';
import { hashToken, randomToken } from './token.ts';
import { generateTotpSecret, totpUri, verifyTotp } from './totp.ts';
import type { SessionRow } from './repo.ts';
import type { SetupService } from './setup.ts';
import type { Writer } from '../db/writer.ts';
import type { SecurityAlerts } from '../audit/alerts.ts';
import type { SmsCodes, SmsOutbox } from '../sms/service.ts';
import { normalizePhone } from '../sms/phone.ts';

/** A second factor is set up when TOTP is on or a phone number is verified for SMS codes. */
export const hasSecondFactor = (u: Pick<UserRow, 'totp_secret' | 'phone_verified_at'>) => u.totp_secret !== null || u.phone_verified_at !== null;

/** SMS sends are rate-limited per account (each send counts), against cost and SMS pumping. */
const smsSendRules = { freeFailures: 2, baseDelayMs: 30_000, maxDelayMs: 10 * 60_000, lockAfter: 10, lockMs: 60 * 60_000 };

export type Fail<E extends string> = { ok: false; error: E; message: string; retryAfterMs?: number };
export type Result<T, E extends string = string> = ({ ok: true } & T) | Fail<E>;

const RESET_MINUTES = 30;
const VERIFY_HOURS = 48;

/** Login failures all read the same, whichever part was wrong (no account enumeration). */
const INVALID_LOGIN = 'The email address or password is not correct.';

export interface AuthDeps {
  db: DB;
  audit: AuditLog;
  sessions: SessionService;
  throttle: Throttle;
  mailer: Mailer;
  setup: SetupService;
  sms: SmsOutbox;
  smsCodes: SmsCodes;
  now: () => number;
  /** Absolute base URL for links in emails. */
  baseUrl: () => string;
  instanceName: string;
  /** Names of the person's organizations: context words for passwords. */
  orgNamesOf: (userId: string) => string[];
  writer: Writer;
  /** Limits on reset/email-change mail and SMS codes, per recipient and per network. */
  quota: SendQuota;
  sendLimits: SendLimits;
  /** Told inside the transaction that locked an account. */
  alerts: Pick<SecurityAlerts, 'accountLocked'>;
}

/**
 * A sign-in code by SMS is bound to the session that asked for it (ASVS V6.6.2): the purpose
 * names that session, so another pending sign-in of the same account cannot use it.
 */
const smsLoginPurpose = (session: SessionRow) => `login_${createHash('sha256').update(session.id).digest('hex').slice(0, 24)}`;

export const emailKey = (email: string) => createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 24);

/**
 * Accounts, passwords, second factors and emailed links. Routes parse and render; every rule,
 * transaction and audit entry lives here.
 */
export class AuthService {
  private readonly repo: AuthRepo;
  constructor(private readonly d: AuthDeps) {
    this.repo = authRepo(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  private tx<T>(fn: () => T): T {
    return this.d.writer.tx(fn);
  }

  /** "tessera", the instance name and the person's organizations (ASVS V6.2.11); the policy adds the email's local part. */
  private contextWords(userId: string | null): string[] {
    return [...BASE_CONTEXT_WORDS, this.d.instanceName, ...(userId ? this.d.orgNamesOf(userId) : [])];
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
    const pw = checkPassword(input.password, { ...input, contextWords: this.contextWords(null) });
    if (!pw.ok) return { ok: false, error: 'password', message: pw.message };
    const hash = await hashPassword(input.password);
    return this.tx(() => {
      if (this.repo.countActiveOwners() > 0) return { ok: false as const, error: 'exists' as const, message: 'This instance already has an owner.' };
      if (!this.d.setup.consume(setupToken)) return { ok: false as const, error: 'token' as const, message: 'This setup link is no longer valid. Restart the server for a new one.' };
      const userId = this.insertUser({ email: input.email, name: input.name, hash, instanceRole: 'owner', verified: false });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: userId } }, 'user.created', { type: 'user', id: userId }, 'success', { instanceRole: 'owner', via: 'setup' });
      this.sendVerification(userId);
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
    const pw = checkPassword(input.password, { ...input, contextWords: this.contextWords(null) });
    if (!pw.ok) return { ok: false, error: 'password', message: pw.message };
    const hash = await hashPassword(input.password);
    const rollback = new Error('invitation could not be accepted');
    let joinMessage = '';
    try {
      return this.tx(() => {
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
      this.tx(() => {
        this.d.throttle.fail(account, accountRules);
        this.d.throttle.fail(lock, lockRules);
        this.d.throttle.fail(ipKey, ipRules);
        this.d.audit.record(actor, 'auth.login', null, 'failure', { reason: 'unknown_email', emailHash: emailKey(email) });
      });
      return { ok: false, error: 'invalid', message: INVALID_LOGIN };
    }
    const check = await verifyPassword(password, user.password_hash);
    if (!check.ok) {
      this.tx(() => {
        this.d.throttle.fail(account, accountRules);
        const locked = this.d.throttle.fail(lock, lockRules);
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
    return this.tx(() => {
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
    return this.tx(() => {
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
    if (this.d.throttle.fail(lockKey(user.id, ctx.ip), lockRules)) this.d.alerts.accountLocked(user, networkOf(ctx.ip), ctx);
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
    this.tx(() => {
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
    return this.tx(() => {
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

  // ---- TOTP enrolment and recovery codes ------------------------------------------------------

  startTotp(userId: string): { secret: string; uri: string } {
    const user = this.repo.userById(userId);
    if (!user) throw new Error('no such user');
    // Reuse a pending secret so reloading the page does not invalidate the app already scanned.
    const secret = user.totp_pending_secret ?? generateTotpSecret();
    if (!user.totp_pending_secret) this.repo.setPendingTotp(userId, secret);
    return { secret, uri: totpUri({ secret, account: user.email, issuer: `Tessera ${this.d.instanceName}`.trim() }) };
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
    return this.tx(() => {
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
    return this.tx(() => {
      const codes = this.replaceRecoveryCodes(userId);
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: userId } }, 'auth.recovery_codes_regenerated', { type: 'user', id: userId });
      return codes;
    });
  }

  recoveryCodesLeft(userId: string): number {
    return this.repo.countRecoveryCodes(userId);
  }

  disableTotp(session: SessionRow, ctx: AuditContext): { token: string } {
    return this.tx(() => {
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
    this.tx(() => {
      this.repo.disableTotp(user.id);
      this.repo.deleteRecoveryCodes(user.id);
      this.d.sessions.invalidateAll(user.id);
      this.d.throttle.clearAccount(user.id);
      this.d.audit.record(ctx, 'auth.2fa_reset', { type: 'user', id: user.id }, 'success', { via: 'cli' });
    });
    return { ok: true, userId: user.id };
  }

  // ---- SMS as a second factor --------------------------------------------------------------------

  /** `codePurpose` binds the code: the pending sign-in's own purpose for sign-in codes, `enrol_code` for enrolment. */
  private sendSmsCode(user: UserRow, to: string, purpose: 'login_code' | 'enrol_code', codePurpose: string, ctx: AuditContext): Result<object, 'throttled' | 'limited'> {
    const key = `sms:${user.id}`;
    const v = this.d.throttle.check(key);
    if (!v.allowed) return { ok: false, error: 'throttled', message: `A code was sent recently. Wait ${Math.ceil(v.retryAfterMs / 1000)} seconds before asking for another.`, retryAfterMs: v.retryAfterMs };
    return this.tx(() => {
      // Per number as well as per account: many accounts must not be able to bomb one phone.
      const quota = this.takeQuota('sms', createHash('sha256').update(to).digest('hex').slice(0, 24), ctx);
      if (!quota.ok) {
        this.d.audit.record({ ...ctx, actor: { type: 'user', id: user.id } }, 'auth.sms_code_sent', { type: 'user', id: user.id }, 'denied', { purpose, reason: 'send_limit' });
        return quota;
      }
      this.d.throttle.fail(key, smsSendRules);
      const code = this.d.smsCodes.issue(user.id, codePurpose);
      const name = this.d.instanceName ? `Tessera ${this.d.instanceName}` : 'Tessera';
      this.d.sms.enqueue({ userId: user.id, purpose, to, body: `${code} is your ${name} ${purpose === 'login_code' ? 'sign-in' : 'verification'} code. It expires in 5 minutes. Never share it.` });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: user.id } }, 'auth.sms_code_sent', { type: 'user', id: user.id }, 'success', { purpose });
      return { ok: true as const };
    });
  }

  /** On the 2FA page: text a sign-in code to the verified phone. */
  sendLoginSms(session: SessionRow, ctx: AuditContext): Result<object, 'throttled' | 'limited' | 'no-phone'> {
    const user = this.repo.userById(session.user_id);
    if (!user?.phone || !user.phone_verified_at) return { ok: false, error: 'no-phone', message: 'No verified phone number is set up for this account.' };
    return this.sendSmsCode(user, user.phone, 'login_code', smsLoginPurpose(session), ctx);
  }

  /** Step 1 of phone enrolment: remember the number and text it a code. */
  startPhoneEnrolment(userId: string, input: string, ctx: AuditContext): Result<object, 'phone' | 'throttled' | 'limited'> {
    const phone = normalizePhone(input);
    if (!phone) return { ok: false, error: 'phone', message: 'Enter the number in international format, starting with + and the country code, e.g. +41 44 668 18 00.' };
    const user = this.repo.userById(userId);
    if (!user) return { ok: false, error: 'phone', message: 'No such account.' };
    this.repo.setPhonePending(userId, phone);
    return this.sendSmsCode({ ...user, phone_pending: phone }, phone, 'enrol_code', 'enrol_code', ctx);
  }

  /** Step 2: the code proves the person receives SMS there; a 2FA change rotates the session. */
  confirmPhone(session: SessionRow, code: string, ctx: AuditContext): Result<{ token: string }, 'invalid'> {
    const user = this.repo.userById(session.user_id);
    if (!user?.phone_pending) return { ok: false, error: 'invalid', message: 'Start again: no phone number is waiting for confirmation.' };
    const verdict = this.d.smsCodes.verify(user.id, 'enrol_code', code.replace(/\s/g, ''));
    const actor = { ...ctx, actor: { type: 'user' as const, id: user.id } };
    if (verdict !== 'ok') {
      this.d.audit.record(actor, 'auth.sms_enrol', { type: 'user', id: user.id }, 'failure', { reason: verdict });
      const msg = { invalid: 'That code is not correct.', expired: 'That code has expired. Ask for a new one.', 'too-many': 'Too many wrong codes. Ask for a new one.' }[verdict];
      return { ok: false, error: 'invalid', message: msg };
    }
    return this.tx(() => {
      this.repo.confirmPhone(user.id, this.iso());
      this.d.sessions.invalidateAll(user.id);
      const { token } = this.d.sessions.create(user.id, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record(actor, 'auth.sms_enabled', { type: 'user', id: user.id });
      return { ok: true as const, token };
    });
  }

  removePhone(session: SessionRow, ctx: AuditContext): { token: string } {
    return this.tx(() => {
      this.repo.removePhone(session.user_id);
      this.d.sessions.invalidateAll(session.user_id);
      const { token } = this.d.sessions.create(session.user_id, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: session.user_id } }, 'auth.sms_disabled', { type: 'user', id: session.user_id });
      return { token };
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
    const pw = checkPassword(next, { ...user, contextWords: this.contextWords(user.id) });
    if (!pw.ok) return { ok: false, error: 'password', message: pw.message };
    const hash = await hashPassword(next);
    return this.tx(() => {
      this.repo.setPassword(user.id, hash, this.iso());
      this.d.sessions.invalidateAll(user.id);
      const { token } = this.d.sessions.create(user.id, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: user.id } }, 'auth.password_changed', { type: 'user', id: user.id });
      return { ok: true as const, token };
    });
  }

  /**
   * Always looks the same from outside; mails a link only when the account exists. The limits
   * count requests for unknown addresses too, so a refusal does not tell whether one exists.
   */
  requestPasswordReset(email: string, ctx: AuditContext): Result<object, 'limited'> {
    const user = this.repo.userByEmail(email.trim());
    return this.tx(() => {
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

  /** Inside the sending transaction: one more message to `recipientHash` from the caller's network, or the human answer. */
  private takeQuota(channel: 'mail' | 'sms', recipientHash: string, ctx: AuditContext): Result<object, 'limited'> {
    const l = this.d.sendLimits;
    const rules: QuotaRule[] = [
      { key: `quota:${channel}:${recipientHash}:15m`, limit: l.per15Min, windowMs: 15 * 60_000, scope: 'recipient' },
      { key: `quota:${channel}:${recipientHash}:1d`, limit: l.perDay, windowMs: 24 * 3_600_000, scope: 'recipient' },
      { key: `quota:net:${networkOf(ctx.ip)}:1h`, limit: l.perNetworkHour, windowMs: 3_600_000, scope: 'network' },
    ];
    const v = this.d.quota.take(rules);
    if (v.ok) return { ok: true };
    const wait = waitInWords(v.retryAfterMs);
    const message =
      v.scope === 'network'
        ? `Many messages were requested from your network recently; wait ${wait} before asking again.`
        : channel === 'mail'
          ? `We've sent several emails to this address recently; wait ${wait} before asking again. Check your spam folder too.`
          : `We've sent several codes to this number recently; wait ${wait} before asking again.`;
    return { ok: false, error: 'limited', message, retryAfterMs: v.retryAfterMs };
  }

  checkResetToken(token: string): boolean {
    return this.findEmailToken(token, 'password_reset') !== undefined;
  }

  /** Sets the new password and ends every session; the person then signs in with password + 2FA. */
  async resetPassword(token: string, password: string, ctx: AuditContext): Promise<Result<object, 'token' | 'password'>> {
    const row = this.findEmailToken(token, 'password_reset');
    const user = row && this.repo.userById(row.user_id);
    if (!row || !user) return { ok: false, error: 'token', message: 'This reset link is invalid, expired or already used. Ask for a new one.' };
    const pw = checkPassword(password, { ...user, contextWords: this.contextWords(user.id) });
    if (!pw.ok) return { ok: false, error: 'password', message: pw.message };
    const hash = await hashPassword(password);
    return this.tx(() => {
      if (!this.repo.useEmailToken(row.id, this.d.now())) return { ok: false as const, error: 'token' as const, message: 'This reset link was already used. Ask for a new one.' };
      this.repo.setPassword(user.id, hash, this.iso());
      this.d.sessions.invalidateAll(user.id);
      this.d.throttle.clearAccount(user.id);
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: user.id } }, 'auth.password_reset', { type: 'user', id: user.id });
      return { ok: true as const };
    });
  }

  // ---- email verification and change --------------------------------------------------------------

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
    return this.tx(() => {
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
    return this.tx(() => {
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

  // ---- sessions --------------------------------------------------------------------------------------

  revokeSession(userId: string, sessionId: string, ctx: AuditContext): boolean {
    return this.tx(() => {
      const ok = this.d.sessions.revokeOwn(userId, sessionId);
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: userId } }, 'auth.session_revoked', { type: 'session', id: sessionId }, ok ? 'success' : 'failure');
      return ok;
    });
  }

  revokeOtherSessions(session: SessionRow, ctx: AuditContext): number {
    return this.tx(() => {
      const n = this.d.sessions.invalidateOthers(session.user_id, session.id);
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: session.user_id } }, 'auth.sessions_revoked', { type: 'user', id: session.user_id }, 'success', { count: n });
      return n;
    });
  }

  // ---- instance administration -------------------------------------------------------------------------

  /** Disabling ends every session and API token at once; the next request is rejected. */
  setDisabled(actorUser: UserRow, userId: string, disabled: boolean, ctx: AuditContext, revokeTokens: (userId: string) => void): Result<object, 'self' | 'unknown' | 'last-owner'> {
    const target = this.repo.userById(userId);
    if (!target) return { ok: false, error: 'unknown', message: 'No such account.' };
    if (target.id === actorUser.id) return { ok: false, error: 'self', message: 'You cannot disable your own account.' };
    return this.tx(() => {
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
    return this.tx(() => {
      const count = this.d.sessions.invalidateAll(userId);
      this.d.audit.record(ctx, 'user.signed_out', { type: 'user', id: userId }, 'success', { count });
      return { ok: true as const, count };
    });
  }

  /** Ends every session on the instance but the caller's own (after a suspected compromise). */
  signOutEveryone(session: SessionRow, ctx: AuditContext): number {
    return this.tx(() => {
      const count = this.d.sessions.invalidateEveryoneExcept(session.id);
      this.d.audit.record(ctx, 'auth.all_sessions_revoked', null, 'success', { count });
      return count;
    });
  }

  unlock(userId: string, ctx: AuditContext): void {
    this.tx(() => {
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

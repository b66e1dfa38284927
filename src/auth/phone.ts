import { createHash } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import { normalizePhone } from '../sms/phone.ts';
import type { SmsCodes, SmsOutbox } from '../sms/service.ts';
import { type AuthRepo, type SessionRow, type UserRow, authRepo } from './repo.ts';
import { type SendLimits, type SendQuota, takeSendQuota } from './send-quota.ts';
import type { Result } from './service.ts';
import type { SessionService } from './sessions.ts';
import type { Throttle } from './throttle.ts';

/** SMS sends are rate-limited per account (each send counts), against cost and SMS pumping. */
const smsSendRules = { freeFailures: 2, baseDelayMs: 30_000, maxDelayMs: 10 * 60_000, lockAfter: 10, lockMs: 60 * 60_000 };

/**
 * A sign-in code by SMS is bound to the session that asked for it (ASVS V6.6.2): the purpose
 * names that session, so another pending sign-in of the same account cannot use it.
 */
export const smsLoginPurpose = (session: SessionRow) => `login_${createHash('sha256').update(session.id).digest('hex').slice(0, 24)}`;

export interface PhoneDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  sessions: SessionService;
  throttle: Throttle;
  sms: SmsOutbox;
  smsCodes: SmsCodes;
  now: () => number;
  /** The instance name as configured now (settings page or flag). */
  instanceName: () => string;
  /** Limits on SMS codes, per number and per network. */
  quota: SendQuota;
  sendLimits: SendLimits;
}

/** A phone number as a second factor: enrolment, removal and sign-in codes by SMS. */
export class PhoneService {
  private readonly repo: AuthRepo;
  constructor(private readonly d: PhoneDeps) {
    this.repo = authRepo(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  private takeQuota(channel: 'mail' | 'sms', recipientHash: string, ctx: AuditContext): Result<object, 'limited'> {
    return takeSendQuota(this.d.quota, this.d.sendLimits, channel, recipientHash, ctx);
  }

  /** `codePurpose` binds the code: the pending sign-in's own purpose for sign-in codes, `enrol_code` for enrolment. */
  private sendSmsCode(user: UserRow, to: string, purpose: 'login_code' | 'enrol_code', codePurpose: string, ctx: AuditContext): Result<object, 'throttled' | 'limited'> {
    const key = `sms:${user.id}`;
    const v = this.d.throttle.check(key);
    if (!v.allowed) return { ok: false, error: 'throttled', message: `A code was sent recently. Wait ${Math.ceil(v.retryAfterMs / 1000)} seconds before asking for another.`, retryAfterMs: v.retryAfterMs };
    return this.d.writer.tx(() => {
      // Per number as well as per account: many accounts must not be able to bomb one phone.
      const quota = this.takeQuota('sms', createHash('sha256').update(to).digest('hex').slice(0, 24), ctx);
      if (!quota.ok) {
        this.d.audit.record({ ...ctx, actor: { type: 'user', id: user.id } }, 'auth.sms_code_sent', { type: 'user', id: user.id }, 'denied', { purpose, reason: 'send_limit' });
        return quota;
      }
      this.d.throttle.fail(key, smsSendRules);
      const code = this.d.smsCodes.issue(user.id, codePurpose);
      const name = this.d.instanceName() ? `Tessera ${this.d.instanceName()}` : 'Tessera';
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
    return this.d.writer.tx(() => {
      this.repo.confirmPhone(user.id, this.iso());
      this.d.sessions.invalidateAll(user.id);
      const { token } = this.d.sessions.create(user.id, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record(actor, 'auth.sms_enabled', { type: 'user', id: user.id });
      return { ok: true as const, token };
    });
  }

  removePhone(session: SessionRow, ctx: AuditContext): { token: string } {
    return this.d.writer.tx(() => {
      this.repo.removePhone(session.user_id);
      this.d.sessions.invalidateAll(session.user_id);
      const { token } = this.d.sessions.create(session.user_id, { mfaPending: false, ip: ctx.ip ?? null, userAgent: ctx.userAgent ?? null, reauth: true });
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: session.user_id } }, 'auth.sms_disabled', { type: 'user', id: session.user_id });
      return { token };
    });
  }
}

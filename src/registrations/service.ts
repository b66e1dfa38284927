import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { Result } from '../auth/service.ts';
import { randomCode } from '../db/ids.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import { type Answers, type CompiledForm, type ParsedRegistration, compileForm, parseAnswers } from '../events/fields.ts';
import { ReadCache } from '../events/read-cache.ts';
import type { EventRow, FieldRow } from '../events/repo.ts';
import { type Limit, type RateLimiter, waitText } from '../http/rate-limit.ts';
import type { MailAttachment, Mailer } from '../mail/service.ts';
import type { TemplateName } from '../mail/templates.ts';
import type { AttendeeLinks } from './links.ts';
import { type AttendeeFilter, type RegistrationRow, registrationsRepo } from './repo.ts';

/** The status mail each registration status gets. */
const STATUS_TEMPLATES = {
  confirmed: 'registrationConfirmed',
  waitlisted: 'registrationWaitlisted',
  pending: 'registrationPending',
  cancelled: 'registrationCancelled',
} as const satisfies Record<RegistrationRow['status'], TemplateName>;

/** 32 characters without look-alikes (no I, O, 0, 1): 8 of them are 40 random bits. */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 8;

export interface RegistrationDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  mailer: Pick<Mailer, 'enqueueForRegistration' | 'enqueueTemplate'>;
  links: AttendeeLinks;
  now: () => number;
  /** the event as it is now, and its form (the events capability) */
  events: { eventById(orgId: string, eventId: string): EventRow | undefined; fieldsOf(orgId: string, eventId: string): FieldRow[] };
  /** in-memory abuse counters shared with the other public forms */
  limiter: RateLimiter;
  limits: RegistrationLimits;
  /** stores the privacy notice version the attendee was shown (the privacy capability) */
  notices: { current(e: EventRow): { id: string; body: string }; record(e: EventRow, shown: { id: string; body: string }): string };
}

/**
 * Abuse limits on public registration. The per-network one is generous (a campus behind one NAT
 * registers together in an opening rush); the per-address ones protect inboxes, because every
 * registration sends a mail to the address typed in.
 */
export interface RegistrationLimits {
  /** per network (IPv4 address, IPv6 /64) per event */
  network: Limit;
  /** the same address for the same event */
  addressEvent: Limit;
  /** the same address across all events (the mails it receives) */
  address: Limit;
}

export function registrationLimits(cfg: { registrationLimitNetwork: number; registrationLimitAddressEvent: number; registrationLimitAddressHour: number }): RegistrationLimits {
  return {
    network: { max: cfg.registrationLimitNetwork, windowMs: 10 * 60_000 },
    addressEvent: { max: cfg.registrationLimitAddressEvent, windowMs: 24 * 3_600_000 },
    address: { max: cfg.registrationLimitAddressHour, windowMs: 3_600_000 },
  };
}

export type RegisterError = 'closed' | 'not-open' | 'full' | 'duplicate' | 'invalid' | 'throttled';
export type RegisterFailure = { ok: false; error: RegisterError; message: string; errors?: Record<string, string>; retryAfterMs?: number };
/**
 * `duplicate`: the address was already registered and the event does not show tickets on the
 * page: the answer must look like a new registration (the existing one got its link by mail).
 */
export type RegisterResult = { ok: true; reg: RegistrationRow; duplicate?: true } | RegisterFailure;
/** A registration whose person was gone by the time the writer reached it: nothing was written. */
export type Abandoned = { ok: false; error: 'abandoned' };
const ABANDONED: Abandoned = { ok: false, error: 'abandoned' };

/**
 * Registering, the waiting list and what the attendee does with their link. Capacity is decided
 * inside one write transaction, so concurrent registrations can never oversell; freed seats go
 * to the waiting list in order. The organizer's side (list, message, export, check-in) is in
 * attendees.ts.
 */
export class RegistrationService {
  private readonly repo;
  private readonly confirmedCache;
  private readonly forms = new Map<string, CompiledForm>();

  constructor(private readonly d: RegistrationDeps) {
    this.repo = registrationsRepo(d.db);
    this.confirmedCache = new ReadCache<number>(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  private attendeeCtx(ctx: AuditContext, reg: Pick<RegistrationRow, 'id' | 'org_id'>): AuditContext {
    return { ...ctx, actor: { type: 'attendee', id: reg.id }, orgId: reg.org_id };
  }

  registrationOpen(e: EventRow): { ok: true } | { ok: false; error: 'closed' | 'not-open'; message: string } {
    const t = this.d.now();
    if (e.status !== 'published' || (e.registration_closes_at && Date.parse(e.registration_closes_at) <= t)) return { ok: false, error: 'closed', message: 'Registration for this event is closed.' };
    if (e.registration_opens_at && Date.parse(e.registration_opens_at) > t) return { ok: false, error: 'not-open', message: `Registration opens ${new Date(e.registration_opens_at).toUTCString()}.` };
    return { ok: true };
  }

  /** A fresh random attendee code, unique within the event (call inside the write transaction). */
  private newCode(e: EventRow): string {
    for (;;) {
      const code = randomCode(CODE_ALPHABET, CODE_LENGTH);
      if (!this.repo.codeTaken(e.org_id, e.id, code)) return code;
    }
  }

  /** Whether a seat is free right now (call inside the write transaction). */
  private seatFree(e: EventRow): boolean {
    return e.capacity === null || this.repo.seats(e.org_id, e.id).confirmed < e.capacity;
  }

  /** The event's form, compiled once per version (form changes bump the event's updated_at). */
  private form(e: EventRow): CompiledForm {
    const key = `${e.id}|${e.updated_at}`;
    let f = this.forms.get(key);
    if (!f) {
      if (this.forms.size > 200) this.forms.clear();
      f = compileForm(this.d.events.fieldsOf(e.org_id, e.id));
      this.forms.set(key, f);
    }
    return f;
  }

  /** Validation outside the transaction: only a well-formed submission reaches the writer. */
  private prepare(e: EventRow, raw: Record<string, unknown>): { fail: RegisterFailure } | { parsed: ParsedRegistration } {
    const open = this.registrationOpen(e);
    if (!open.ok) return { fail: open };
    const parsed = parseAnswers(this.form(e), raw, () => this.iso());
    if (!parsed.ok) return { fail: { ok: false, error: 'invalid', message: 'Please correct the marked fields.', errors: parsed.errors } };
    return { parsed: parsed.value };
  }

  /** The write itself, inside a group-commit batch. */
  private write(e: EventRow, { email, name, answers }: ParsedRegistration, ctx: AuditContext, notice: { id: string; body: string }): RegisterResult {
    // Re-read inside the transaction: capacity or status may have changed since the page loaded.
    const event = this.d.events.eventById(e.org_id, e.id);
    if (!event || !this.registrationOpen(event).ok) return { ok: false, error: 'closed', message: 'Registration for this event is closed.' };
    const existing = event.duplicate_policy === 'reject' ? this.repo.activeByEmail(event.org_id, event.id, email) : undefined;
    if (existing) {
      if (event.show_ticket) return { ok: false, error: 'duplicate', message: 'This email address is already registered for this event. Check your inbox for the ticket and your personal link.' };
      // Answered like a new registration, so the page cannot tell anyone who signed up; the
      // address's owner gets their link again instead.
      this.d.mailer.enqueueForRegistration({ orgId: event.org_id, to: existing.email, template: 'registrationDuplicate', registration: `${event.org_id}/${existing.id}` });
      this.d.audit.record({ ...ctx, orgId: event.org_id }, 'registration.duplicate', { type: 'registration', id: existing.id }, 'success', { event: event.id });
      return { ok: true, reg: existing, duplicate: true };
    }
    const free = this.seatFree(event);
    if (!free && !event.waitlist_enabled && !event.double_opt_in) return { ok: false, error: 'full', message: 'Sorry, this event is full.' };
    const status = event.double_opt_in ? 'pending' : free ? 'confirmed' : 'waitlisted';
    const at = this.iso();
    const reg: RegistrationRow = {
      id: randomUUID(),
      org_id: event.org_id,
      event_id: event.id,
      email,
      name,
      answers: JSON.stringify(answers),
      status,
      attendee_code: this.newCode(event),
      token_version: 1,
      checked_in_at: null,
      checked_in_by: null,
      created_at: at,
      updated_at: at,
      confirmed_at: status === 'confirmed' ? at : null,
      cancelled_at: null,
      erased_at: null,
      notice_id: this.d.notices.record(event, notice),
    };
    this.repo.insertReg(reg);
    this.d.audit.record(this.attendeeCtx(ctx, reg), 'registration.created', { type: 'registration', id: reg.id }, 'success', { event: event.id, status, subject: this.d.audit.personPseudonym(reg.org_id, reg.email) });
    this.sendStatusMail(event, reg);
    return { ok: true, reg };
  }

  /**
   * The checks before a registration may queue for the writer: open, valid, within the abuse
   * limits. Nothing is written; a failure is the answer to give.
   */
  check(e: EventRow, raw: Record<string, unknown>, ctx: AuditContext): { fail: RegisterFailure } | { parsed: ParsedRegistration } {
    const p = this.prepare(e, raw);
    if ('fail' in p) return p;
    const limited = this.overLimit(e, p.parsed.email, ctx);
    return limited ? { fail: limited } : p;
  }

  /**
   * Writes a checked registration through group commit: under a rush many share one fsync.
   * Resolves only once it is durable. `stillWanted` is asked inside the transaction, right
   * before the write: a person who gave up meanwhile (closed the connection, left the queue
   * page) gets no seat, and nobody behind them loses one to them.
   */
  commit(e: EventRow, parsed: ParsedRegistration, ctx: AuditContext, stillWanted: () => boolean = () => true): Promise<RegisterResult | Abandoned> {
    // The privacy notice as the page shows it now, looked up before the transaction (cached).
    const notice = this.d.notices.current(e);
    return this.d.writer.run(() => (stillWanted() ? this.write(e, parsed, ctx, notice) : ABANDONED));
  }

  /** check, then commit: the whole registration for callers without a queue (tests, tools). */
  async register(e: EventRow, raw: Record<string, unknown>, ctx: AuditContext): Promise<RegisterResult> {
    const c = this.check(e, raw, ctx);
    if ('fail' in c) return c.fail;
    return (await this.commit(e, c.parsed, ctx)) as RegisterResult;
  }

  /**
   * Counts a well-formed registration against the abuse limits (in memory: no SQL on the hot
   * path). Only valid submissions count, so a visitor correcting a typo spends nothing.
   */
  private overLimit(e: EventRow, email: string, ctx: AuditContext): RegisterFailure | undefined {
    const { limits } = this.d;
    const address = email.toLowerCase();
    const net = this.d.limiter.network(ctx.ip);
    const hits = [
      { key: `reg-ae:${e.id}:${address}`, limit: limits.addressEvent },
      { key: `reg-a:${address}`, limit: limits.address },
    ];
    if (net) hits.push({ key: `reg-n:${e.id}:${net}`, limit: limits.network });
    const v = this.d.limiter.take(hits);
    if (v.ok) return undefined;
    const wait = waitText(v.retryAfterMs);
    // Recorded without the address or the network: the audit log holds no personal data.
    const kind = v.key.startsWith('reg-n:') ? 'network' : v.key.startsWith('reg-ae:') ? 'address-event' : 'address';
    if (v.first) this.d.audit.record({ ...ctx, orgId: e.org_id }, 'registration.throttled', { type: 'event', id: e.id }, 'denied', { limit: kind });
    const message =
      kind === 'network'
        ? `Many people on your network have just registered for this event, more than we accept at once. Nothing was saved; please send the form again in ${wait}. Your answers are kept below.`
        : kind === 'address-event'
          ? `This email address has been used for several registrations for this event today. Check your inbox for the ticket and your personal link, or try again in ${wait}.`
          : `This email address has received many registration emails in the last hour. Nothing was saved; please try again in ${wait}.`;
    return { ok: false, error: 'throttled', message, retryAfterMs: v.retryAfterMs };
  }

  /** The mail that matches the registration's state: ticket, waiting list, please-confirm or cancelled. */
  sendStatusMail(e: EventRow, reg: RegistrationRow): void {
    const template = STATUS_TEMPLATES[reg.status];
    const registration = `${e.org_id}/${reg.id}`;
    // Stored as a reference, filled in at delivery (AttendeeLinks.params): the transaction writes a
    // couple of hundred bytes and the outbox keeps no copy of the attendee's data.
    const attachments: MailAttachment[] | undefined =
      reg.status === 'confirmed'
        ? [
            { filename: 'ticket.png', contentType: 'image/png', ticketQr: registration },
            { filename: 'event.ics', contentType: 'text/calendar; charset=utf-8', eventIcs: `${e.org_id}/${e.id}` },
          ]
        : undefined;
    this.d.mailer.enqueueForRegistration({ orgId: e.org_id, to: reg.email, template, registration, ...(attachments ? { attachments } : {}) });
  }

  /** Double opt-in: the emailed link holds the seat now, or joins the waiting list. */
  confirm(e: EventRow, reg: RegistrationRow, ctx: AuditContext): Result<{ reg: RegistrationRow }, 'state' | 'full'> {
    return this.d.writer.tx(() => {
      const current = this.repo.regById(e.org_id, e.id, reg.id);
      if (!current || current.status !== 'pending') return { ok: true as const, reg: current ?? reg };
      const event = this.d.events.eventById(e.org_id, e.id) ?? e;
      const free = this.seatFree(event);
      if (!free && !event.waitlist_enabled) return { ok: false as const, error: 'full' as const, message: 'Sorry, the last seat was taken before you confirmed. The event is full.' };
      const status = free ? 'confirmed' : 'waitlisted';
      this.repo.setRegStatus(e.org_id, reg.id, status, this.iso(), { confirmed_at: free ? this.iso() : null });
      const updated = this.repo.regById(e.org_id, e.id, reg.id) as RegistrationRow;
      this.d.audit.record(this.attendeeCtx(ctx, reg), 'registration.confirmed', { type: 'registration', id: reg.id }, 'success', { status });
      this.sendStatusMail(event, updated);
      return { ok: true as const, reg: updated };
    });
  }

  /** Gives freed seats to the waiting list, oldest first; each promoted person gets their ticket. */
  promoteWaitlist(e: EventRow, ctx: AuditContext): number {
    return this.d.writer.tx(() => {
      const event = this.d.events.eventById(e.org_id, e.id);
      if (!event) return 0;
      let promoted = 0;
      while (this.seatFree(event)) {
        const next = this.repo.firstWaitlisted(event.org_id, event.id);
        if (!next) break;
        this.repo.setRegStatus(event.org_id, next.id, 'confirmed', this.iso(), { confirmed_at: this.iso() });
        this.d.audit.record({ ...ctx, orgId: event.org_id }, 'registration.promoted', { type: 'registration', id: next.id });
        this.sendStatusMail(event, { ...next, status: 'confirmed' });
        promoted++;
      }
      return promoted;
    });
  }

  /** Cancels (by the attendee's link or an organizer); a freed seat goes to the waiting list. */
  cancel(e: EventRow, reg: RegistrationRow, ctx: AuditContext, by: 'attendee' | 'organizer'): Result<object, 'state'> {
    return this.d.writer.tx(() => {
      const current = this.repo.regById(e.org_id, e.id, reg.id);
      if (!current || current.status === 'cancelled') return { ok: false as const, error: 'state' as const, message: 'This registration was already cancelled.' };
      this.repo.setRegStatus(e.org_id, reg.id, 'cancelled', this.iso(), { cancelled_at: this.iso() });
      const actor = by === 'attendee' ? this.attendeeCtx(ctx, reg) : { ...ctx, orgId: e.org_id };
      this.d.audit.record(actor, 'registration.cancelled', { type: 'registration', id: reg.id }, 'success', { by, from: current.status });
      this.sendStatusMail(e, { ...current, status: 'cancelled' });
      if (current.status === 'confirmed') this.promoteWaitlist(e, ctx);
      return { ok: true as const };
    });
  }

  /** The attendee opened their personal link: reading one's own data is audited too. */
  viewedByAttendee(reg: RegistrationRow, ctx: AuditContext): void {
    this.d.audit.record(this.attendeeCtx(ctx, reg), 'registration.viewed', { type: 'registration', id: reg.id });
  }

  /**
   * Edits through the attendee's link (everything but the email address) or by an organizer,
   * validated as at registration. Consent is the attendee's alone: staff edits never touch a
   * consent answer (withdrawConsent is their only way, on the attendee's request); the attendee
   * may give it or take it back, and a withdrawal is kept as one, with the original consent.
   */
  updateAnswers(e: EventRow, reg: RegistrationRow, raw: Record<string, unknown>, ctx: AuditContext, by: 'attendee' | 'organizer'): Result<object, 'invalid'> & { errors?: Record<string, string> } {
    const all = this.d.events.fieldsOf(e.org_id, e.id);
    const consents = all.filter((f) => f.type === 'consent');
    const input: Record<string, unknown> = by === 'attendee' ? { ...raw, email: reg.email } : { ...raw };
    if (by === 'organizer') for (const f of consents) delete input[f.key];
    const fields = by === 'organizer' ? all.map((f) => (f.type === 'consent' ? { ...f, required: 0 } : f)) : all;
    const parsed = parseAnswers(fields, input, () => this.iso());
    if (!parsed.ok) return { ok: false, error: 'invalid', message: 'Please correct the marked fields.', errors: parsed.errors };
    const before = JSON.parse(reg.answers) as Answers;
    const answers: Answers = { ...parsed.value.answers };
    for (const f of consents) {
      const was = before[f.key];
      const given = typeof was === 'object' && !Array.isArray(was) && was.accepted;
      if (by === 'organizer') {
        if (was === undefined) delete answers[f.key];
        else answers[f.key] = was;
      } else if (answers[f.key] !== undefined && given) {
        answers[f.key] = was; // consent given earlier stays as recorded, with the text shown then
      } else if (answers[f.key] === undefined && given) {
        answers[f.key] = { accepted: false, text: was.text, at: was.at, withdrawn_at: this.iso(), withdrawn_by: 'attendee' };
      } else if (answers[f.key] === undefined && was !== undefined) {
        answers[f.key] = was; // an earlier withdrawal stays on record
      }
    }
    this.d.writer.tx(() => {
      this.repo.updateRegAnswers(e.org_id, reg.id, { email: parsed.value.email || reg.email, name: parsed.value.name, answers: JSON.stringify(answers) }, this.iso());
      const actor = by === 'attendee' ? this.attendeeCtx(ctx, reg) : { ...ctx, orgId: e.org_id };
      this.d.audit.record(actor, 'registration.updated', { type: 'registration', id: reg.id }, 'success', { by, fields: Object.keys(raw).filter((k) => k !== '_csrf') });
    });
    return { ok: true };
  }

  /** Staff withdraw a consent the attendee gave, because the attendee asked them to (recorded as such). */
  withdrawConsent(e: EventRow, reg: RegistrationRow, fieldKey: string, ctx: AuditContext): Result<object, 'state'> {
    const f = this.d.events.fieldsOf(e.org_id, e.id).find((x) => x.key === fieldKey && x.type === 'consent');
    if (!f) return { ok: false, error: 'state', message: 'This form has no such consent question.' };
    return this.d.writer.tx(() => {
      const current = this.repo.regById(e.org_id, e.id, reg.id);
      const answers = JSON.parse(current?.answers ?? '{}') as Answers;
      const was = answers[fieldKey];
      if (!current || typeof was !== 'object' || Array.isArray(was) || !was.accepted) return { ok: false as const, error: 'state' as const, message: 'There is no consent to withdraw: it was not given, or was already withdrawn.' };
      answers[fieldKey] = { accepted: false, text: was.text, at: was.at, withdrawn_at: this.iso(), withdrawn_by: 'staff', staff_id: ctx.actor.id ?? null };
      this.repo.updateRegAnswers(e.org_id, reg.id, { email: current.email, name: current.name, answers: JSON.stringify(answers) }, this.iso());
      this.d.audit.record({ ...ctx, orgId: e.org_id }, 'registration.consent_withdrawn', { type: 'registration', id: reg.id }, 'success', { field: fieldKey, by: 'staff', onRequestOf: 'attendee' });
      return { ok: true as const };
    });
  }

  /**
   * Seats still free as the public page shows them (null: no limit). Exact after any write by
   * this server; see ReadCache. Capacity itself is enforced in the write, never from this.
   */
  seatsLeft(e: EventRow): number | null {
    if (e.capacity === null) return null;
    const confirmed = this.confirmedCache.get(e.id, () => this.repo.seats(e.org_id, e.id).confirmed);
    return Math.max(0, e.capacity - confirmed);
  }

  get(e: EventRow, regId: string): RegistrationRow | undefined {
    return this.repo.regById(e.org_id, e.id, regId);
  }

  /** Resends the status mail that matches the registration's state. */
  resend(e: EventRow, reg: RegistrationRow, ctx: AuditContext): void {
    this.d.writer.tx(() => {
      this.sendStatusMail(e, reg);
      this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.email_resent', { type: 'registration', id: reg.id });
    });
  }
}

import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { Result } from '../auth/service.ts';
import type { DB } from '../db/open.ts';
import type { MailAttachment, Mailer } from '../mail/service.ts';
import type { TemplateName } from '../mail/templates.ts';
import { groupedCode, groupedId } from '../db/ids.ts';
import type { WriteBatcher } from '../db/write-batcher.ts';
import { type Answers, type CompiledForm, type ParsedRegistration, compileForm, parseAnswers } from './fields.ts';
import { ReadCache } from './read-cache.ts';
import { type AttendeeFilter, type EventRow, type RegistrationRow, eventsRepo } from './repo.ts';
import { AttendeeTokens } from './tokens.ts';
import { eventStart as formatWhen } from './when.ts';

/** The status mail each registration status gets. */
const STATUS_TEMPLATES = {
  confirmed: 'registrationConfirmed',
  waitlisted: 'registrationWaitlisted',
  pending: 'registrationPending',
  cancelled: 'registrationCancelled',
} as const satisfies Record<RegistrationRow['status'], TemplateName>;

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export interface RegistrationDeps {
  db: DB;
  audit: AuditLog;
  mailer: Mailer;
  tokens: AttendeeTokens;
  now: () => number;
  baseUrl: () => string;
  batcher: WriteBatcher;
}

export type RegisterError = 'closed' | 'not-open' | 'full' | 'duplicate' | 'invalid';
type RegisterFailure = { ok: false; error: RegisterError; message: string; errors?: Record<string, string> };
export type RegisterResult = { ok: true; reg: RegistrationRow } | RegisterFailure;


/**
 * Registrations: the attendee's side (register, confirm, manage, cancel) and the organizer's
 * (edit, cancel, check in, message, export). Capacity is decided inside one write transaction,
 * so concurrent registrations can never oversell; freed seats go to the waiting list in order.
 */
export class RegistrationService {
  readonly repo;
  private readonly confirmedCache;
  constructor(private readonly d: RegistrationDeps) {
    this.repo = eventsRepo(d.db);
    this.confirmedCache = new ReadCache<number>(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  private tx<T>(fn: () => T): T {
    return this.d.db.inTransaction ? fn() : this.d.db.transaction(fn).immediate();
  }

  private attendeeCtx(ctx: AuditContext, reg: Pick<RegistrationRow, 'id' | 'org_id'>): AuditContext {
    return { ...ctx, actor: { type: 'attendee', id: reg.id }, orgId: reg.org_id };
  }

  /** The ticket token (QR content), or the absolute manage / confirm link. */
  link(reg: Pick<RegistrationRow, 'id' | 'token_version'>, kind: 'ticket' | 'manage' | 'confirm'): string {
    const token = this.d.tokens.make(kind, reg.id, reg.token_version);
    if (kind === 'ticket') return token;
    return `${this.d.baseUrl()}/r/${token}${kind === 'confirm' ? '/confirm' : ''}`;
  }

  links(reg: RegistrationRow) {
    return { ticket: this.link(reg, 'ticket'), manage: this.link(reg, 'manage'), confirm: this.link(reg, 'confirm') };
  }

  registrationOpen(e: EventRow): { ok: true } | { ok: false; error: 'closed' | 'not-open'; message: string } {
    const t = this.d.now();
    if (e.status !== 'published' || (e.registration_closes_at && Date.parse(e.registration_closes_at) <= t)) return { ok: false, error: 'closed', message: 'Registration for this event is closed.' };
    if (e.registration_opens_at && Date.parse(e.registration_opens_at) > t) return { ok: false, error: 'not-open', message: `Registration opens ${new Date(e.registration_opens_at).toUTCString()}.` };
    return { ok: true };
  }

  private newCode(eventId: string): string {
    for (;;) {
      // Two of the eight characters are shared with the rest of the group commit, so the
      // (event, code) index takes one leaf page per batch rather than one per registration; the
      // other six (30 bits) stay random per attendee. Codes are typed by check-in staff, who
      // are signed in; the links an attendee holds are HMAC tokens, not codes.
      const code = groupedCode(CODE_ALPHABET, 8, 2);
      if (!this.repo.codeTaken(eventId, code)) return code;
    }
  }

  /** Whether a seat is free right now (call inside the write transaction). */
  private seatFree(e: EventRow): boolean {
    return e.capacity === null || this.repo.countConfirmed(e.org_id, e.id) < e.capacity;
  }

  /** Validation outside the transaction: only a well-formed submission reaches the writer. */
  private prepare(e: EventRow, raw: Record<string, unknown>): { fail: RegisterFailure } | { parsed: ParsedRegistration } {
    const open = this.registrationOpen(e);
    if (!open.ok) return { fail: open };
    const parsed = parseAnswers(this.form(e), raw, () => this.iso());
    if (!parsed.ok) return { fail: { ok: false, error: 'invalid', message: 'Please correct the marked fields.', errors: parsed.errors } };
    return { parsed: parsed.value };
  }

  private forms = new Map<string, CompiledForm>();
  /** The event's form, compiled once per version (form changes bump the event's updated_at). */
  private form(e: EventRow): CompiledForm {
    const key = `${e.id}|${e.updated_at}`;
    let f = this.forms.get(key);
    if (!f) {
      if (this.forms.size > 200) this.forms.clear();
      f = compileForm(this.repo.fields(e.org_id, e.id));
      this.forms.set(key, f);
    }
    return f;
  }

  /** The write: runs inside a transaction (its own, or a group-commit batch). */
  private write(e: EventRow, { email, name, answers }: ParsedRegistration, ctx: AuditContext): RegisterResult {
    // Re-read inside the transaction: capacity or status may have changed since the page loaded.
    const event = this.repo.eventById(e.org_id, e.id);
    if (!event || !this.registrationOpen(event).ok) return { ok: false, error: 'closed', message: 'Registration for this event is closed.' };
    if (event.duplicate_policy === 'reject' && this.repo.activeByEmail(event.org_id, event.id, email)) {
      return { ok: false, error: 'duplicate', message: 'This email address is already registered for this event. Check your inbox for the ticket and your personal link.' };
    }
    const free = this.seatFree(event);
    if (!free && !event.waitlist_enabled && !event.double_opt_in) return { ok: false, error: 'full', message: 'Sorry, this event is full.' };
    const status = event.double_opt_in ? 'pending' : free ? 'confirmed' : 'waitlisted';
    const at = this.iso();
    const reg: RegistrationRow = {
      // Shares its leading random bits with the rest of its group commit: see groupedId().
      id: groupedId(),
      org_id: event.org_id,
      event_id: event.id,
      email,
      name,
      answers: JSON.stringify(answers),
      status,
      attendee_code: this.newCode(event.id),
      token_version: 1,
      checked_in_at: null,
      checked_in_by: null,
      created_at: at,
      updated_at: at,
      confirmed_at: status === 'confirmed' ? at : null,
      cancelled_at: null,
    };
    this.repo.insertReg(reg);
    this.d.audit.record(this.attendeeCtx(ctx, reg), 'registration.created', { type: 'registration', id: reg.id }, 'success', { event: event.id, status });
    this.sendStatusMail(event, reg);
    return { ok: true, reg };
  }

  register(e: EventRow, raw: Record<string, unknown>, ctx: AuditContext): RegisterResult {
    const p = this.prepare(e, raw);
    return 'fail' in p ? p.fail : this.tx(() => this.write(e, p.parsed, ctx));
  }

  /**
   * The same, through group commit: under a registration rush many registrations share one
   * fsync. Resolves only once the registration is durable.
   */
  async registerBatched(e: EventRow, raw: Record<string, unknown>, ctx: AuditContext): Promise<RegisterResult> {
    const p = this.prepare(e, raw);
    return 'fail' in p ? p.fail : this.d.batcher.run(() => this.write(e, p.parsed, ctx));
  }

  /** The mail that matches the registration's state: ticket, waiting list, or please-confirm. */
  sendStatusMail(e: EventRow, reg: RegistrationRow): void {
    const template = STATUS_TEMPLATES[reg.status];
    const registration = `${e.org_id}/${reg.id}`;
    // Stored as a reference: the name, code and links are filled in at delivery (mailParams), the
    // ticket's QR code and the calendar file drawn then, so the registration's transaction writes
    // a couple of hundred bytes and the outbox keeps no copy of the attendee's data.
    const attachments: MailAttachment[] | undefined =
      reg.status === 'confirmed'
        ? [
            { filename: 'ticket.png', contentType: 'image/png', ticketQr: registration },
            { filename: 'event.ics', contentType: 'text/calendar; charset=utf-8', eventIcs: `${e.org_id}/${e.id}` },
          ]
        : undefined;
    this.d.mailer.enqueueForRegistration({ orgId: e.org_id, to: reg.email, template, registration, ...(attachments ? { attachments } : {}) });
  }

  /**
   * The parameters of a status mail as the registration and its event are now (the mailer asks at
   * delivery); undefined once either is gone.
   */
  mailParams(template: TemplateName, orgId: string, registrationId: string): Record<string, unknown> | undefined {
    const reg = this.repo.regByIdAnyEvent(orgId, registrationId);
    const e = reg && this.repo.eventById(orgId, reg.event_id);
    if (!reg || !e) return undefined;
    const base = { name: reg.name, event: e.title };
    switch (template) {
      case 'registrationConfirmed':
        return { ...base, when: formatWhen(e), where: e.venue || e.online_url, code: reg.attendee_code, manageLink: this.link(reg, 'manage') };
      case 'registrationWaitlisted':
        return { ...base, manageLink: this.link(reg, 'manage') };
      case 'registrationPending':
        return { ...base, confirmLink: this.link(reg, 'confirm') };
      case 'registrationCancelled':
        return base;
      default:
        return undefined;
    }
  }

  /** The ticket token a ticket QR code carries, as the registration is now. */
  ticketLink(orgId: string, registrationId: string): string | undefined {
    const reg = this.repo.regByIdAnyEvent(orgId, registrationId);
    return reg && this.link(reg, 'ticket');
  }

  /** Resolves a link token (manage, confirm) or a ticket to its registration. */
  byToken(purpose: 'manage' | 'confirm' | 'ticket', token: string): { reg: RegistrationRow; event: EventRow } | undefined {
    const id = AttendeeTokens.idOf(token);
    if (!id) return undefined;
    const orgId = this.repo.orgOfRegistration(id);
    const row = orgId && this.repo.regByIdAnyEvent(orgId, id);
    if (!row || !this.d.tokens.verify(purpose, token, row.id, row.token_version)) return undefined;
    const event = this.repo.eventById(row.org_id, row.event_id);
    return event ? { reg: row, event } : undefined;
  }

  /** Double opt-in: the emailed link holds the seat now, or joins the waiting list. */
  confirm(e: EventRow, reg: RegistrationRow, ctx: AuditContext): Result<{ reg: RegistrationRow }, 'state' | 'full'> {
    return this.tx(() => {
      const current = this.repo.regById(e.org_id, e.id, reg.id);
      if (!current || current.status !== 'pending') return { ok: true as const, reg: current ?? reg };
      const event = this.repo.eventById(e.org_id, e.id) ?? e;
      const free = this.seatFree(event);
      if (!free && !event.waitlist_enabled) return { ok: false as const, error: 'full' as const, message: 'Sorry, the last seat was taken before you confirmed. The event is full.' };
      const status = free ? 'confirmed' : 'waitlisted';
      this.repo.setRegStatus(e.org_id, reg.id, status, this.iso(), { confirmed_at: free ? this.iso() : null });
      const updated = this.repo.regById(e.org_id, e.id, reg.id)!;
      this.d.audit.record(this.attendeeCtx(ctx, reg), 'registration.confirmed', { type: 'registration', id: reg.id }, 'success', { status });
      this.sendStatusMail(event, updated);
      return { ok: true as const, reg: updated };
    });
  }

  /** Gives freed seats to the waiting list, oldest first; each promoted person gets their ticket. */
  promoteWaitlist(e: EventRow, ctx: AuditContext): number {
    return this.tx(() => {
      const event = this.repo.eventById(e.org_id, e.id);
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

  cancel(e: EventRow, reg: RegistrationRow, ctx: AuditContext, by: 'attendee' | 'organizer'): void {
    this.tx(() => {
      if (reg.status === 'cancelled') return;
      this.repo.setRegStatus(e.org_id, reg.id, 'cancelled', this.iso(), { cancelled_at: this.iso() });
      const actor = by === 'attendee' ? this.attendeeCtx(ctx, reg) : { ...ctx, orgId: e.org_id };
      this.d.audit.record(actor, 'registration.cancelled', { type: 'registration', id: reg.id }, 'success', { by, from: reg.status });
      this.sendStatusMail(e, { ...reg, status: 'cancelled' });
      if (reg.status === 'confirmed') this.promoteWaitlist(e, ctx);
    });
  }

  /** Attendee edits through their link: everything but the email address, validated as at registration. */
  updateAnswers(e: EventRow, reg: RegistrationRow, raw: Record<string, unknown>, ctx: AuditContext, by: 'attendee' | 'organizer'): Result<object, 'invalid'> & { errors?: Record<string, string> } {
    const fields = this.repo.fields(e.org_id, e.id);
    const input = by === 'attendee' ? { ...raw, email: reg.email } : raw;
    const parsed = parseAnswers(fields, input, () => this.iso());
    if (!parsed.ok) return { ok: false, error: 'invalid', message: 'Please correct the marked fields.', errors: parsed.errors };
    // Consent given earlier stays as it was recorded (with the text shown then).
    const before = JSON.parse(reg.answers) as Answers;
    const answers: Answers = { ...parsed.value.answers };
    for (const f of fields) if (f.type === 'consent' && before[f.key] !== undefined && answers[f.key] !== undefined) answers[f.key] = before[f.key] as Answers[string];
    this.tx(() => {
      this.repo.updateRegAnswers(e.org_id, reg.id, { email: parsed.value.email || reg.email, name: parsed.value.name, answers: JSON.stringify(answers) }, this.iso());
      const actor = by === 'attendee' ? this.attendeeCtx(ctx, reg) : { ...ctx, orgId: e.org_id };
      this.d.audit.record(actor, 'registration.updated', { type: 'registration', id: reg.id }, 'success', { by, fields: Object.keys(raw).filter((k) => k !== '_csrf') });
    });
    return { ok: true };
  }

  // ---- organizer side -----------------------------------------------------------------------------

  /** Reading an attendee's record is itself audited (read access to personal data). */
  view(e: EventRow, regId: string, ctx: AuditContext): RegistrationRow | undefined {
    const reg = this.repo.regById(e.org_id, e.id, regId);
    if (reg) this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.viewed', { type: 'registration', id: reg.id }, 'success', { event: e.id });
    return reg;
  }

  get(e: EventRow, regId: string): RegistrationRow | undefined {
    return this.repo.regById(e.org_id, e.id, regId);
  }

  list(e: EventRow, filter: AttendeeFilter, page: number, pageSize = 50) {
    return this.repo.attendees(e.org_id, e.id, filter, pageSize, (page - 1) * pageSize);
  }

  /**
   * Seats still free as the public page shows them (null: no limit). Exact after any write by
   * this server; see ReadCache. Capacity itself is enforced in the write, never from this.
   */
  seatsLeft(e: EventRow): number | null {
    if (e.capacity === null) return null;
    const confirmed = this.confirmedCache.get(e.id, () => this.repo.countConfirmed(e.org_id, e.id));
    return Math.max(0, e.capacity - confirmed);
  }

  counts(e: EventRow): { confirmed: number; waitlisted: number; pending: number; cancelled: number; checkedIn: number } {
    const out = { confirmed: 0, waitlisted: 0, pending: 0, cancelled: 0, checkedIn: 0 };
    for (const r of this.repo.counts(e.org_id, e.id)) {
      out[r.status] = r.n;
      out.checkedIn += r.checked ?? 0;
    }
    return out;
  }

  resend(e: EventRow, reg: RegistrationRow, ctx: AuditContext): void {
    this.tx(() => {
      this.sendStatusMail(e, reg);
      this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.email_resent', { type: 'registration', id: reg.id });
    });
  }

  /** Queues one message per matching attendee; the outbox delivers them at its own pace. */
  message(e: EventRow, filter: AttendeeFilter, subject: string, body: string, ctx: AuditContext): number {
    return this.tx(() => {
      // Recipients first: better-sqlite3 refuses the outbox writes while an iterator is still open.
      const recipients = [...this.repo.iterateAttendees(e.org_id, e.id, { ...filter })].filter((reg) => reg.status !== 'cancelled' || filter.status === 'cancelled');
      for (const reg of recipients) {
        this.d.mailer.enqueueTemplate({ orgId: e.org_id, to: reg.email, template: 'organizerMessage', params: { event: e.title, subject, body, manageLink: this.link(reg, 'manage') } });
      }
      const n = recipients.length;
      // The filter's shape, not its search words: those may be a person's name.
      this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.messaged', { type: 'event', id: e.id }, 'success', { recipients: n, filter: { ...filter, q: undefined, search: !!filter.q } });
      return n;
    });
  }

  // ---- check-in -------------------------------------------------------------------------------------

  /** Looks up by attendee code, by the ticket QR's content, or by name/email (first 20 matches). */
  lookup(e: EventRow, query: string): RegistrationRow[] {
    const q = query.trim();
    if (!q) return [];
    const fromTicket = this.byToken('ticket', q);
    if (fromTicket) return fromTicket.event.id === e.id && fromTicket.reg.org_id === e.org_id ? [fromTicket.reg] : [];
    const byCode = this.repo.regByCode(e.org_id, e.id, q.toUpperCase().replace(/[\s-]/g, ''));
    if (byCode) return [byCode];
    return this.repo.searchForCheckin(e.org_id, e.id, q.slice(0, 100));
  }

  checkIn(e: EventRow, reg: RegistrationRow, undo: boolean, ctx: AuditContext): Result<object, 'state'> {
    if (!undo && reg.status !== 'confirmed') return { ok: false, error: 'state', message: `This registration is ${reg.status}, not confirmed: it cannot be checked in.` };
    if (!undo && reg.checked_in_at) return { ok: false, error: 'state', message: `Already checked in at ${reg.checked_in_at.slice(11, 16)} UTC.` };
    this.tx(() => {
      this.repo.setCheckin(e.org_id, e.id, reg.id, undo ? null : this.iso(), undo ? null : (ctx.actor.id ?? null), this.iso());
      this.d.audit.record({ ...ctx, orgId: e.org_id }, undo ? 'checkin.undone' : 'checkin.done', { type: 'registration', id: reg.id }, 'success', { event: e.id });
    });
    return { ok: true };
  }
}

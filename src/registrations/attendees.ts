import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { Result } from '../auth/service.ts';
import type { Throttle, ThrottleRules } from '../auth/throttle.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { EventRow, FieldRow } from '../events/repo.ts';
import type { Mailer } from '../mail/service.ts';
import { type ExportColumn, exportColumns } from './export.ts';
import type { AttendeeLinks } from './links.ts';
import { type AttendeeFilter, type RegistrationRow, type RegistrationStatus, registrationsRepo } from './repo.ts';

/** One bulk message per event per minute: the auth throttle's table with a fixed 60 s delay. */
const BULK_RULES: ThrottleRules = { freeFailures: 0, baseDelayMs: 60_000, maxDelayMs: 60_000, lockAfter: Number.MAX_SAFE_INTEGER, lockMs: 0 };

export interface AttendeeDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  throttle: Throttle;
  mailer: Pick<Mailer, 'enqueueTemplate'>;
  links: AttendeeLinks;
  now: () => number;
  /** A staff member's display name for "checked in by" (the auth capability); undefined when unknown. */
  staffName: (userId: string) => string | undefined;
}

export interface Counts {
  confirmed: number;
  waitlisted: number;
  pending: number;
  cancelled: number;
  checkedIn: number;
}

/** What a check-in desk shows for one registration: the rule "only confirmed can check in" decided here. */
export interface CheckinCardData {
  id: string;
  name: string;
  code: string;
  status: RegistrationStatus;
  checkedInAt: string | null;
  canCheckIn: boolean;
  canUndo: boolean;
}

/**
 * Why staff reveal sensitive answers: a fixed list, so the audit row records a reason and never
 * free text (which could hold personal data).
 */
export const revealReasons = {
  'attendee-request': 'The attendee asked us to check or change it',
  'event-logistics': 'Needed to run the event (catering, access, seating)',
  safety: 'Health or safety of someone at the event',
  legal: 'A legal obligation or a dispute',
  editing: 'Editing the answers (already revealed)',
} as const;
export type RevealReason = keyof typeof revealReasons;

export type MessageOutcome = { ok: true; n: number } | { ok: false; error: 'throttled'; retryAfterS: number; message: string } | { ok: false; error: 'empty'; message: string };

/**
 * The organizer's side of registrations: the attendee list, reading a record (audited), bulk
 * messages, exports and the check-in desk. Every read of personal data leaves an audit row.
 */
export class AttendeeService {
  private readonly repo;

  constructor(private readonly d: AttendeeDeps) {
    this.repo = registrationsRepo(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  get(e: EventRow, regId: string): RegistrationRow | undefined {
    return this.repo.regById(e.org_id, e.id, regId);
  }

  /** Everything registered under one address in the organization, for that person's own requests (not audited as staff reads). */
  ofPerson(orgId: string, email: string): RegistrationRow[] {
    return this.repo.byEmail(orgId, email);
  }

  /** One registration by id anywhere in the organization. */
  byId(orgId: string, regId: string): RegistrationRow | undefined {
    return this.repo.regByIdAnyEvent(orgId, regId);
  }

  /** Reading an attendee's record is itself audited; revealing sensitive answers is a second entry, with the reason given. */
  view(e: EventRow, regId: string, ctx: AuditContext, reveal?: { fields: string[]; reason: RevealReason }): RegistrationRow | undefined {
    const reg = this.repo.regById(e.org_id, e.id, regId);
    if (!reg) return undefined;
    this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.viewed', { type: 'registration', id: reg.id }, 'success', { event: e.id });
    if (reveal && reveal.fields.length > 0) {
      this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.sensitive_revealed', { type: 'registration', id: reg.id }, 'success', { event: e.id, fields: reveal.fields, reason: reveal.reason });
    }
    return reg;
  }

  /** One page of the list, audited with the filter's shape (never its search words: they may be a name). */
  list(e: EventRow, filter: AttendeeFilter, page: number, pageSize: number, ctx: AuditContext, auditFilter: Record<string, unknown>): { rows: RegistrationRow[]; total: number; page: number; pages: number } {
    const total = this.repo.attendees(e.org_id, e.id, filter, 1, 0).total;
    const pages = Math.max(1, Math.ceil(total / pageSize));
    const p = Math.min(Math.max(1, page), pages);
    const { rows } = this.repo.attendees(e.org_id, e.id, filter, pageSize, (p - 1) * pageSize);
    this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.listed', { type: 'event', id: e.id }, 'success', { filter: auditFilter, page: p, results: total });
    return { rows, total, page: p, pages };
  }

  /**
   * The attendee-list columns this staff member chose for the event, kept to keys the form still
   * has (a removed field drops out); null when they never chose (the page shows every column).
   */
  listColumns(e: EventRow, userId: string, known: readonly string[]): string[] | null {
    const raw = this.repo.listColumns(e.org_id, e.id, userId);
    if (raw === undefined) return null;
    try {
      const keys = JSON.parse(raw) as unknown;
      return Array.isArray(keys) ? known.filter((k) => keys.includes(k)) : null;
    } catch {
      return null;
    }
  }

  /** Remembers the columns (only known keys; at least the name or email stays, set by the caller). */
  saveListColumns(e: EventRow, userId: string, columns: string[], ctx: AuditContext): void {
    this.d.writer.tx(() => {
      this.repo.saveListColumns(e.org_id, e.id, userId, JSON.stringify(columns), this.iso());
      this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.columns_chosen', { type: 'event', id: e.id }, 'success', { columns });
    });
  }

  counts(e: EventRow): Counts {
    const out: Counts = { confirmed: 0, waitlisted: 0, pending: 0, cancelled: 0, checkedIn: 0 };
    for (const r of this.repo.counts(e.org_id, e.id)) {
      out[r.status] = r.n;
      out.checkedIn += r.checked ?? 0;
    }
    return out;
  }

  /** How many attendees a bulk message with this filter reaches: cancelled ones only when asked for. */
  recipientCount(e: EventRow, f: AttendeeFilter): number {
    const total = this.repo.attendees(e.org_id, e.id, f, 1, 0).total;
    return f.status ? total : total - this.repo.attendees(e.org_id, e.id, { ...f, status: 'cancelled' }, 1, 0).total;
  }

  /** Queues one message per matching attendee, at most once a minute per event, in one transaction. */
  message(e: EventRow, filter: AttendeeFilter, subject: string, body: string, ctx: AuditContext): MessageOutcome {
    const key = `bulk-message:${e.id}`;
    return this.d.writer.tx((): MessageOutcome => {
      const v = this.d.throttle.check(key);
      if (!v.allowed) {
        this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.message_throttled', { type: 'event', id: e.id }, 'denied');
        const retryAfterS = Math.ceil(v.retryAfterMs / 1000);
        return { ok: false, error: 'throttled', retryAfterS, message: `A message was already sent to this event's attendees in the last minute. Wait ${retryAfterS} seconds, then send again.` };
      }
      // Recipients first: better-sqlite3 refuses the outbox writes while an iterator is still open.
      const recipients = [...this.repo.iterateAttendees(e.org_id, e.id, filter)].filter((reg) => reg.status !== 'cancelled' || filter.status === 'cancelled');
      if (recipients.length === 0) return { ok: false, error: 'empty', message: 'No attendee matches this filter: nothing was sent.' };
      for (const reg of recipients) {
        this.d.mailer.enqueueTemplate({ orgId: e.org_id, to: reg.email, template: 'organizerMessage', params: { event: e.title, subject, body, manageLink: this.d.links.link(reg, 'manage') } });
      }
      this.d.throttle.fail(key, BULK_RULES);
      this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.messaged', { type: 'event', id: e.id }, 'success', { recipients: recipients.length, filter: { ...filter, q: undefined, search: !!filter.q } });
      return { ok: true, n: recipients.length };
    });
  }

  /**
   * Starts an export: the columns, the audit row, and the rows read lazily by id (ids are read in
   * one synchronous pass: an open SQLite iterator would block every other statement on this
   * connection while the response is written to a slow client).
   */
  export(e: EventRow, fields: FieldRow[], opts: { chosen: string[] | null; status: RegistrationStatus | undefined; format: 'csv' | 'json' }, ctx: AuditContext): { columns: ExportColumn[]; sensitive: boolean; rows: () => Generator<RegistrationRow> } {
    const columns = exportColumns(fields, opts.chosen);
    const sensitive = columns.some((col) => col.field?.sensitive === 1);
    const ids: string[] = [];
    for (const reg of this.repo.iterateAttendees(e.org_id, e.id, opts.status ? { status: opts.status } : {})) ids.push(reg.id);
    this.d.audit.record({ ...ctx, orgId: e.org_id }, 'attendee.exported', { type: 'event', id: e.id }, 'success', {
      format: opts.format,
      fields: columns.filter((col) => col.field).map((col) => col.key),
      sensitive,
      status: opts.status ?? null,
      rows: ids.length,
    });
    const repo = this.repo;
    return {
      columns,
      sensitive,
      rows: function* () {
        for (const id of ids) {
          const reg = repo.regById(e.org_id, e.id, id);
          if (reg) yield reg;
        }
      },
    };
  }

  // ---- check-in -------------------------------------------------------------------------------------

  card(reg: RegistrationRow): CheckinCardData {
    return {
      id: reg.id,
      name: reg.name,
      code: reg.attendee_code,
      status: reg.status,
      checkedInAt: reg.checked_in_at,
      canCheckIn: reg.status === 'confirmed' && !reg.checked_in_at,
      canUndo: !!reg.checked_in_at,
    };
  }

  /** Looks up by attendee code, by the ticket QR's content, or by name/email (first 20 matches). */
  lookup(e: EventRow, query: string): RegistrationRow[] {
    const q = query.trim();
    if (!q) return [];
    const fromTicket = this.d.links.byToken('ticket', q);
    if (fromTicket) return fromTicket.event.id === e.id && fromTicket.reg.org_id === e.org_id ? [fromTicket.reg] : [];
    const byCode = this.repo.regByCode(e.org_id, e.id, q.toUpperCase().replace(/[\s-]/g, ''));
    if (byCode) return [byCode];
    return this.repo.searchForCheckin(e.org_id, e.id, q.slice(0, 100));
  }

  /**
   * Checks a ticket in, or undoes it. The rule is one conditional UPDATE inside the transaction,
   * so of two staff scanning the same ticket at once exactly one succeeds; the other is told
   * when and by whom it was checked in.
   */
  checkIn(e: EventRow, regId: string, undo: boolean, ctx: AuditContext): Result<{ reg: RegistrationRow }, 'state' | 'missing'> {
    return this.d.writer.tx(() => {
      const changed = undo ? this.repo.undoCheckIn(e.org_id, e.id, regId, this.iso()) : this.repo.checkIn(e.org_id, e.id, regId, this.iso(), ctx.actor.id ?? null);
      const reg = this.repo.regById(e.org_id, e.id, regId);
      if (!reg) return { ok: false as const, error: 'missing' as const, message: 'There is no such registration for this event.' };
      if (!changed) return { ok: false as const, error: 'state' as const, message: this.whyNot(reg, undo) };
      this.d.audit.record({ ...ctx, orgId: e.org_id }, undo ? 'checkin.undone' : 'checkin.done', { type: 'registration', id: reg.id }, 'success', { event: e.id });
      return { ok: true as const, reg };
    });
  }

  private whyNot(reg: RegistrationRow, undo: boolean): string {
    if (undo) return 'This attendee is not checked in.';
    if (reg.checked_in_at) {
      const by = reg.checked_in_by ? this.d.staffName(reg.checked_in_by) : undefined;
      return `Already checked in at ${reg.checked_in_at.slice(11, 16)} UTC${by ? ` by ${by}` : ''}.`;
    }
    return `This registration is ${reg.status}, not confirmed: it cannot be checked in.`;
  }
}

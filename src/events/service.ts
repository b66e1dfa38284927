import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import { hashPassword, verifyPassword } from '../auth/password.ts';
import type { Result } from '../auth/service.ts';
import type { Throttle } from '../auth/throttle.ts';
import { hashToken, randomToken } from '../auth/token.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { MembershipRow, OrgRow } from '../orgs/repo.ts';
import { defaultFields, fieldKeyPattern, selectTypes } from './fields.ts';
import { type EventRow, type EventStatus, type FieldRow, type FieldType, type ShareLinkRow, eventsRepo } from './repo.ts';
import { ReadCache } from './read-cache.ts';
import type { AttendeeTokens } from './tokens.ts';

/** What an organizer edits: the event row minus identity, lifecycle and access secrets. */
export type EventInput = Omit<EventRow, 'id' | 'org_id' | 'status' | 'passcode_hash' | 'passcode_expires_at' | 'created_at' | 'updated_at' | 'waitlist_enabled' | 'double_opt_in' | 'show_ticket'> & {
  waitlist_enabled: boolean;
  double_opt_in: boolean;
  /** default false: the confirmation page says only "we have sent your ticket" */
  show_ticket?: boolean;
};

export interface FieldInput {
  key?: string;
  type: FieldType;
  label: string;
  help: string;
  required: boolean;
  options: string[];
  personal: boolean;
  sensitive: boolean;
  purpose: string;
  consent_text: string;
}

export interface EventDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  throttle: Throttle;
  tokens: AttendeeTokens;
  now: () => number;
}

/** Whether an event's passcode opens it now: none set, set (with or without an end), or past its end. */
export type PasscodeState = 'not set' | 'set' | 'expired';
export type ShareLinkState = 'active' | 'expired' | 'revoked';
export type ShareLinkView = ShareLinkRow & { state: ShareLinkState };

/** The status changes an organizer can make, in the order the overview offers them. */
export type StatusAction = 'publish' | 'close' | 'reopen' | 'archive';
const statusActions: Record<StatusAction, { from: readonly EventStatus[]; to: EventStatus }> = {
  publish: { from: ['draft'], to: 'published' },
  close: { from: ['published'], to: 'closed' },
  reopen: { from: ['closed', 'archived'], to: 'published' },
  archive: { from: ['draft', 'published', 'closed'], to: 'archived' },
};

/** Passcode and share-link guesses: a few free tries, then exponential waits, then a lock. */
const guessRules = { freeFailures: 5, baseDelayMs: 2_000, maxDelayMs: 60_000, lockAfter: 30, lockMs: 15 * 60_000 };
const GRANT_MS = 12 * 3600_000;

/** Which events a member may work on: all, or the chosen ones for scoped organizer/check-in roles. */
export function eventInScope(membership: MembershipRow | null, eventId: string): boolean {
  if (!membership?.event_scope) return true;
  try {
    return (JSON.parse(membership.event_scope) as string[]).includes(eventId);
  } catch {
    return false;
  }
}

/** Events, their forms, access modes and share links (the organizer's side). */
export class EventService {
  private readonly repo;
  /** Public pages look their event up by slug on every hit: see ReadCache for freshness. */
  private readonly bySlug;
  constructor(private readonly d: EventDeps) {
    this.repo = eventsRepo(d.db);
    this.bySlug = new ReadCache<Readonly<EventRow> | undefined>(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  list(org: OrgRow, membership: MembershipRow | null): EventRow[] {
    return this.repo.events(org.id).filter((e) => eventInScope(membership, e.id));
  }

  /** Events that have not ended (and are not archived) that this member may work on, soonest first: the dashboard's list. */
  upcoming(org: OrgRow, membership: MembershipRow | null): EventRow[] {
    return this.repo.notEnded(org.id, this.iso()).filter((e) => eventInScope(membership, e.id));
  }

  /** Whether the organization has any event at all (the dashboard's first-steps state). */
  hasEvents(org: OrgRow): boolean {
    return this.repo.hasEvents(org.id);
  }

  get(org: OrgRow, eventId: string): EventRow | undefined {
    return this.repo.eventById(org.id, eventId);
  }

  fields(event: Pick<EventRow, 'org_id' | 'id'>): FieldRow[] {
    return this.repo.fields(event.org_id, event.id);
  }

  /** An event by its ids, as it is now (other capabilities re-read it inside their transactions). */
  eventById(orgId: string, eventId: string): EventRow | undefined {
    return this.repo.eventById(orgId, eventId);
  }

  fieldsOf(orgId: string, eventId: string): FieldRow[] {
    return this.repo.fields(orgId, eventId);
  }

  field(event: Pick<EventRow, 'org_id' | 'id'>, fieldId: string): FieldRow | undefined {
    return this.repo.fieldById(event.org_id, event.id, fieldId);
  }

  /** An organization's public listing: its published, public events. */
  publicEvents(orgId: string): EventRow[] {
    return this.repo.publicEvents(orgId);
  }

  create(org: OrgRow, input: EventInput, ctx: AuditContext): Result<{ event: EventRow }, 'slug'> {
    return this.d.writer.tx(() => {
      if (this.repo.slugTaken(input.slug)) return { ok: false as const, error: 'slug' as const, message: 'That address is already used by another event.' };
      const at = this.iso();
      const event: EventRow = {
        id: randomUUID(),
        org_id: org.id,
        ...input,
        waitlist_enabled: input.waitlist_enabled ? 1 : 0,
        double_opt_in: input.double_opt_in ? 1 : 0,
        show_ticket: input.show_ticket ? 1 : 0,
        status: 'draft',
        passcode_hash: null,
        passcode_expires_at: null,
        created_at: at,
        updated_at: at,
      };
      this.repo.insertEvent(event);
      defaultFields().forEach((f, i) => this.repo.insertField({ id: randomUUID(), org_id: org.id, event_id: event.id, ...f, position: i + 1, options: '[]', consent_text: '', created_at: at }));
      this.d.audit.record({ ...ctx, orgId: org.id }, 'event.created', { type: 'event', id: event.id });
      return { ok: true as const, event };
    });
  }

  update(org: OrgRow, event: EventRow, input: EventInput, ctx: AuditContext): Result<object, 'slug'> {
    return this.d.writer.tx(() => {
      if (this.repo.slugTaken(input.slug, event.id)) return { ok: false as const, error: 'slug' as const, message: 'That address is already used by another event.' };
      this.repo.updateEvent({ id: event.id, org_id: org.id, ...input, waitlist_enabled: input.waitlist_enabled ? 1 : 0, double_opt_in: input.double_opt_in ? 1 : 0, show_ticket: input.show_ticket ? 1 : 0, updated_at: this.iso() });
      this.d.audit.record({ ...ctx, orgId: org.id }, 'event.updated', { type: 'event', id: event.id });
      return { ok: true as const };
    });
  }

  setStatus(org: OrgRow, event: EventRow, status: EventStatus, ctx: AuditContext): Result<object, 'passcode'> {
    if (status === 'published' && event.access_mode === 'passcode' && !event.passcode_hash) {
      return { ok: false, error: 'passcode', message: 'Set a passcode before publishing an event that requires one.' };
    }
    this.d.writer.tx(() => {
      this.repo.setStatus(org.id, event.id, status, this.iso());
      this.d.audit.record({ ...ctx, orgId: org.id }, `event.${status}`, { type: 'event', id: event.id }, 'success', { from: event.status });
    });
    return { ok: true };
  }

  /** The status changes this event allows now. */
  statusActions(event: EventRow): StatusAction[] {
    return (Object.keys(statusActions) as StatusAction[]).filter((a) => statusActions[a].from.includes(event.status));
  }

  changeStatus(org: OrgRow, event: EventRow, action: StatusAction, ctx: AuditContext): Result<object, 'passcode' | 'transition'> {
    if (!this.statusActions(event).includes(action)) return { ok: false, error: 'transition', message: `A ${event.status} event cannot be changed like that.` };
    return this.setStatus(org, event, statusActions[action].to, ctx);
  }

  /** Deleting an event deletes its registrations: the personal data goes with it. */
  delete(org: OrgRow, event: EventRow, ctx: AuditContext): void {
    this.d.writer.tx(() => {
      this.repo.deleteEvent(org.id, event.id);
      this.d.audit.record({ ...ctx, orgId: org.id }, 'event.deleted', { type: 'event', id: event.id }, 'success', { title: event.title });
    });
  }

  async setPasscode(org: OrgRow, event: EventRow, passcode: string | null, expiresAt: string | null, ctx: AuditContext): Promise<void> {
    const hash = passcode ? await hashPassword(passcode) : null;
    this.d.writer.tx(() => {
      this.repo.setPasscode(org.id, event.id, hash, expiresAt, this.iso());
      this.d.audit.record({ ...ctx, orgId: org.id }, passcode ? 'event.passcode_set' : 'event.passcode_removed', { type: 'event', id: event.id }, 'success', { expiresAt });
    });
  }

  // ---- form builder ---------------------------------------------------------------------------

  addField(event: EventRow, input: FieldInput, ctx: AuditContext): Result<{ field: FieldRow }, 'key' | 'options'> {
    const key = (input.key ?? input.label)
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .replace(/^(\d)/, 'f_$1')
      .slice(0, 40);
    if (!fieldKeyPattern.test(key) || key === 'email' || key === 'name') return { ok: false, error: 'key', message: 'Choose a label made of letters or digits that is not "email" or "name".' };
    if (selectTypes.includes(input.type) && input.options.length < 2) return { ok: false, error: 'options', message: 'A choice field needs at least two options, one per line.' };
    return this.d.writer.tx(() => {
      if (this.repo.fields(event.org_id, event.id).some((f) => f.key === key)) return { ok: false as const, error: 'key' as const, message: 'This form already has a field with that name.' };
      const field: FieldRow = {
        id: randomUUID(),
        org_id: event.org_id,
        event_id: event.id,
        key,
        type: input.type,
        label: input.label,
        help: input.help,
        required: input.required ? 1 : 0,
        position: this.repo.maxPosition(event.org_id, event.id) + 1,
        options: JSON.stringify(input.options),
        personal: input.personal ? 1 : 0,
        sensitive: input.sensitive ? 1 : 0,
        purpose: input.purpose,
        consent_text: input.consent_text,
        builtin: null,
        created_at: this.iso(),
      };
      this.repo.insertField(field);
      this.repo.touchEvent(event.org_id, event.id, this.iso());
      this.d.audit.record({ ...ctx, orgId: event.org_id }, 'event.field_added', { type: 'form_field', id: field.id }, 'success', { event: event.id, type: field.type, sensitive: input.sensitive });
      return { ok: true as const, field };
    });
  }

  updateField(event: EventRow, field: FieldRow, input: Omit<FieldInput, 'type' | 'key'>, ctx: AuditContext): Result<object, 'options'> {
    if (selectTypes.includes(field.type) && input.options.length < 2) return { ok: false, error: 'options', message: 'A choice field needs at least two options, one per line.' };
    this.d.writer.tx(() => {
      // The email field stays required and personal: it is how the attendee gets their ticket.
      const builtinEmail = field.builtin === 'email';
      this.repo.updateField({
        id: field.id,
        org_id: event.org_id,
        event_id: event.id,
        label: input.label,
        help: input.help,
        required: builtinEmail || input.required ? 1 : 0,
        options: JSON.stringify(input.options),
        personal: builtinEmail || input.personal ? 1 : 0,
        sensitive: input.sensitive ? 1 : 0,
        purpose: input.purpose,
        consent_text: input.consent_text,
      });
      this.repo.touchEvent(event.org_id, event.id, this.iso());
      this.d.audit.record({ ...ctx, orgId: event.org_id }, 'event.field_updated', { type: 'form_field', id: field.id }, 'success', { event: event.id });
    });
    return { ok: true };
  }

  removeField(event: EventRow, field: FieldRow, ctx: AuditContext): Result<object, 'builtin'> {
    if (field.builtin === 'email') return { ok: false, error: 'builtin', message: 'The email address is always collected: it is where the ticket goes.' };
    this.d.writer.tx(() => {
      this.repo.deleteField(event.org_id, event.id, field.id);
      this.repo.touchEvent(event.org_id, event.id, this.iso());
      this.d.audit.record({ ...ctx, orgId: event.org_id }, 'event.field_removed', { type: 'form_field', id: field.id }, 'success', { event: event.id, key: field.key });
    });
    return { ok: true };
  }

  moveField(event: EventRow, fieldId: string, direction: 'up' | 'down', ctx: AuditContext): void {
    this.d.writer.tx(() => {
      const fields = this.repo.fields(event.org_id, event.id);
      const i = fields.findIndex((f) => f.id === fieldId);
      const j = direction === 'up' ? i - 1 : i + 1;
      const a = fields[i];
      const b = fields[j];
      if (!a || !b) return;
      this.repo.setFieldPosition(event.org_id, event.id, a.id, b.position);
      this.repo.setFieldPosition(event.org_id, event.id, b.id, a.position);
      this.repo.touchEvent(event.org_id, event.id, this.iso());
      this.d.audit.record({ ...ctx, orgId: event.org_id }, 'event.field_moved', { type: 'form_field', id: a.id }, 'success', { direction });
    });
  }

  // ---- share links ------------------------------------------------------------------------------

  async createShareLink(event: EventRow, input: { label: string; password: string; expiresAt: string | null }, ctx: AuditContext): Promise<{ token: string; link: Omit<ShareLinkRow, 'revoked_at' | 'uses'> }> {
    const token = randomToken(24);
    const link = { id: randomUUID(), org_id: event.org_id, event_id: event.id, label: input.label, token_hash: hashToken(token), password_hash: await hashPassword(input.password), expires_at: input.expiresAt, created_at: this.iso() };
    this.d.writer.tx(() => {
      this.repo.insertLink(link);
      this.d.audit.record({ ...ctx, orgId: event.org_id }, 'event.share_link_created', { type: 'share_link', id: link.id }, 'success', { event: event.id, expiresAt: input.expiresAt });
    });
    return { token, link };
  }

  revokeShareLink(event: EventRow, linkId: string, ctx: AuditContext): boolean {
    return this.d.writer.tx(() => {
      const ok = this.repo.revokeLink(event.org_id, event.id, linkId, this.iso());
      this.d.audit.record({ ...ctx, orgId: event.org_id }, 'event.share_link_revoked', { type: 'share_link', id: linkId }, ok ? 'success' : 'failure');
      return ok;
    });
  }

  shareLinks(event: EventRow): ShareLinkView[] {
    return this.repo.links(event.org_id, event.id).map((l) => ({ ...l, state: this.linkState(l) }));
  }

  passcodeState(event: EventRow): PasscodeState {
    if (!event.passcode_hash) return 'not set';
    return event.passcode_expires_at && Date.parse(event.passcode_expires_at) <= this.d.now() ? 'expired' : 'set';
  }

  // ---- the public side: who may see an event ---------------------------------------------------------

  /** A published (or closed) event by its public slug; drafts and archived events do not exist publicly. */
  publicEvent(slug: string): EventRow | undefined {
    // Shared between requests, hence frozen: a caller that tried to change it would throw.
    const e = this.bySlug.get(slug, () => {
      const row = this.repo.eventBySlug(slug);
      return row && Object.freeze(row);
    });
    return e && (e.status === 'published' || e.status === 'closed') ? e : undefined;
  }

  /** Whether this browser may see the event: public/unlisted always; passcode events need a grant. */
  hasAccess(event: EventRow, grantCookie: string | undefined): boolean {
    if (event.access_mode !== 'passcode') return true;
    const g = this.d.tokens.checkGrant(grantCookie, event.id, this.d.now());
    if (!g) return false;
    if (g.source === 'passcode') return this.passcodeState(event) === 'set';
    const linkId = g.source.startsWith('link:') ? g.source.slice(5) : '';
    const link = this.repo.links(event.org_id, event.id).find((l) => l.id === linkId);
    return !!link && this.linkState(link) === 'active';
  }

  private linkState(link: ShareLinkRow): ShareLinkState {
    if (link.revoked_at !== null) return 'revoked';
    return link.expires_at !== null && Date.parse(link.expires_at) <= this.d.now() ? 'expired' : 'active';
  }

  private guessKeys(event: EventRow, ip: string | null): string[] {
    return [`event-guess:${event.id}:${ip ?? 'unknown'}`, `event-guess:${event.id}`];
  }

  /** Checks a typed passcode; success returns a signed grant for a cookie. Every try is audited. */
  async tryPasscode(event: EventRow, passcode: string, ctx: AuditContext): Promise<Result<{ grant: string }, 'wrong' | 'throttled' | 'expired'>> {
    const blocked = this.blockedGuess(event, ctx);
    if (blocked) return blocked;
    const actor = { ...ctx, orgId: event.org_id };
    if (!event.passcode_hash || this.passcodeState(event) === 'expired') {
      this.d.audit.record(actor, 'event.passcode_used', { type: 'event', id: event.id }, 'denied', { reason: 'expired' });
      return { ok: false, error: 'expired', message: 'This event no longer accepts its passcode. Ask the organizer.' };
    }
    const ok = (await verifyPassword(passcode, event.passcode_hash)).ok;
    return this.d.writer.tx(() => {
      if (!ok) {
        this.guessFailed(event, ctx);
        this.d.audit.record(actor, 'event.passcode_used', { type: 'event', id: event.id }, 'failure');
        return { ok: false as const, error: 'wrong' as const, message: 'That passcode is not correct.' };
      }
      this.d.audit.record(actor, 'event.passcode_used', { type: 'event', id: event.id });
      return { ok: true as const, grant: this.d.tokens.grant(event.id, 'passcode', this.d.now() + GRANT_MS) };
    });
  }

  /** The share link named by a secret, if it exists and is usable (the password comes next). */
  findShareLink(token: string): { link: ShareLinkRow; event: EventRow } | undefined {
    if (!/^[A-Za-z0-9_-]{32}$/.test(token)) return undefined;
    const link = this.repo.linkByHash(hashToken(token));
    if (!link || this.linkState(link) !== 'active') return undefined;
    const event = this.repo.eventById(link.org_id, link.event_id);
    return event && (event.status === 'published' || event.status === 'closed') ? { link, event } : undefined;
  }

  async tryShareLink(link: ShareLinkRow, event: EventRow, password: string, ctx: AuditContext): Promise<Result<{ grant: string }, 'wrong' | 'throttled'>> {
    const blocked = this.blockedGuess(event, ctx);
    if (blocked) return blocked;
    const ok = (await verifyPassword(password, link.password_hash)).ok;
    return this.d.writer.tx(() => {
      const actor = { ...ctx, orgId: event.org_id };
      if (!ok) {
        this.guessFailed(event, ctx);
        this.d.audit.record(actor, 'event.share_link_used', { type: 'share_link', id: link.id }, 'failure');
        return { ok: false as const, error: 'wrong' as const, message: 'That password is not correct.' };
      }
      this.repo.countLinkUse(event.org_id, link.id);
      this.d.audit.record(actor, 'event.share_link_used', { type: 'share_link', id: link.id });
      return { ok: true as const, grant: this.d.tokens.grant(event.id, `link:${link.id}`, this.d.now() + GRANT_MS) };
    });
  }

  private blockedGuess(event: EventRow, ctx: AuditContext): Fail | undefined {
    for (const key of this.guessKeys(event, ctx.ip ?? null)) {
      const v = this.d.throttle.check(key);
      if (!v.allowed) {
        this.d.audit.record({ ...ctx, orgId: event.org_id }, 'event.access_throttled', { type: 'event', id: event.id }, 'denied');
        return { ok: false, error: 'throttled', message: `Too many wrong attempts. Wait ${Math.ceil(v.retryAfterMs / 1000)} seconds, then try again.`, retryAfterMs: v.retryAfterMs };
      }
    }
    return undefined;
  }

  private guessFailed(event: EventRow, ctx: AuditContext): void {
    const [perIp, perEvent] = this.guessKeys(event, ctx.ip ?? null);
    this.d.throttle.fail(perIp as string, guessRules);
    // The event-wide counter is looser: it only stops a distributed guessing run.
    this.d.throttle.fail(perEvent as string, { ...guessRules, freeFailures: 50, lockAfter: 500 });
  }
}

type Fail = { ok: false; error: 'throttled'; message: string; retryAfterMs?: number };

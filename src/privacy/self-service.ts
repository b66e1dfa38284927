import { stringify } from 'csv-stringify/sync';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import { hashToken, randomToken } from '../auth/token.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { EventRow, FieldRow } from '../events/repo.ts';
import { type Limit, type RateLimiter, waitText } from '../http/rate-limit.ts';
import type { Mailer } from '../mail/service.ts';
import { renderMail } from '../mail/templates.ts';
import type { OrgRow } from '../orgs/repo.ts';
import { csvSafe } from '../registrations/export.ts';
import type { RegistrationRow } from '../registrations/repo.ts';
import type { ErasureReceipt, PersonEraser } from './erasure-port.ts';
import type { PrivacyNotice } from './notice.ts';
import { type DataRead, type PersonRegistration, dataReads, personRegistration } from './person-data.ts';
import type { PrivacyRequests, RequestView } from './requests.ts';
import { privacyRequestsRepo } from './requests-repo.ts';

const LINK_MS = 60 * 60_000;
const SESSION_MS = 30 * 60_000;

export interface SelfServiceDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  mailer: Pick<Mailer, 'enqueue'>;
  limiter: RateLimiter;
  /** per network and per address, for the "email me a link" form */
  limits: { network: Limit; address: Limit };
  now: () => number;
  baseUrl: () => string;
  eraser: PersonEraser;
  requests: PrivacyRequests;
  /** the registrations capability: a person's registrations (no staff read, so not audited as one) */
  people: { registrationsOf(orgId: string, email: string): RegistrationRow[]; registration(orgId: string, id: string): RegistrationRow | undefined };
  events: { eventById(orgId: string, id: string): EventRow | undefined; fieldsOf(orgId: string, id: string): FieldRow[] };
  notices: { shown(orgId: string, noticeId: string | null): PrivacyNotice | undefined };
  orgs: { byId(orgId: string): OrgRow | undefined; roleOf(orgId: string, userId: string): string | undefined };
  staffName: (userId: string) => string | undefined;
  /** legal holds on a registration (the attendee is shown the active ones, with their reason) */
  holds: { list(orgId: string, registrationId: string): { reason: string; until: string; active: boolean }[] };
}

/** Who is asking: a person (by address) in one organization, or one registration from its manage link. */
export interface Subject {
  orgId: string;
  email: string;
  /** set when the page was opened from a registration's manage link: only that registration */
  registrationId: string | null;
}

export interface PersonView {
  org: OrgRow;
  subject: Subject;
  /** with the active legal holds: the data kept past retention and erasure, and why */
  registrations: (PersonRegistration & { holds: { reason: string; until: string }[] })[];
  reads: DataRead[];
  requests: RequestView[];
}

/**
 * The attendee's side of GDPR Art. 15–17 and 20: a single-use emailed link opens a short session
 * for one address in one organization, where the person sees, downloads, corrects or erases
 * what is held about them and sees which staff roles read it. Answers never tell whether an
 * address is known.
 */
export class SelfService {
  private readonly repo;

  constructor(private readonly d: SelfServiceDeps) {
    this.repo = privacyRequestsRepo(d.db);
  }

  /**
   * "Email me a link": the same answer whether or not the address is known; only a known address
   * gets a mail. Throttled per network and per address (in memory, like registration).
   */
  requestLink(org: OrgRow, rawEmail: string, ctx: AuditContext): { ok: true } | { ok: false; retryAfterMs: number; message: string } {
    const email = rawEmail.trim().toLowerCase();
    const net = this.d.limiter.network(ctx.ip);
    const hits = [{ key: `priv-a:${email}`, limit: this.d.limits.address }];
    if (net) hits.push({ key: `priv-n:${net}`, limit: this.d.limits.network });
    const v = this.d.limiter.take(hits);
    if (!v.ok) {
      if (v.first) this.d.audit.record({ ...ctx, orgId: org.id }, 'privacy.link_throttled', { type: 'organization', id: org.id }, 'denied', { limit: v.key.startsWith('priv-n:') ? 'network' : 'address' });
      return { ok: false, retryAfterMs: v.retryAfterMs, message: `Too many requests for a link were made from here or for this address. Please try again in ${waitText(v.retryAfterMs)}.` };
    }
    const known = this.d.people.registrationsOf(org.id, email).length > 0;
    this.d.writer.tx(() => {
      this.repo.pruneLinks(this.d.now());
      if (!known) return;
      const token = randomToken();
      this.repo.insertLink({ token_hash: hashToken(token), org_id: org.id, email, registration_id: null, kind: 'link', expires_at: this.d.now() + LINK_MS, created_at: this.d.now() });
      this.d.mailer.enqueue({ orgId: org.id, to: email, ...renderMail('privacyLink', { org: org.name, link: `${this.d.baseUrl()}/privacy/open?token=${token}`, minutes: LINK_MS / 60_000 }) });
      this.d.audit.record({ ...ctx, orgId: org.id }, 'privacy.link_sent', { type: 'organization', id: org.id });
    });
    return { ok: true };
  }

  /** Whether an emailed link can still be used (not used, not expired); opening it is a separate POST. */
  /** The organization an emailed link belongs to (used or not), so a suspended one can answer "unavailable". */
  linkOrgId(token: string): string | undefined {
    return this.repo.link(hashToken(token), 'link')?.org_id;
  }

  linkUsable(token: string): boolean {
    const l = this.repo.link(hashToken(token), 'link');
    return !!l && l.used_at === null && l.expires_at > this.d.now();
  }

  /**
   * Uses the emailed link (once) and opens a session for its address; the opening is an access
   * request, recorded and reported to the organization's admins. undefined: used or expired.
   */
  openLink(token: string, ctx: AuditContext): string | undefined {
    const hash = hashToken(token);
    const l = this.repo.link(hash, 'link');
    if (!l) return undefined;
    return this.d.writer.tx(() => {
      if (!this.repo.useLink(l.org_id, hash, this.d.now())) return undefined;
      const session = this.newSession({ orgId: l.org_id, email: l.email, registrationId: null });
      this.d.requests.create(l.org_id, { type: 'access', channel: 'self-service', email: l.email, completed: { by: null, outcome: 'Shown on the privacy page, with downloads.' } }, this.subjectCtx(ctx, l.org_id));
      return session;
    });
  }

  /** The manage link of a registration opens the same page for that registration (its link already proves the address). */
  openFromRegistration(reg: RegistrationRow): string {
    return this.d.writer.tx(() => this.newSession({ orgId: reg.org_id, email: reg.email, registrationId: reg.id }));
  }

  private newSession(s: Subject): string {
    const token = randomToken();
    this.repo.insertLink({ token_hash: hashToken(token), org_id: s.orgId, email: s.email, registration_id: s.registrationId, kind: 'session', expires_at: this.d.now() + SESSION_MS, created_at: this.d.now() });
    return token;
  }

  session(token: string): Subject | undefined {
    const l = this.repo.link(hashToken(token), 'session');
    if (!l || l.expires_at <= this.d.now() || !l.email) return undefined;
    return { orgId: l.org_id, email: l.email, registrationId: l.registration_id };
  }

  private subjectCtx(ctx: AuditContext, orgId: string): AuditContext {
    return { ...ctx, orgId, actor: { type: 'attendee', id: null } };
  }

  private regsOf(s: Subject): RegistrationRow[] {
    if (s.registrationId) {
      const r = this.d.people.registration(s.orgId, s.registrationId);
      return r && r.email.toLowerCase() === s.email.toLowerCase() ? [r] : [];
    }
    return this.d.people.registrationsOf(s.orgId, s.email);
  }

  /** Everything held about the subject, who among staff read it, and their requests. */
  view(s: Subject, ctx: AuditContext, by: 'subject' | 'staff' = 'subject'): PersonView | undefined {
    const org = this.d.orgs.byId(s.orgId);
    if (!org) return undefined;
    const regs = this.regsOf(s);
    const events = new Map<string, EventRow | undefined>();
    for (const r of regs) if (!events.has(r.event_id)) events.set(r.event_id, this.d.events.eventById(s.orgId, r.event_id));
    const registrations = regs.map((r) => ({
      ...personRegistration(r, events.get(r.event_id), this.d.events.fieldsOf(s.orgId, r.event_id), this.d.notices.shown(s.orgId, r.notice_id)),
      holds: this.d.holds.list(s.orgId, r.id).flatMap((h) => (h.active ? [{ reason: h.reason, until: h.until }] : [])),
    }));
    const rows = this.d.audit.personalDataReads(s.orgId, regs.map((r) => r.id), [...events.keys()]);
    const who = (type: string, id: string | null) => {
      if (type === 'api_token') return 'an API integration';
      const role = id ? this.d.orgs.roleOf(s.orgId, id) : undefined;
      const name = org.privacy_show_staff_names && id ? this.d.staffName(id) : undefined;
      return `${name ? `${name}, ` : ''}${role ?? 'former member'}`;
    };
    this.d.audit.record(by === 'subject' ? this.subjectCtx(ctx, s.orgId) : { ...ctx, orgId: s.orgId }, 'privacy.subject_viewed', { type: 'organization', id: s.orgId }, 'success', { registrations: regs.length, by });
    return { org, subject: s, registrations, reads: dataReads(rows, regs, events, who), requests: s.registrationId ? [] : this.d.requests.of(s.orgId, s.email) };
  }

  /** The download: JSON (machine-readable, Art. 20) or CSV (one row per answer). */
  export(v: PersonView, format: 'json' | 'csv', ctx: AuditContext, by: 'subject' | 'staff' = 'subject'): string {
    this.d.audit.record(by === 'subject' ? this.subjectCtx(ctx, v.org.id) : { ...ctx, orgId: v.org.id }, 'privacy.exported', { type: 'organization', id: v.org.id }, 'success', { format, by, registrations: v.registrations.length });
    if (format === 'json') {
      const data = { organization: v.org.name, email: v.subject.email, exportedAt: new Date(this.d.now()).toISOString(), registrations: v.registrations, readsByStaff: v.reads, requests: v.requests.map((r) => ({ type: r.type, status: r.status, received: r.received_at, deadline: r.deadline_at, completed: r.completed_at })) };
      return `${JSON.stringify(data, null, 2)}\n`;
    }
    const rows = v.registrations.flatMap((r) => r.answers.map((a) => [r.event, r.status, r.registeredAt, a.label, a.value]));
    return stringify([['event', 'status', 'registered', 'question', 'answer'], ...rows.map((row) => row.map(csvSafe))]);
  }

  /** A correction request: stored as a request and sent to the organization's admins (the text stays in the record). */
  correction(s: Subject, text: string, ctx: AuditContext): RequestView {
    const r = this.d.requests.create(s.orgId, { type: 'correction', channel: 'self-service', email: s.email, message: text }, this.subjectCtx(ctx, s.orgId));
    return { ...r, overdue: false };
  }

  /**
   * Erases the person through the erasure capability, records the request with its receipt,
   * mails the receipt, and then forgets the address in the request records and links.
   */
  erase(orgId: string, email: string, channel: 'self-service' | 'organizer', ctx: AuditContext): { receipt: ErasureReceipt; requestId: string } {
    const org = this.d.orgs.byId(orgId);
    const actorCtx = channel === 'self-service' ? this.subjectCtx(ctx, orgId) : { ...ctx, orgId };
    return this.d.writer.tx(() => {
      const req = this.d.requests.create(orgId, { type: 'erasure', channel, email }, actorCtx);
      const receipt = this.d.eraser.erasePerson({ orgId, email, reason: channel === 'self-service' ? 'attendee-request' : 'organizer-request', actor: { userId: channel === 'organizer' ? (ctx.actor.id ?? null) : null, ip: ctx.ip ?? null }, requestId: req.id });
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const outcome = JSON.stringify(receipt);
      this.d.requests.complete(orgId, req.id, channel === 'organizer' ? (ctx.actor.id ?? null) : null, outcome, actorCtx);
      this.d.mailer.enqueue({
        orgId,
        to: email,
        ...renderMail('erasureReceipt', {
          org: org?.name ?? 'The organization',
          at: new Date(receipt.at).toISOString().replace('T', ' ').slice(0, 16) + ' UTC',
          erased: receipt.erasedRegistrations ? [`${receipt.erasedRegistrations} registration(s): ${receipt.erased.join(', ')}`] : [],
          kept: receipt.kept,
          held: receipt.held.map((h) => `${h.eventTitle}: ${h.reason} (until ${day(h.until)})`),
          backups: receipt.backupsExpireBy ? `Encrypted backups taken before the erasure still hold the data until ${day(receipt.backupsExpireBy)}, when the last of them expires; a restore never brings it back.` : 'No backups hold the data.',
        }),
      });
      this.d.requests.forget(orgId, email);
      return { receipt, requestId: req.id };
    });
  }
}

import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { Mailer } from '../mail/service.ts';
import { renderMail } from '../mail/templates.ts';
import type { OrgRow } from '../orgs/repo.ts';
import { type PrivacyRequestRow, type RequestType, privacyRequestsRepo } from './requests-repo.ts';

export type { PrivacyRequestRow, RequestType } from './requests-repo.ts';

export interface RequestDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  mailer: Pick<Mailer, 'enqueue'>;
  now: () => number;
  baseUrl: () => string;
  /** who is told about each request: the organization's owners and admins */
  orgAdmins: (orgId: string) => { id: string; email: string }[];
  orgById: (orgId: string) => OrgRow | undefined;
}

export type RequestView = PrivacyRequestRow & { overdue: boolean };

const typeWords: Record<RequestType, string> = { access: 'access (copy of the data)', erasure: 'erasure', correction: 'correction' };

/** The deadline of Art. 12(3): one month after the request arrived (the same day of the next month, or its last day). */
export function deadlineOf(receivedMs: number): string {
  const d = new Date(receivedMs);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + 1);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.toISOString();
}

/**
 * Data-subject requests as records: every access, erasure and correction request, however it
 * arrived, with its one-month deadline. The organization's owners and admins are emailed about
 * each (with a link, no personal data in the mail); every step is audited by id only.
 */
export class PrivacyRequests {
  private readonly repo;

  constructor(private readonly d: RequestDeps) {
    this.repo = privacyRequestsRepo(d.db);
  }

  private view(r: PrivacyRequestRow): RequestView {
    return { ...r, overdue: r.status === 'open' && Date.parse(r.deadline_at) < this.d.now() };
  }

  /** Records a request (inside the caller's transaction, if any) and tells the organization's admins. */
  create(orgId: string, input: { type: RequestType; channel: PrivacyRequestRow['channel']; email: string; message?: string; completed?: { by: string | null; outcome: string } }, ctx: AuditContext): PrivacyRequestRow {
    const now = this.d.now();
    const at = new Date(now).toISOString();
    const row: PrivacyRequestRow = {
      id: randomUUID(),
      org_id: orgId,
      type: input.type,
      status: input.completed ? 'completed' : 'open',
      channel: input.channel,
      email: input.email.toLowerCase(),
      message: input.message ?? '',
      received_at: at,
      deadline_at: deadlineOf(now),
      completed_at: input.completed ? at : null,
      completed_by: input.completed?.by ?? null,
      outcome: input.completed?.outcome ?? '',
    };
    this.d.writer.tx(() => {
      this.repo.insertRequest(row);
      this.d.audit.record({ ...ctx, orgId }, 'privacy.request_received', { type: 'privacy_request', id: row.id }, 'success', { type: row.type, channel: row.channel, status: row.status });
      this.notify(row);
    });
    return row;
  }

  private notify(r: PrivacyRequestRow): void {
    const org = this.d.orgById(r.org_id);
    if (!org) return;
    const mail = renderMail('privacyRequestNotice', {
      org: org.name,
      type: typeWords[r.type],
      channel: r.channel === 'self-service' ? 'by the person, on the privacy page' : 'recorded by staff',
      received: r.received_at.slice(0, 16).replace('T', ' ') + ' UTC',
      deadline: r.deadline_at.slice(0, 10),
      status: r.status === 'completed' ? 'completed (done at once)' : 'open: needs an answer',
      link: `${this.d.baseUrl()}/orgs/${org.slug}/privacy/requests/${r.id}`,
    });
    for (const a of this.d.orgAdmins(r.org_id)) this.d.mailer.enqueue({ orgId: r.org_id, to: a.email, ...mail });
  }

  complete(orgId: string, id: string, by: string | null, outcome: string, ctx: AuditContext): boolean {
    return this.d.writer.tx(() => {
      const done = this.repo.complete(orgId, id, new Date(this.d.now()).toISOString(), by, outcome);
      if (done) this.d.audit.record({ ...ctx, orgId }, 'privacy.request_completed', { type: 'privacy_request', id });
      return done;
    });
  }

  /** The requests page: open ones first, newest first; reading it is audited (it shows addresses). */
  list(orgId: string, ctx: AuditContext): RequestView[] {
    const rows = this.repo.requests(orgId, 500).map((r) => this.view(r));
    this.d.audit.record({ ...ctx, orgId }, 'privacy.requests_listed', { type: 'organization', id: orgId }, 'success', { results: rows.length });
    return rows;
  }

  get(orgId: string, id: string, ctx: AuditContext): RequestView | undefined {
    const r = this.repo.request(orgId, id);
    if (r) this.d.audit.record({ ...ctx, orgId }, 'privacy.request_viewed', { type: 'privacy_request', id });
    return r && this.view(r);
  }

  /** A person's own requests, shown on their privacy page. */
  of(orgId: string, email: string): RequestView[] {
    return this.repo.requestsOf(orgId, email).map((r) => this.view(r));
  }

  /** After an erasure: the requests keep dates and outcome, not the address, the text or any link. */
  forget(orgId: string, email: string): void {
    this.repo.forgetRequests(orgId, email);
    this.repo.forgetLinks(orgId, email);
  }
}

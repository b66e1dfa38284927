import { randomUUID } from 'node:crypto';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { Mailer } from '../mail/service.ts';
import { renderMail } from '../mail/templates.ts';
import type { OrgRow } from '../orgs/repo.ts';
import type { AuditContext, AuditLog } from './service.ts';

export interface IncidentRow {
  id: string;
  org_id: string;
  title: string;
  what_happened: string;
  affected_data: string;
  likely_consequences: string;
  measures_taken: string;
  affected_people: number | null;
  computed_people: number | null;
  alert_id: number | null;
  aware_at: number;
  declared_by: string | null;
  notified_at: number | null;
  authority_notified_at: number | null;
  created_at: number;
}

/** Art. 33(1): the authority is told within 72 hours of becoming aware. */
export const ART33_MS = 72 * 3600_000;

export type IncidentView = IncidentRow & { deadline: number; msLeft: number; overdue: boolean };

export interface IncidentInput {
  title: string;
  what_happened: string;
  affected_data: string;
  likely_consequences: string;
  measures_taken: string;
  affected_people: number | null;
  aware_at: number;
  alert_id: number | null;
}

function incidentsRepo(db: DB) {
  const s = {
    insert: db.prepare(`INSERT INTO security_incidents (id, org_id, title, what_happened, affected_data, likely_consequences, measures_taken, affected_people, computed_people, alert_id, aware_at, declared_by, created_at)
      VALUES (@id, @org_id, @title, @what_happened, @affected_data, @likely_consequences, @measures_taken, @affected_people, @computed_people, @alert_id, @aware_at, @declared_by, @created_at)`),
    get: db.prepare('SELECT * FROM security_incidents WHERE org_id = ? AND id = ?'),
    list: db.prepare('SELECT * FROM security_incidents WHERE org_id = ? ORDER BY created_at DESC LIMIT 200'),
    notified: db.prepare('UPDATE security_incidents SET notified_at = ? WHERE org_id = ? AND id = ?'),
    authority: db.prepare('UPDATE security_incidents SET authority_notified_at = ? WHERE org_id = ? AND id = ? AND authority_notified_at IS NULL'),
    alert: db.prepare('SELECT key, created_at FROM security_alerts WHERE org_id = ? AND id = ?'),
    // The attendee records one actor touched in the day before an alert: registrations opened, and the rows of exports.
    touched: db.prepare(`SELECT
        (SELECT count(DISTINCT target_id) FROM audit_log WHERE org_id = @org AND actor_id = @actor AND action = 'attendee.viewed' AND at BETWEEN @from AND @to)
      + (SELECT coalesce(sum(json_extract(details, '$.rows')), 0) FROM audit_log WHERE org_id = @org AND actor_id = @actor AND action = 'attendee.exported' AND at BETWEEN @from AND @to) AS n`),
  };
  return {
    insert: (r: Omit<IncidentRow, 'notified_at' | 'authority_notified_at'>) => void s.insert.run(r),
    get: (orgId: string, id: string) => s.get.get(orgId, id) as IncidentRow | undefined,
    list: (orgId: string) => s.list.all(orgId) as IncidentRow[],
    notified: (orgId: string, id: string, at: number) => void s.notified.run(at, orgId, id),
    authority: (orgId: string, id: string, at: number) => s.authority.run(at, orgId, id).changes === 1,
    alert: (orgId: string, id: number) => s.alert.get(orgId, id) as { key: string; created_at: number } | undefined,
    touched: (orgId: string, actor: string, from: string, to: string) => (s.touched.get({ org: orgId, actor, from, to }) as { n: number }).n,
  };
}

/**
 * Personal-data breaches: declared by an owner or admin, from an alert or by hand; the product
 * keeps the 72-hour clock of Art. 33, mails the owners and admins, and gives the report for the
 * authority (HTML and JSON). From a bulk-read alert, the people affected are counted from the
 * audit log (the records that member opened or exported in the day before).
 */
export class Incidents {
  private readonly repo;

  constructor(private readonly d: { db: DB; writer: Pick<Writer, 'tx'>; audit: AuditLog; mailer: Pick<Mailer, 'enqueue'>; now: () => number; baseUrl: () => string; orgAdmins: (orgId: string) => { id: string; email: string }[] }) {
    this.repo = incidentsRepo(d.db);
  }

  private view(r: IncidentRow): IncidentView {
    const deadline = r.aware_at + ART33_MS;
    return { ...r, deadline, msLeft: deadline - this.d.now(), overdue: r.authority_notified_at === null && deadline < this.d.now() };
  }

  /** What the audit log says about the people an alert's actor touched, or null when it cannot say. */
  computedPeople(orgId: string, alertId: number | null): number | null {
    if (alertId === null) return null;
    const a = this.repo.alert(orgId, alertId);
    const actor = a?.key.startsWith('bulk-reads:') ? a.key.slice('bulk-reads:'.length) : undefined;
    if (!a || !actor) return null;
    const iso = (ms: number) => new Date(ms).toISOString();
    return this.repo.touched(orgId, actor, iso(a.created_at - 86_400_000), iso(a.created_at + 60_000));
  }

  declare(org: OrgRow, input: IncidentInput, ctx: AuditContext): IncidentRow {
    const row = { id: randomUUID(), org_id: org.id, ...input, computed_people: this.computedPeople(org.id, input.alert_id), declared_by: ctx.actor.id ?? null, created_at: this.d.now() };
    this.d.writer.tx(() => {
      this.repo.insert(row);
      this.d.audit.record({ ...ctx, orgId: org.id }, 'security.incident_declared', { type: 'incident', id: row.id }, 'success', { alert: input.alert_id });
    });
    return { ...row, notified_at: null, authority_notified_at: null };
  }

  list(orgId: string): IncidentView[] {
    return this.repo.list(orgId).map((r) => this.view(r));
  }

  get(orgId: string, id: string): IncidentView | undefined {
    const r = this.repo.get(orgId, id);
    return r && this.view(r);
  }

  /** Emails the organization's owners and admins about the incident (again, if asked twice). */
  notify(org: OrgRow, inc: IncidentView, ctx: AuditContext): number {
    const admins = this.d.orgAdmins(org.id);
    const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    this.d.writer.tx(() => {
      const mail = renderMail('securityAlert', {
        title: `Personal-data incident: ${inc.title}`,
        lines: [
          `${org.name} recorded a personal-data incident.`,
          `Aware since ${iso(inc.aware_at)}; the supervisory authority must be told by ${iso(inc.deadline)} (GDPR Art. 33), unless the breach is unlikely to result in a risk to people.`,
          `Report: ${this.d.baseUrl()}/orgs/${org.slug}/security/incidents/${inc.id}`,
        ],
      });
      for (const a of admins) this.d.mailer.enqueue({ orgId: org.id, to: a.email, ...mail });
      this.repo.notified(org.id, inc.id, this.d.now());
      this.d.audit.record({ ...ctx, orgId: org.id }, 'security.incident_notified', { type: 'incident', id: inc.id }, 'success', { recipients: admins.map((a) => a.id) });
    });
    return admins.length;
  }

  authorityNotified(orgId: string, id: string, ctx: AuditContext): boolean {
    return this.d.writer.tx(() => {
      const done = this.repo.authority(orgId, id, this.d.now());
      if (done) this.d.audit.record({ ...ctx, orgId }, 'security.incident_authority_notified', { type: 'incident', id });
      return done;
    });
  }

  /**
   * The report for the authority, as data: what Art. 33(3) asks a notification to describe. The
   * printable HTML report shows every one of these facts; `at` is when it was produced.
   */
  report(org: OrgRow, inc: IncidentView): IncidentReport {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      organization: org.name,
      controllerContact: org.controller_contact || null,
      incident: inc.id,
      title: inc.title,
      whatHappened: inc.what_happened,
      affectedData: inc.affected_data,
      affectedPeople: inc.affected_people,
      affectedPeopleFromAuditLog: inc.computed_people,
      likelyConsequences: inc.likely_consequences,
      measuresTaken: inc.measures_taken,
      awareAt: iso(inc.aware_at),
      authorityDeadline: iso(inc.deadline),
      authorityNotifiedAt: iso(inc.authority_notified_at),
      ownersNotifiedAt: iso(inc.notified_at),
      declaredAt: iso(inc.created_at),
      fromAlert: inc.alert_id,
      reportAt: new Date(this.d.now()).toISOString(),
    };
  }
}

export interface IncidentReport {
  organization: string;
  controllerContact: string | null;
  incident: string;
  title: string;
  whatHappened: string;
  affectedData: string;
  affectedPeople: number | null;
  affectedPeopleFromAuditLog: number | null;
  likelyConsequences: string;
  measuresTaken: string;
  awareAt: string | null;
  authorityDeadline: string | null;
  authorityNotifiedAt: string | null;
  ownersNotifiedAt: string | null;
  declaredAt: string | null;
  fromAlert: number | null;
  reportAt: string;
}

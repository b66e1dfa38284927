import { type AuditContext, type AuditLog, systemContext } from '../audit/service.ts';
import { settingsRepo } from '../config/repo.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import { ReadCache } from '../events/read-cache.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/service.ts';
import { ALL_FIELDS } from './apply.ts';
import type { ErasureService } from './erasure.ts';
import { type InstanceRetention, dayOf, defaultInstanceRetention, dueAt, eventRetentionDays, fieldRetentionDays, instanceRetentionSchema } from './policy.ts';
import type { ErasableRow } from './erasure-repo.ts';
import { type RetentionEventRow, type RetentionRepo, retentionRepo } from './retention-repo.ts';

const DAY = 86_400_000;
/** Registrations per purge transaction: a few milliseconds of UPDATEs each (see bench/scenarios/purge.ts). */
export const PURGE_BATCH = 200;
const SETTING = 'retention';

export interface RetentionDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  erasure: ErasureService;
  mailer: Mailer;
  /** owners and admins of the org, who get the warning */
  recipients: (orgId: string) => { id: string; email: string }[];
  now: () => number;
  log: Logger;
  baseUrl: () => string;
}

/** When an event's personal data goes, for its pages (dates, not rules). */
export interface EventSchedule {
  days: number;
  from: 'instance' | 'organization' | 'event';
  /** YYYY-MM-DD: the day everything personal is erased */
  eraseOn: string;
  fields: { key: string; label: string; days: number; eraseOn: string }[];
}

/** One line of a run (or of a dry run): what goes, or would go, for one event. */
export interface RetentionAction {
  orgId: string;
  eventId: string;
  event: string;
  /** field keys, or ['*'] */
  fields: string[];
  registrations: number;
  held: number;
}

export interface RetentionReport {
  dryRun: boolean;
  actions: RetentionAction[];
  warned: string[];
  erased: number;
}

export type PolicyResult = { ok: true } | { ok: false; message: string };

/** Lets the event loop answer requests between two transactions of a long purge. */
const yieldToRequests = () => new Promise<void>((r) => setImmediate(r));

export interface RunOptions {
  dryRun?: boolean;
  ctx?: AuditContext;
  /** called between two purge batches with the time the last one took; by default the next follows at once */
  rest?: (batchMs: number) => Promise<void>;
}

/**
 * For the purge inside the server, beside live requests: rest as long as the batch took, so a
 * long purge leaves at least half of the time to requests. Measured alternately (bench purge, 100,000 rows
 * at 64 connections): registration p99 during the purge 1.14-1.52x without it, against
 * 1.60-1.68x with batches back to back, the purge at 580 instead of 1,000 rows/s. The CLI runs
 * alone and goes at full speed.
 */
export const restAsLongAsTheBatch = (batchMs: number) => new Promise<void>((r) => setTimeout(r, batchMs));

/**
 * Retention: the policy chain (instance → organization → event → field, days after the event
 * ends) and the job that erases what is due. The job runs at start and hourly in the process
 * and by `tessera retention run`; it purges in transactions of PURGE_BATCH registrations and
 * yields between them, warns owners and admins once per event before anything goes, and skips
 * registrations on legal hold.
 */
export class RetentionService {
  private readonly repo: RetentionRepo;
  private readonly schedules: ReadCache<EventSchedule | undefined>;
  private readonly settings;
  private running: Promise<RetentionReport> | undefined;

  constructor(private readonly d: RetentionDeps) {
    this.repo = retentionRepo(d.db);
    this.schedules = new ReadCache(d.db);
    this.settings = settingsRepo(d.db);
  }

  instancePolicy(): InstanceRetention {
    const raw = this.settings.get(SETTING);
    if (!raw) return defaultInstanceRetention;
    const parsed = instanceRetentionSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : defaultInstanceRetention;
  }

  setInstancePolicy(input: unknown, ctx: AuditContext): PolicyResult {
    const parsed = instanceRetentionSchema.safeParse(input);
    if (!parsed.success) return { ok: false, message: parsed.error.issues[0]?.message ?? 'Invalid retention policy.' };
    const p = parsed.data;
    this.d.writer.tx(() => {
      this.settings.put(SETTING, JSON.stringify(p), new Date(this.d.now()).toISOString());
      this.d.audit.record(ctx, 'retention.instance_policy_changed', { type: 'instance' }, 'success', { ...p });
    });
    return { ok: true };
  }

  private checkRange(days: number | null): PolicyResult {
    if (days === null) return { ok: true };
    const p = this.instancePolicy();
    if (!Number.isInteger(days) || days < p.minDays || days > p.maxDays) return { ok: false, message: `Choose between ${p.minDays} and ${p.maxDays} days (the range this instance allows).` };
    return { ok: true };
  }

  orgDays(orgId: string): number | null {
    return this.repo.orgDays(orgId);
  }

  /** The event's own setting (null: inherited) and each field's, for the settings form. */
  eventSettings(orgId: string, eventId: string): { days: number | null; fields: { key: string; label: string; days: number | null }[] } {
    return { days: this.repo.eventDays(orgId, eventId), fields: this.repo.allFields(orgId, eventId).map((f) => ({ key: f.key, label: f.label, days: f.retention_days })) };
  }

  setOrgDays(orgId: string, days: number | null, ctx: AuditContext): PolicyResult {
    const c = this.checkRange(days);
    if (!c.ok) return c;
    this.d.writer.tx(() => {
      this.repo.setOrgDays(orgId, days);
      this.d.audit.record({ ...ctx, orgId }, 'retention.org_policy_changed', { type: 'organization', id: orgId }, 'success', { days });
    });
    return { ok: true };
  }

  setEventDays(orgId: string, eventId: string, days: number | null, ctx: AuditContext): PolicyResult {
    const c = this.checkRange(days);
    if (!c.ok) return c;
    const ok = this.d.writer.tx(() => {
      const changed = this.repo.setEventDays(orgId, eventId, days);
      if (changed) this.d.audit.record({ ...ctx, orgId }, 'retention.event_policy_changed', { type: 'event', id: eventId }, 'success', { days });
      return changed;
    });
    return ok ? { ok: true } : { ok: false, message: 'No such event.' };
  }

  setFieldDays(orgId: string, eventId: string, key: string, days: number | null, ctx: AuditContext): PolicyResult {
    const c = this.checkRange(days);
    if (!c.ok) return c;
    const ok = this.d.writer.tx(() => {
      const changed = this.repo.setFieldDays(orgId, eventId, key, days);
      if (changed) this.d.audit.record({ ...ctx, orgId }, 'retention.field_policy_changed', { type: 'event', id: eventId }, 'success', { field: key, days });
      return changed;
    });
    return ok ? { ok: true } : { ok: false, message: 'No such field (name and email follow the event).' };
  }

  /** When this event's personal data will be erased; undefined for an unknown event. */
  schedule(orgId: string, eventId: string): EventSchedule | undefined {
    // Read on every public page view and registration: remembered until the next write (ReadCache).
    return this.schedules.get(`${orgId}|${eventId}`, () => {
      const ev = this.repo.event(orgId, eventId);
      return ev && this.scheduleOf(ev, this.instancePolicy());
    });
  }

  private scheduleOf(ev: RetentionEventRow, p: InstanceRetention): EventSchedule {
    const { days, from } = eventRetentionDays(p, ev.org_retention_days, ev.retention_days);
    // Before the warning has gone out, the earliest possible day is warnDays from now.
    const due = (d: number) => {
      const at = dueAt(ev.ends_at, d, ev.warned_at, p.warnDays);
      return ev.warned_at ? at : Math.max(at, this.d.now() + p.warnDays * DAY);
    };
    const fields = this.repo.fieldPolicies(ev.org_id, ev.id).map((f) => {
      const fd = fieldRetentionDays(p, days, f.retention_days);
      return { key: f.key, label: f.label, days: fd, eraseOn: dayOf(due(fd)) };
    });
    return { days, from, eraseOn: dayOf(due(days)), fields };
  }

  private stopped = false;

  /** No new pass starts and a running one ends after its current transaction (shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }

  /** One pass; a second call while one runs gets the running one's report. */
  run(opts: RunOptions = {}): Promise<RetentionReport> {
    if (this.stopped) return Promise.resolve({ dryRun: !!opts.dryRun, actions: [], warned: [], erased: 0 });
    const rest = opts.rest ?? yieldToRequests;
    if (opts.dryRun) return this.pass(true, opts.ctx ?? systemContext(), rest);
    this.running ??= this.pass(false, opts.ctx ?? systemContext(), rest).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(dryRun: boolean, ctx: AuditContext, rest: (batchMs: number) => Promise<void>): Promise<RetentionReport> {
    const p = this.instancePolicy();
    const report: RetentionReport = { dryRun, actions: [], warned: [], erased: 0 };
    if (!dryRun) this.d.erasure.forgetSentReceipts();
    for (const ev of this.repo.eventsWithData()) {
      if (this.stopped) break;
      const t = this.d.now();
      const nowIso = new Date(t).toISOString();
      const { days } = eventRetentionDays(p, ev.org_retention_days, ev.retention_days);
      const fields = this.repo.fieldPolicies(ev.org_id, ev.id).map((f) => ({ key: f.key, days: fieldRetentionDays(p, days, f.retention_days) }));
      const earliest = Math.min(...[days, ...fields.map((f) => f.days)].map((d) => dueAt(ev.ends_at, d, null, p.warnDays)));
      if (!ev.warned_at) {
        if (t >= earliest - p.warnDays * DAY) {
          if (!dryRun) this.warn(ev, Math.max(earliest, t + p.warnDays * DAY), nowIso);
          report.warned.push(ev.id);
        }
        continue;
      }
      const held = this.repo.countHeld(ev.org_id, ev.id, nowIso);
      const allDue = t >= dueAt(ev.ends_at, days, ev.warned_at, p.warnDays);
      for (const f of fields) {
        // When everything is due, the fields go with it in one pass.
        if (allDue || f.days >= days || t < dueAt(ev.ends_at, f.days, ev.warned_at, p.warnDays)) continue;
        const n = dryRun ? this.repo.countField(ev.org_id, ev.id, f.key, nowIso) : await this.purge(ev, [f.key], nowIso, ctx, rest);
        if (n > 0) report.actions.push({ orgId: ev.org_id, eventId: ev.id, event: ev.slug, fields: [f.key], registrations: n, held });
        if (!dryRun) report.erased += n;
      }
      if (!allDue) continue;
      const n = dryRun ? this.repo.countDue(ev.org_id, ev.id, nowIso) : await this.purge(ev, [ALL_FIELDS], nowIso, ctx, rest);
      if (n > 0 || held > 0) report.actions.push({ orgId: ev.org_id, eventId: ev.id, event: ev.slug, fields: [ALL_FIELDS], registrations: n, held });
      if (!dryRun) report.erased += n;
    }
    if (!dryRun && (report.erased > 0 || report.warned.length > 0)) this.d.log.info({ erased: report.erased, warned: report.warned.length }, 'retention: pass done');
    return report;
  }

  /** Batches until nothing due is left, resting between two transactions (see RunOptions.rest). */
  private async purge(ev: RetentionEventRow, fields: string[], nowIso: string, ctx: AuditContext, rest: (batchMs: number) => Promise<void>): Promise<number> {
    let total = 0;
    let after = 0;
    const all = fields[0] === ALL_FIELDS;
    const next = (): ErasableRow[] => {
      // Erased rows leave the partial index, so the whole-registration batch needs no cursor.
      if (all) return this.repo.dueBatch(ev.org_id, ev.id, nowIso, PURGE_BATCH);
      const rows = this.repo.fieldBatch(ev.org_id, ev.id, fields[0] as string, nowIso, after, PURGE_BATCH);
      after = rows.at(-1)?.rid ?? after;
      return rows;
    };
    for (;;) {
      const start = performance.now();
      const rows = next();
      if (rows.length === 0 || this.stopped) return total;
      const n = await this.d.erasure.eraseRegistrations(ev.org_id, ev.id, rows, fields, 'retention', ctx);
      total += n;
      // Without a cursor, a batch that changed nothing would repeat forever.
      if (n === 0 && all) return total;
      await rest(performance.now() - start);
    }
  }

  private warn(ev: RetentionEventRow, dueMs: number, nowIso: string): void {
    const base = this.d.baseUrl();
    const exportUrl = `${base}/orgs/${ev.org_slug}/events/${ev.id}/attendees`;
    const day = dayOf(dueMs);
    this.d.writer.tx(() => {
      if (!this.repo.recordWarning(ev.id, ev.org_id, new Date(dueMs).toISOString(), nowIso)) return;
      const to = this.d.recipients(ev.org_id);
      for (const r of to) {
        this.d.mailer.enqueue({
          orgId: ev.org_id,
          template: 'retention.warning',
          to: r.email,
          subject: `Attendee data of "${ev.title}" will be erased on ${day}`,
          text: [
            `The retention policy erases the personal data of the attendees of "${ev.title}" on ${day} (or on the day shown on the event's page).`,
            '',
            'If you need a copy, export it before then:',
            exportUrl,
            '',
            'Registrations under a legal hold are kept until their hold ends. Counts and statistics stay.',
          ].join('\n'),
        });
      }
      this.d.audit.record({ actor: { type: 'system' }, orgId: ev.org_id }, 'retention.warning_sent', { type: 'event', id: ev.id }, 'success', { due: day, recipients: to.map((r) => r.id) });
    });
  }
}

import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import type { DB } from '../db/open.ts';
import { csvSafe } from '../registrations/export.ts';
import { actionLabel, attendeeReadActions } from './actions.ts';
import type { AuditRow } from './repo.ts';
import { type AuditQuery, auditSearchRepo } from './search-repo.ts';
import type { AuditContext, AuditLog } from './service.ts';

/** The most rows one export carries; a bigger one is cut and says so in its last line. */
export const EXPORT_MAX_ROWS = 100_000;
export const PAGE_ROWS = 50;

const id = z.string().trim().max(64).regex(/^[A-Za-z0-9_:.-]*$/, 'Use an id (letters, digits, - _ : .).');
const dateTime = z
  .string()
  .trim()
  .max(40)
  .refine((v) => v === '' || !Number.isNaN(Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v.length === 16 ? `${v}:00Z` : v)), 'Enter a date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM, UTC).');
/** Raw filter values from a query string or form body; `subject` may come once or repeated. */
export function filterInput(get: (k: string) => string | undefined, all: (k: string) => string[] | undefined): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const k of ['actor', 'action', 'target', 'ip', 'from', 'to', 'result', 'scope', 'before'] as const) {
    const v = get(k);
    if (v !== undefined && v !== '') raw[k] = v;
  }
  raw.subject = all('subject') ?? [];
  return raw;
}

/** The filter as it travels in links and forms. `person` (an email) only ever arrives in a POST body. */
export const filterSchema = z.object({
  actor: z.string().trim().max(254).default(''),
  action: z.string().trim().max(80).regex(/^([a-z0-9_]+\.(\*|[a-z0-9_]+))?$/, 'Choose an action from the list.').default(''),
  target: id.default(''),
  subject: z.array(z.string().regex(/^[A-Za-z0-9_-]{32}$/)).max(8).default([]),
  ip: z.string().trim().max(45).regex(/^[0-9a-fA-F.:]*$/, 'Enter an IP address.').default(''),
  from: dateTime.default(''),
  to: dateTime.default(''),
  result: z.enum(['', 'success', 'failure', 'denied']).default(''),
  /** instance admins only: '' everything, 'instance' rows without an organization, or one organization's id */
  scope: z.string().regex(/^(|instance|[0-9a-f-]{36})$/, 'Choose a scope from the list.').default(''),
  before: z.coerce.number().int().positive().optional(),
});
export type AuditFilter = z.infer<typeof filterSchema>;

/** A typed date or date-time (UTC) as an ISO string; a bare date as "to" means the end of that day. */
export function isoOf(v: string, end: boolean): string | undefined {
  if (!v) return undefined;
  if (v.length === 10) return new Date(Date.parse(`${v}T00:00:00Z`) + (end ? 86_400_000 : 0)).toISOString();
  return new Date(Date.parse(v.length === 16 ? `${v}:00Z` : v)).toISOString();
}

/** The filter as query parameters, for the next-page link and the export (never an email). */
export function filterQuery(f: AuditFilter, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  for (const k of ['actor', 'action', 'target', 'ip', 'from', 'to', 'result', 'scope'] as const) if (f[k]) p.set(k, f[k]);
  for (const s of f.subject) p.append('subject', s);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  const q = p.toString();
  return q ? `?${q}` : '';
}

export interface AuditSearchDeps {
  db: DB;
  audit: AuditLog;
  now: () => number;
  /** a staff account's id by email, so the actor filter takes either */
  userIdByEmail: (email: string) => string | undefined;
}

/**
 * Searching, reading and exporting the audit log for the audit pages. Scope is decided by the
 * caller (routes): an organization's id, or null for an instance admin's whole-instance view.
 */
export class AuditSearch {
  private readonly repo;
  constructor(private readonly d: AuditSearchDeps) {
    this.repo = auditSearchRepo(d.db);
  }

  /** The person's pseudonyms: what the search keeps of a typed email (the email itself is dropped). */
  pseudonymsOf(orgId: string, email: string): string[] {
    return this.d.audit.personPseudonyms(orgId, email);
  }

  private query(scopeOrg: string | null, f: AuditFilter): AuditQuery {
    const orgId = scopeOrg ?? (f.scope && f.scope !== 'instance' ? f.scope : null);
    const actor = f.actor.includes('@') ? (this.d.userIdByEmail(f.actor) ?? '\u0000unknown') : f.actor;
    return {
      orgId,
      ...(orgId === null && f.scope === 'instance' ? { instanceOnly: true } : {}),
      ...(actor ? { actorId: actor } : {}),
      ...(f.action ? { action: f.action } : {}),
      ...(f.target ? { targetId: f.target } : {}),
      ...(f.subject.length ? { subjects: f.subject } : {}),
      ...(f.ip ? { ip: f.ip } : {}),
      ...(f.from ? { from: isoOf(f.from, false)! } : {}),
      ...(f.to ? { to: isoOf(f.to, true)! } : {}),
      ...(f.result ? { result: f.result } : {}),
      ...(f.before ? { before: f.before } : {}),
    };
  }

  /** One page, newest first, and the cursor of the next (null on the last page). */
  search(orgId: string | null, f: AuditFilter, limit = PAGE_ROWS): { rows: AuditRow[]; next: number | null } {
    const rows = this.repo.search(this.query(orgId, f), limit + 1);
    const more = rows.length > limit;
    if (more) rows.pop();
    return { rows, next: more ? (rows.at(-1)?.seq ?? null) : null };
  }

  /** Every organization's id and name (instance admins' scope choice and names). */
  organizations(): { id: string; name: string }[] {
    return this.repo.orgNames();
  }

  entry(orgId: string | null, seq: number): AuditRow | undefined {
    return this.repo.entry(seq, orgId);
  }

  /** A search by person is itself a read about that person: audited, by pseudonym count only. */
  personSearched(orgId: string | null, ctx: AuditContext): void {
    this.d.audit.record({ ...ctx, orgId }, 'audit.searched_person', { type: 'audit_log', id: orgId ?? 'instance' }, 'success');
  }

  /**
   * Staff reads and exports of one registration: views, reveals, check-ins, changes, and exports
   * of its event's list made after it registered (an export may or may not include it: its filter
   * is in the details).
   */
  accessesOf(orgId: string, reg: { id: string; event_id: string; created_at: string }, limit = 100): AuditRow[] {
    const direct = this.repo.search({ orgId, targetId: reg.id }, 500).filter((r) => (attendeeReadActions as readonly string[]).includes(r.action) && r.actor_type !== 'attendee');
    const exports = this.repo.search({ orgId, targetId: reg.event_id, action: 'attendee.exported', from: reg.created_at }, 500);
    return [...direct, ...exports].sort((a, b) => b.seq - a.seq).slice(0, limit);
  }

  /**
   * The export of a filtered view, audited before the first byte leaves: the audit row says which
   * filter (its shape; a person by pseudonym count, never the email) and how many rows.
   */
  export(orgId: string | null, f: AuditFilter, format: 'csv' | 'json', ctx: AuditContext): Generator<string> {
    const { before: _b, ...filter } = f;
    const rows: AuditRow[] = [];
    let cursor: number | undefined;
    while (rows.length < EXPORT_MAX_ROWS) {
      const page = this.repo.search(this.query(orgId, { ...filter, ...(cursor ? { before: cursor } : {}) }), Math.min(5000, EXPORT_MAX_ROWS - rows.length));
      if (page.length === 0) break;
      rows.push(...page);
      cursor = page.at(-1)!.seq;
    }
    const { subject, ...shape } = filter;
    this.d.audit.record({ ...ctx, orgId }, 'audit.exported', { type: 'audit_log', id: orgId ?? 'instance' }, 'success', { format, filter: { ...shape, person: subject.length > 0 }, rows: rows.length });
    return format === 'csv' ? csvLines(rows) : jsonLines(rows);
  }
}

const exportRow = (r: AuditRow) => ({
  seq: r.seq,
  at: r.at,
  organization: r.org_id,
  actor_type: r.actor_type,
  actor_id: r.actor_id,
  action: r.action,
  action_words: actionLabel(r.action),
  target_type: r.target_type,
  target_id: r.target_id,
  result: r.result,
  ip: r.ip,
  user_agent: r.user_agent,
  request_id: r.request_id,
  details: r.details,
});

function* csvLines(rows: AuditRow[]): Generator<string> {
  const cols = Object.keys(exportRow(rows[0] ?? ({ details: '{}' } as AuditRow)));
  yield stringify([cols]);
  for (let i = 0; i < rows.length; i += 500) {
    yield stringify(rows.slice(i, i + 500).map((r) => Object.values(exportRow(r)).map((v) => (typeof v === 'string' ? csvSafe(v) : v === null ? '' : String(v)))));
  }
}

function* jsonLines(rows: AuditRow[]): Generator<string> {
  yield '[';
  for (let i = 0; i < rows.length; i++) yield `${i ? ',' : ''}\n${JSON.stringify(exportRow(rows[i]!))}`;
  yield '\n]\n';
}

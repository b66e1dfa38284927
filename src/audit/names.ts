import type { AuditRow } from './repo.ts';

/** Where the audit pages look up the words for the ids a row holds. */
export interface NameSources {
  user(id: string): string | undefined;
  org(id: string): string | undefined;
  event(orgId: string, id: string): string | undefined;
  token(orgId: string, id: string): string | undefined;
}

export type Names = Map<string, string>;

const eventOf = (r: AuditRow): string | undefined => {
  try {
    const d = JSON.parse(r.details) as { event?: unknown };
    return typeof d.event === 'string' ? d.event : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Words for the actors and targets of a page of rows ("user Ada Admin", "event Spring meetup"),
 * keyed `type:id`. Looked up once per distinct id; a missing object (deleted event, removed
 * member) keeps its short id.
 */
export function namesFor(rows: AuditRow[], src: NameSources): Names {
  const names: Names = new Map();
  const put = (key: string, fn: () => string | undefined) => {
    if (names.has(key)) return;
    const v = fn();
    if (v) names.set(key, v);
  };
  for (const r of rows) {
    if (r.actor_id && r.actor_type === 'user') put(`user:${r.actor_id}`, () => src.user(r.actor_id!));
    if (r.actor_id && r.actor_type === 'api_token' && r.org_id) put(`api_token:${r.actor_id}`, () => src.token(r.org_id!, r.actor_id!));
    if (r.org_id) put(`organization:${r.org_id}`, () => src.org(r.org_id!));
    if (!r.target_id) continue;
    const t = r.target_type;
    if (t === 'user') put(`user:${r.target_id}`, () => src.user(r.target_id!));
    else if (t === 'organization') put(`organization:${r.target_id}`, () => src.org(r.target_id!));
    else if (t === 'event' && r.org_id) put(`event:${r.target_id}`, () => src.event(r.org_id!, r.target_id!));
    else if (t === 'api_token' && r.org_id) put(`api_token:${r.target_id}`, () => src.token(r.org_id!, r.target_id!));
    const ev = eventOf(r);
    if (ev && r.org_id) put(`event:${ev}`, () => src.event(r.org_id!, ev));
  }
  return names;
}

const short = (id: string | null) => (id ? id.slice(0, 8) : '');

export function actorText(r: AuditRow, names: Names): string {
  if (r.actor_type === 'system') return 'system';
  if (r.actor_type === 'attendee') return `attendee (registration ${short(r.actor_id)})`;
  const kind = r.actor_type === 'api_token' ? 'API token' : 'user';
  return `${kind} ${names.get(`${r.actor_type}:${r.actor_id}`) ?? short(r.actor_id)}`.trim();
}

export function targetText(r: AuditRow, names: Names): string {
  if (!r.target_type) return '–';
  const t = r.target_type;
  if (t === 'registration') {
    const ev = eventOf(r);
    const title = ev ? names.get(`event:${ev}`) : undefined;
    return `registration ${short(r.target_id)}${title ? ` (${title})` : ''}`;
  }
  if (t === 'route') return `page ${r.target_id ?? ''}`;
  const kind = t === 'api_token' ? 'API token' : t.replace(/_/g, ' ');
  return `${kind} ${names.get(`${t}:${r.target_id}`) ?? short(r.target_id)}`.trim();
}

import { createHash } from 'node:crypto';
import type { DB } from '../db/open.ts';
import type { EventRow, FieldRow } from '../events/repo.ts';
import { privacyNoticesRepo } from './repo.ts';

/** One question of the form as the notice describes it. */
export interface NoticeField {
  label: string;
  purpose: string;
  required: boolean;
  sensitive: boolean;
  personal: boolean;
}

/**
 * The privacy notice of an event, generated from its form: the facts come from the fields and
 * settings, so an organizer cannot remove them; the organizer's own text is added after them.
 */
export interface PrivacyNotice {
  event: string;
  fields: NoticeField[];
  /** YYYY-MM-DD when personal data is erased, or null when no retention date is known yet */
  erasureDate: string | null;
  controller: string;
  organizerText: string;
}

/** Where the date personal data is erased comes from (the retention capability). */
export type ErasureDateOf = (e: EventRow) => string | null;

export function buildNotice(e: EventRow, fields: FieldRow[], erasureDate: string | null): PrivacyNotice {
  return {
    event: e.title,
    fields: fields.map((f) => ({ label: f.label, purpose: f.purpose, required: !!f.required, sensitive: !!f.sensitive, personal: !!f.personal })),
    erasureDate,
    controller: e.controller_contact,
    organizerText: e.privacy_notice,
  };
}

/**
 * Generates each event's notice and keeps every version shown: a registration stores the id of
 * the version its attendee saw (the hash of its content, so a rush shares one row).
 */
export class PrivacyNotices {
  private readonly repo;
  private readonly cache = new Map<string, { notice: PrivacyNotice; id: string; body: string }>();

  constructor(private readonly d: { db: DB; fieldsOf: (e: EventRow) => FieldRow[]; erasureDate: ErasureDateOf; now: () => number }) {
    this.repo = privacyNoticesRepo(d.db);
  }

  /** The notice as the public page shows it now (per event version; the erasure date is per day). */
  current(e: EventRow): { notice: PrivacyNotice; id: string; body: string } {
    const erasure = this.d.erasureDate(e);
    const key = `${e.id}|${e.updated_at}|${erasure ?? ''}`;
    let hit = this.cache.get(key);
    if (!hit) {
      if (this.cache.size > 500) this.cache.clear();
      const notice = buildNotice(e, this.d.fieldsOf(e), erasure);
      const body = JSON.stringify(notice);
      const id = createHash('sha256').update(`${e.org_id}\n${e.id}\n${body}`).digest('base64url');
      hit = { notice, id, body };
      this.cache.set(key, hit);
    }
    return hit;
  }

  /**
   * Stores a version (once) and returns its id; call inside the registration's transaction with
   * the notice taken from `current` before it, so the rush's transactions hold no policy lookups.
   */
  record(e: Pick<EventRow, 'org_id' | 'id'>, shown: { id: string; body: string }): string {
    this.repo.insertIfNew({ id: shown.id, org_id: e.org_id, event_id: e.id, body: shown.body, created_at: new Date(this.d.now()).toISOString() });
    return shown.id;
  }

  /** The version a registration was shown, or undefined (registered before notices were kept). */
  shown(orgId: string, noticeId: string | null): PrivacyNotice | undefined {
    if (!noticeId) return undefined;
    const body = this.repo.body(orgId, noticeId);
    return body ? (JSON.parse(body) as PrivacyNotice) : undefined;
  }
}

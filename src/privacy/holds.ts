import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import { type ErasureRepo, type HoldRow, erasureRepo } from './erasure-repo.ts';

export const holdInput = z.object({
  reason: z.string().trim().min(3, 'Say why the data must be kept (at least 3 characters).').max(500),
  /** a day, YYYY-MM-DD; the hold ends at the end of that day (UTC) */
  until: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'Give the end date as a day.'),
});
export type HoldInput = z.infer<typeof holdInput>;

export type HoldView = HoldRow & { active: boolean };

export type HoldResult = { ok: true; hold: HoldRow } | { ok: false; error: 'invalid' | 'unknown' | 'erased'; message: string };

const MAX_HOLD_DAYS = 10 * 366;

/**
 * Legal hold / legitimate interest: an organizer keeps one registration's data past its
 * retention date (a dispute, an invoice) with a stated reason and an end date. Retention and
 * person erasure skip it while the hold is active. Every hold and release is audited; the
 * reason is the organizer's text about the case, stored with the hold, never in the audit row.
 */
export class HoldService {
  private readonly repo: ErasureRepo;
  constructor(private readonly d: { db: DB; writer: Writer; audit: AuditLog; now: () => number }) {
    this.repo = erasureRepo(d.db);
  }

  list(orgId: string, registrationId: string): HoldView[] {
    const now = new Date(this.d.now()).toISOString();
    return this.repo.holdsOf(orgId, registrationId).map((h) => ({ ...h, active: h.released_at === null && h.until > now }));
  }

  place(orgId: string, registrationId: string, input: HoldInput, ctx: AuditContext): HoldResult {
    const reg = this.repo.byId(orgId, registrationId);
    if (!reg) return { ok: false, error: 'unknown', message: 'No such registration.' };
    if (reg.erased_at) return { ok: false, error: 'erased', message: 'This registration was erased already; there is nothing left to hold.' };
    const t = this.d.now();
    const until = Date.parse(`${input.until}T23:59:59.999Z`);
    if (Number.isNaN(until) || until <= t) return { ok: false, error: 'invalid', message: 'The end date must be in the future.' };
    if (until > t + MAX_HOLD_DAYS * 86_400_000) return { ok: false, error: 'invalid', message: 'A hold can last at most ten years; place a new one when it ends.' };
    const hold: Omit<HoldRow, 'released_at' | 'released_by'> = {
      id: randomUUID(), org_id: orgId, registration_id: registrationId, reason: input.reason, until: new Date(until).toISOString(),
      created_by: ctx.actor.id ?? null, created_at: new Date(t).toISOString(),
    };
    this.d.writer.tx(() => {
      this.repo.insertHold(hold);
      this.d.audit.record({ ...ctx, orgId }, 'privacy.hold_placed', { type: 'registration', id: registrationId }, 'success', { hold: hold.id, until: hold.until });
    });
    return { ok: true, hold: { ...hold, released_at: null, released_by: null } };
  }

  release(orgId: string, registrationId: string, holdId: string, ctx: AuditContext): boolean {
    const at = new Date(this.d.now()).toISOString();
    return this.d.writer.tx(() => {
      const ok = this.repo.releaseHold(orgId, registrationId, holdId, at, ctx.actor.id ?? null);
      if (ok) this.d.audit.record({ ...ctx, orgId }, 'privacy.hold_released', { type: 'registration', id: registrationId }, 'success', { hold: holdId });
      return ok;
    });
  }
}

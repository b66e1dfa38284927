import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { AuditLog } from '../audit/service.ts';
import type { ErasePersonInput, ErasureReceipt, PersonEraser } from './erasure-port.ts';

/**
 * INTERIM, replaced at merge by the erasure capability (src/privacy/erasure.ts), which owns the
 * real erasure, holds and the ledger. Until then: blanks the personal columns of the person's
 * registrations in one transaction and says so in a receipt. Knows no holds.
 */
export class InterimEraser implements PersonEraser {
  private readonly blank;

  constructor(private readonly d: { db: DB; writer: Writer; audit: AuditLog; now: () => number; backupWindowMs: number | null }) {
    this.blank = d.db.prepare(`UPDATE registrations SET email = '', name = '', answers = '{}', updated_at = @at WHERE org_id = @org_id AND email = @email`);
  }

  erasePerson(input: ErasePersonInput): ErasureReceipt {
    const at = this.d.now();
    return this.d.writer.tx(() => {
      const n = this.blank.run({ org_id: input.orgId, email: input.email, at: new Date(at).toISOString() }).changes;
      this.d.audit.record({ actor: { type: input.actor.userId ? 'user' : 'system', id: input.actor.userId }, orgId: input.orgId, ip: input.actor.ip }, 'privacy.erased', { type: 'privacy_request', id: input.requestId ?? null }, 'success', { reason: input.reason, registrations: n });
      return {
        erasedRegistrations: n,
        erased: n > 0 ? ['name', 'email', 'answers'] : [],
        kept: n > 0 ? ['status, check-in and dates of each registration, without anything that identifies you, for attendance statistics'] : [],
        held: [],
        at,
        backupsExpireBy: this.d.backupWindowMs === null ? null : at + this.d.backupWindowMs,
      };
    });
  }
}

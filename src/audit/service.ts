import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DB } from '../db/open.ts';
import { hmacKey } from '../keys/hmac.ts';
import type { DataKey, Keyring } from '../keys/keyring.ts';
import { type AuditRow, type NewAuditRow, auditRepo } from './repo.ts';

/** Who did it and from where; services receive it from routes, the CLI or jobs. */
export interface AuditContext {
  actor: { type: 'user' | 'attendee' | 'api_token' | 'system'; id?: string | null };
  orgId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
}

export interface AuditTarget {
  type: string;
  id?: string | null;
}

export const systemContext = (requestId?: string): AuditContext => ({ actor: { type: 'system' }, requestId: requestId ?? null });

const GENESIS = Buffer.alloc(32);

function macOf(key: Buffer, prev: Buffer, row: Omit<NewAuditRow, 'prev_mac' | 'mac'>): Buffer {
  // A fixed field order makes the MAC independent of how the row object was built.
  const canonical = JSON.stringify([
    row.at, row.org_id, row.actor_type, row.actor_id, row.action, row.target_type, row.target_id,
    row.result, row.ip, row.user_agent, row.request_id, row.details, row.key_id,
  ]);
  return createHmac('sha256', hmacKey(key)).update(prev).update(canonical).digest();
}

export class AuditLog {
  private readonly repo;
  constructor(
    private readonly db: DB,
    private readonly keyring: Keyring,
  ) {
    this.repo = auditRepo(db);
  }

  /**
   * Appends one entry. Reading the previous MAC and inserting happen in one transaction so two
   * writers can never fork the chain. Called inside a service's own transaction it simply joins it.
   */
  record(ctx: AuditContext, action: string, target: AuditTarget | null, result: NewAuditRow['result'] = 'success', details: Record<string, unknown> = {}): number {
    const key: DataKey = this.keyring.active('audit');
    const write = () => {
      const prev = this.repo.lastMac()?.mac ?? GENESIS;
      const base = {
        at: new Date().toISOString(),
        org_id: ctx.orgId ?? null,
        actor_type: ctx.actor.type,
        actor_id: ctx.actor.id ?? null,
        action,
        target_type: target?.type ?? null,
        target_id: target?.id ?? null,
        result,
        ip: ctx.ip ?? null,
        user_agent: ctx.userAgent ? ctx.userAgent.slice(0, 512) : null,
        request_id: ctx.requestId ?? null,
        details: JSON.stringify(details),
        key_id: key.id,
      };
      return this.repo.insert({ ...base, prev_mac: prev, mac: macOf(key.key, prev, base) });
    };
    return this.db.inTransaction ? write() : this.db.transaction(write).immediate();
  }

  /** Walks the whole chain; returns the first row whose MAC or link does not hold. */
  verify(): { ok: true; rows: number } | { ok: false; rows: number; brokenAt: number; reason: string } {
    let prev: Buffer = GENESIS;
    let after = 0;
    let rows = 0;
    let expectedSeq: number | undefined;
    for (;;) {
      const batch: AuditRow[] = this.repo.pageAfter(after, 1000);
      if (batch.length === 0) break;
      for (const row of batch) {
        rows++;
        if (expectedSeq !== undefined && row.seq !== expectedSeq) {
          return { ok: false, rows, brokenAt: expectedSeq, reason: `row ${expectedSeq} is missing` };
        }
        const key = this.keyring.byId(row.key_id);
        if (!key) return { ok: false, rows, brokenAt: row.seq, reason: `unknown audit key ${row.key_id}` };
        if (!timingSafeEqualBuf(row.prev_mac, prev)) {
          return { ok: false, rows, brokenAt: row.seq, reason: 'link to the previous row does not match (a row was removed or reordered)' };
        }
        const { seq: _seq, prev_mac: _p, mac: _m, ...content } = row;
        if (!timingSafeEqualBuf(row.mac, macOf(key.key, prev, content))) {
          return { ok: false, rows, brokenAt: row.seq, reason: 'content does not match its MAC (the row was edited)' };
        }
        prev = row.mac;
        expectedSeq = row.seq + 1;
        after = row.seq;
      }
    }
    return { ok: true, rows };
  }
}

function timingSafeEqualBuf(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

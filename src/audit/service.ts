import { type KeyObject, createHmac, timingSafeEqual } from 'node:crypto';
import type { DB } from '../db/open.ts';
import type { DataKey, Keyring } from '../keys/keyring.ts';
import { type CheckpointRead, checkCheckpoint, signCheckpoint } from './checkpoint.ts';
import { Pseudonyms } from './pseudonym.ts';
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

function macOf(key: KeyObject, prev: Buffer, row: Omit<NewAuditRow, 'prev_mac' | 'mac'>): Buffer {
  // A fixed field order makes the MAC independent of how the row object was built.
  const canonical = JSON.stringify([
    row.at, row.org_id, row.actor_type, row.actor_id, row.action, row.target_type, row.target_id,
    row.result, row.ip, row.user_agent, row.request_id, row.details, row.key_id,
  ]);
  return createHmac('sha256', key).update(prev).update(canonical).digest();
}

/** What an audit listener sees of a new row (the security alert rules). */
export type AuditEvent = Omit<NewAuditRow, 'prev_mac' | 'mac' | 'key_id'> & { seq: number };

export class AuditLog {
  private readonly repo;
  private readonly pseudonyms;
  private readonly listeners: ((e: AuditEvent) => void)[] = [];
  constructor(
    private readonly db: DB,
    private readonly keyring: Keyring,
    /** the clock rows are stamped with; a benchmark seeds a year of rows with its own */
    private readonly now: () => number = Date.now,
  ) {
    this.repo = auditRepo(db);
    this.pseudonyms = new Pseudonyms(keyring);
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
        at: new Date(this.now()).toISOString(),
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
      const seq = this.repo.insert({ ...base, prev_mac: prev, mac: macOf(this.keyring.hmacKey(key), prev, base) });
      for (const l of this.listeners) l({ ...base, seq });
      return seq;
    };
    return this.db.inTransaction ? write() : this.db.transaction(write).immediate();
  }

  /** The pseudonym a row about this person carries in details.subject (see pseudonym.ts). */
  personPseudonym(orgId: string, email: string): string {
    return this.pseudonyms.current(orgId, email);
  }

  /** Every pseudonym the person may have in this organization's rows, for a search. */
  personPseudonyms(orgId: string, email: string): string[] {
    return this.pseudonyms.all(orgId, email);
  }

  /**
   * Calls `listener` with every row appended from now on, inside the same transaction (what it
   * writes commits or rolls back with the row). A listener must not throw: the row matters more.
   */
  subscribe(listener: (e: AuditEvent) => void): void {
    this.listeners.push(listener);
  }

  /** The newest row's seq and MAC: what the anchor (anchor.ts) vouches for. */
  head(): ChainHead | undefined {
    return this.repo.lastMac();
  }

  /** The MAC stored at `seq`, or undefined when that row is gone. */
  macAt(seq: number): Buffer | undefined {
    return this.repo.macAt(seq);
  }

  /** The newest seq not above `seq` (0 when none): where a chain cut before `seq` ends. */
  lastSeqAtOrBelow(seq: number): number {
    return this.repo.lastSeqAtOrBelow(seq);
  }

  /** An organization's newest entries, newest first, for its audit page (at most 1000). */
  recentForOrg(orgId: string, limit = 200): AuditRow[] {
    return this.repo.recentForOrg(orgId, Math.min(Math.max(1, Math.trunc(limit)), 1000));
  }

  /** The signed record of rows removed by retention (checkpoint.ts). */
  checkpoint(): CheckpointRead {
    return checkCheckpoint(this.keyring, this.repo.checkpoint());
  }

  /**
   * Retention: removes rows written before `before`, in slices of `slice` rows, each slice with
   * its checkpoint in one transaction, so the chain verifies after every step. The newest row
   * is never removed (a row saying what was pruned is written first), so the head the anchor
   * vouches for survives. Returns the number of rows removed.
   */
  prune(before: Date, ctx: AuditContext, slice = 10_000): number {
    const through = this.repo.lastSeqBefore(before.toISOString());
    const firstSeq = this.repo.firstSeq();
    if (!through || firstSeq === undefined || through < firstSeq) return 0;
    this.record(ctx, 'audit.pruned', { type: 'audit_log', id: 'instance' }, 'success', { before: before.toISOString(), throughSeq: through });
    let removed = 0;
    for (let from = firstSeq; from <= through; from += slice) {
      const upTo = Math.min(through, from + slice - 1);
      removed += this.db
        .transaction(() => {
          const row = this.repo.rowAt(upTo);
          if (!row) return 0;
          const prior = this.repo.checkpoint();
          const n = this.repo.deleteThrough(upTo);
          this.repo.putCheckpoint(signCheckpoint(this.keyring, { seq: row.seq, mac: row.mac, last_at: row.at, pruned_at: new Date(this.now()).toISOString(), pruned_total: (prior?.pruned_total ?? 0) + n }));
          return n;
        })
        .immediate();
    }
    return removed;
  }

  /**
   * Who among staff read or exported these records: the "recipients" part of a data-subject
   * access request. Reads of the person's registrations, and the attendee lists and exports of
   * their events (which may have included them), newest first.
   */
  personalDataReads(orgId: string, regIds: string[], eventIds: string[]): AuditRow[] {
    return this.repo.readsOf(orgId, regIds, eventIds, {
      reg: ['attendee.viewed', 'attendee.sensitive_revealed', 'registration.updated', 'registration.consent_withdrawn', 'checkin.done'],
      event: ['attendee.exported', 'attendee.listed', 'attendee.messaged'],
    });
  }

  /**
   * Walks the whole chain and stops at the first row that does not hold. It proves every row it
   * reads; only the anchor (anchor.ts) can tell whether rows after the last one are missing.
   */
  verify(): ChainCheck {
    const walk = this.walk();
    for (;;) {
      const step = walk.next();
      if (step.done) return step.value;
    }
  }

  /** The same walk, giving the event loop a turn after every 1000 rows (the daily check in the server). */
  async verifyAsync(): Promise<ChainCheck> {
    const walk = this.walk();
    for (;;) {
      const step = walk.next();
      if (step.done) return step.value;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private *walk(): Generator<void, ChainCheck> {
    // After retention the chain starts at the signed checkpoint of what was pruned.
    const cp = this.checkpoint();
    if (cp.state === 'invalid') return { ok: false, rows: 0, last: undefined, kind: 'checkpoint', brokenAt: 0, reason: cp.reason };
    let prev: Buffer = cp.state === 'ok' ? cp.head.mac : GENESIS;
    let after = cp.state === 'ok' ? cp.head.seq : 0;
    let rows = 0;
    let expectedSeq = after + 1;
    let last: ChainHead | undefined = cp.state === 'ok' ? cp.head : undefined;
    for (;;) {
      const batch: AuditRow[] = this.repo.pageAfter(after, 1000);
      if (batch.length === 0) break;
      for (const row of batch) {
        rows++;
        const broken = (kind: ChainBreak['kind'], brokenAt: number, reason: string): ChainCheck => ({ ok: false, rows, last, kind, brokenAt, reason });
        // Checked before the link: a deleted row also breaks the next row's link, and "missing" is the precise name.
        if (row.seq !== expectedSeq) {
          const missing = row.seq - expectedSeq;
          return broken('gap', expectedSeq, missing === 1 ? `row ${expectedSeq} is missing` : `rows ${expectedSeq}–${row.seq - 1} are missing`);
        }
        const key = this.keyring.byId(row.key_id);
        if (!key) return broken('unknown-key', row.seq, `unknown audit key ${row.key_id}`);
        if (!timingSafeEqualBuf(row.prev_mac, prev)) {
          return broken('link', row.seq, 'link to the previous row does not match (a row was replaced or reordered)');
        }
        const { seq: _seq, prev_mac: _p, mac: _m, ...content } = row;
        if (!timingSafeEqualBuf(row.mac, macOf(this.keyring.hmacKey(key), prev, content))) {
          return broken('edited', row.seq, 'content does not match its MAC (the row was edited)');
        }
        prev = row.mac;
        last = { seq: row.seq, mac: row.mac };
        expectedSeq = row.seq + 1;
        after = row.seq;
      }
      yield;
    }
    return { ok: true, rows, last };
  }
}

export interface ChainHead {
  seq: number;
  mac: Buffer;
}

export interface ChainBreak {
  ok: false;
  rows: number;
  /** The last row that verified before the break. */
  last: ChainHead | undefined;
  kind: 'gap' | 'link' | 'edited' | 'unknown-key' | 'checkpoint';
  brokenAt: number;
  reason: string;
}

export type ChainCheck = { ok: true; rows: number; last: ChainHead | undefined } | ChainBreak;

function timingSafeEqualBuf(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

import { type AuditContext, type AuditLog, systemContext } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import { timeOrderedId } from '../db/ids.ts';
import type { Writer } from '../db/writer.ts';
import type { Logger } from '../log.ts';
import { ALL_FIELDS, applyLedgerEntries, eraseRow } from './apply.ts';
import type { ErasePersonInput, ErasureReason, ErasureReceipt, HeldRecord, PersonEraser } from './erasure-port.ts';
import { type ErasableRow, type ErasureRepo, erasureRepo, type LedgerRow } from './erasure-repo.ts';
import { type LedgerCrypto, type LedgerEntry, normalizeEmail } from './ledger.ts';
import { type LedgerStore, mergeEntries } from './ledger-store.ts';

export interface ErasureDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  crypto: LedgerCrypto;
  ledger: LedgerStore;
  log: Logger;
  now: () => number;
  /** when the last backup still holding data erased at `at` expires; null without backups */
  backupsExpireBy: (at: number) => number | null;
}

/** Registrations per transaction: each stays a few milliseconds, so requests never wait long. */
export const ERASE_BATCH = 200;

export const ERASED_WORDS = ['name', 'email address', 'answers to the registration form (including sensitive ones)', 'attendee code, ticket and manage links', 'messages queued or sent to the person'];
export const KEPT_WORDS = [
  'registration status, whether the person checked in, and the days (not times) of registering and checking in: non-personal facts kept so counts and statistics stay right',
  'an erasure ledger record (a pseudonym, ids, the fields erased, time and reason; no personal data), so the erasure is applied again after any restore from backup',
];

/**
 * Erases attendees' personal data (retention, data-subject requests) and keeps the erasure
 * ledger. Each call writes the ledger file first (fsynced), then erases in transactions of at
 * most ERASE_BATCH registrations, then ships the ledger entries to the backup targets.
 */
export class ErasureService implements PersonEraser {
  private readonly repo: ErasureRepo;
  constructor(private readonly d: ErasureDeps) {
    this.repo = erasureRepo(d.db);
  }

  erasePerson(input: ErasePersonInput): ErasureReceipt {
    const t = this.d.now();
    const nowIso = new Date(t).toISOString();
    const email = normalizeEmail(input.email);
    const rows = email ? this.repo.unerasedOfEmail(input.orgId, email) : [];
    const held: HeldRecord[] = [];
    const erasable: ErasableRow[] = [];
    for (const r of rows) {
      const hold = this.repo.activeHolds(input.orgId, r.id, nowIso)[0];
      if (hold) held.push({ registrationId: r.id, eventTitle: this.repo.eventTitle(input.orgId, r.event_id), reason: hold.reason, until: Date.parse(hold.until) });
      else erasable.push(r);
    }
    const subject = this.d.crypto.pseudonym(input.orgId, email);
    const byEvent = new Map<string, ErasableRow[]>();
    for (const r of erasable) byEvent.set(r.event_id, [...(byEvent.get(r.event_id) ?? []), r]);
    const entries = [...byEvent].map(([eventId, regs]) => this.entry(input.orgId, eventId, input.reason, regs.map(() => subject), regs.map((r) => r.id), [ALL_FIELDS], input.requestId ?? null, t));
    let erased = 0;
    if (entries.length) {
      this.d.ledger.file.append(entries);
      for (const e of entries) erased += this.applyEntry(e, erasable);
    }
    const ctx: AuditContext = { actor: input.actor.userId ? { type: 'user', id: input.actor.userId } : input.reason === 'attendee-request' ? { type: 'attendee', id: subject } : { type: 'system' }, orgId: input.orgId, ip: input.actor.ip };
    this.d.audit.record(ctx, 'privacy.person_erased', { type: 'subject', id: subject }, 'success', {
      reason: input.reason, registrations: erased, held: held.map((h) => h.registrationId), ledger: entries.map((e) => e.id), request: input.requestId ?? null,
    });
    this.ship(entries);
    return {
      erasedRegistrations: erased,
      erased: erased > 0 ? ERASED_WORDS : [],
      kept: [...(erased > 0 ? KEPT_WORDS : []), ...held.map((h) => `registration for "${h.eventTitle}" on hold until ${new Date(h.until).toISOString().slice(0, 10)}: ${h.reason}`)],
      held,
      at: t,
      backupsExpireBy: erased > 0 ? this.d.backupsExpireBy(t) : null,
    };
  }

  /**
   * Retention: erases `fields` (or everything) of these registrations of one event, with one
   * ledger entry and one audit row. Built for a long purge running beside live traffic: the
   * ledger append and the WAL sync happen off the event loop, and the rows are written through
   * the writer's group commit, so a batch costs requests only the time of its UPDATEs.
   */
  async eraseRegistrations(orgId: string, eventId: string, rows: ErasableRow[], fields: string[], reason: ErasureReason, ctx: AuditContext = systemContext()): Promise<number> {
    if (rows.length === 0) return 0;
    const t = this.d.now();
    const entry = this.entry(orgId, eventId, reason, rows.map((r) => this.d.crypto.pseudonym(orgId, r.email)), rows.map((r) => r.id), fields, null, t);
    await this.d.ledger.file.appendAsync([entry]);
    const at = new Date(t).toISOString();
    const n = await this.d.writer.run(() => {
      this.repo.insertLedger(this.ledgerRow(entry));
      this.d.audit.record({ ...ctx, orgId }, 'privacy.retention_erased', { type: 'event', id: eventId }, 'success', { registrations: rows.length, fields, ledger: entry.id });
      let c = 0;
      for (const r of rows) if (eraseRow(this.repo, r, fields, at)) c++;
      return c;
    });
    this.ship([entry]);
    return n;
  }

  /** Re-applies the ledger file beside the keyring (at start and by hand); audited when it changed anything. */
  replayLocal(ctx: AuditContext = systemContext()): { entries: number; registrations: number; rejected: number } {
    const { entries, rejected } = this.d.ledger.file.read();
    return { ...this.replay(entries, 'local', ctx), rejected };
  }

  /** Ships what the targets miss and applies what only they hold (a restore onto a new machine). */
  async replayFromTargets(ctx: AuditContext = systemContext()): Promise<{ entries: number; registrations: number; rejected: number }> {
    const remote = await this.d.ledger.syncTargets();
    const local = this.d.ledger.file.read().entries;
    const have = new Set(local.map((e) => e.id));
    const fresh = remote.entries.filter((e) => !have.has(e.id));
    // Entries only a target holds belong in the file too, so the next start needs no network.
    if (fresh.length) this.d.ledger.file.append(mergeEntries(fresh));
    return { ...this.replay(mergeEntries(local, remote.entries), 'targets', ctx), rejected: remote.rejected };
  }

  private replay(entries: LedgerEntry[], source: string, ctx: AuditContext): { entries: number; registrations: number } {
    const r = applyLedgerEntries(this.repo, (fn) => this.d.writer.tx(fn), entries);
    if (r.registrations > 0) {
      this.d.audit.record(ctx, 'privacy.erasures_replayed', { type: 'erasure_ledger' }, 'success', { source, entries: r.entries, registrations: r.registrations });
      this.d.log.info({ source, entries: r.entries, registrations: r.registrations }, 'erasure ledger: erasures applied again (the database was older than the ledger)');
    }
    return r;
  }

  /**
   * Deletes erasure receipts that were sent (or failed for good): the last trace of an erased
   * person's address. Runs with every retention pass, so a receipt outlives its sending by at
   * most an hour.
   */
  forgetSentReceipts(): number {
    return this.d.writer.tx(() => this.repo.deleteFinishedReceipts());
  }

  /** The org's ledger as the database holds it (pages, the attendee's receipt), newest first. */
  ledgerOf(orgId: string, limit = 200): LedgerRow[] {
    return this.repo.ledgerOfOrg(orgId, Math.min(Math.max(1, limit), 1000));
  }

  /** Resolves once every ledger shipment to the backup targets has ended (tests, shutdown). */
  settled(): Promise<void> {
    return this.d.ledger.settled();
  }

  private entry(org: string, event: string | null, reason: ErasureReason, subjects: string[], registrations: string[], fields: string[], request: string | null, at: number): LedgerEntry {
    return { v: 1, id: timeOrderedId(at), org, event, at, reason, keyId: this.d.crypto.activeKeyId, subjects, registrations, fields, request };
  }

  private ledgerRow(e: LedgerEntry): LedgerRow {
    return {
      id: e.id, org_id: e.org, event_id: e.event, at: new Date(e.at).toISOString(), reason: e.reason, subjects: JSON.stringify(e.subjects), key_id: e.keyId,
      registration_ids: JSON.stringify(e.registrations), fields: JSON.stringify(e.fields), request_id: e.request,
    };
  }

  /** The entry's erasures in transactions of ERASE_BATCH, the ledger row in the first. */
  private applyEntry(e: LedgerEntry, rows: ErasableRow[], inFirstTx?: () => void): number {
    const ids = new Set(e.registrations);
    const mine = rows.filter((r) => ids.has(r.id));
    const at = new Date(e.at).toISOString();
    let n = 0;
    for (let i = 0; i < mine.length; i += ERASE_BATCH) {
      const chunk = mine.slice(i, i + ERASE_BATCH);
      n += this.d.writer.tx(() => {
        if (i === 0) {
          this.repo.insertLedger(this.ledgerRow(e));
          inFirstTx?.();
        }
        let c = 0;
        for (const r of chunk) if (eraseRow(this.repo, r, e.fields, at)) c++;
        return c;
      });
    }
    return n;
  }

  private ship(entries: LedgerEntry[]): void {
    // The file already has them (written before the erasure); this sends them to the targets.
    this.d.ledger.shipOnly(entries);
  }
}

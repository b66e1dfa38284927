import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Keyring } from '../keys/keyring.ts';
import { applyLedgerEntries } from '../privacy/apply.ts';
import { erasureRepo } from '../privacy/erasure-repo.ts';
import { LedgerCrypto, type LedgerEntry, LedgerFile } from '../privacy/ledger.ts';
import { mergeEntries, readTargetLedger } from '../privacy/ledger-store.ts';
import type { BackupTarget } from './targets/target.ts';

export interface LedgerReplayOptions {
  keyring: Keyring;
  /** ledger files to read (beside the keyring of the instance and of the target directory) */
  files: string[];
  /** the backup target restored from: its `erasures/` objects are read too */
  source?: BackupTarget;
  audit?: { log: AuditLog; ctx: AuditContext };
}

/**
 * Seam between restore and the privacy capability's erasure ledger.
 *
 * A restore brings back the database as it was at some earlier moment, including people who
 * were erased after that moment. The ledger lives outside the backed-up database's history (a
 * sealed file beside the keyring and one object per entry on every backup target), so this reads
 * every copy it can reach and applies every entry again: a restore never resurrects erased data.
 * Applying is idempotent, so entries older than the restored point cost a lookup each.
 */
export async function replayErasureLedger(db: DB, opts: LedgerReplayOptions): Promise<{ replayed: number; entries: LedgerEntry[]; rejected: number }> {
  const crypto = new LedgerCrypto(opts.keyring);
  const lists: LedgerEntry[][] = [];
  let rejected = 0;
  for (const f of opts.files) {
    const r = new LedgerFile(f, crypto).read();
    lists.push(r.entries);
    rejected += r.rejected;
  }
  if (opts.source) {
    const r = await readTargetLedger(opts.source, crypto);
    lists.push(r.entries);
    rejected += r.rejected;
  }
  const entries = mergeEntries(...lists);
  // Nothing to replay: the database is not even read (it may hold only a test's own tables).
  const r = entries.length ? applyLedgerEntries(erasureRepo(db), (fn) => db.transaction(fn).immediate(), entries) : { entries: 0, registrations: 0 };
  if (opts.audit && (r.registrations > 0 || rejected > 0)) {
    opts.audit.log.record(opts.audit.ctx, 'privacy.erasures_replayed', { type: 'erasure_ledger' }, rejected > 0 ? 'failure' : 'success', {
      source: 'restore', entries: r.entries, registrations: r.registrations, rejected,
    });
  }
  return { replayed: r.registrations, entries, rejected };
}

/** Adds to the ledger file what it does not hold yet (the restored directory gets the full ledger). */
export function completeLedgerFile(file: string, keyring: Keyring, entries: LedgerEntry[]): void {
  const f = new LedgerFile(file, new LedgerCrypto(keyring));
  const have = new Set(f.read().entries.map((e) => e.id));
  f.append(entries.filter((e) => !have.has(e.id)));
}

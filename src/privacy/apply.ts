import { randomCode } from '../db/ids.ts';
import type { ErasableRow, ErasureRepo } from './erasure-repo.ts';
import type { LedgerEntry } from './ledger.ts';

/** All personal data of a registration, as a ledger `fields` value. */
export const ALL_FIELDS = '*';

const ERASED_CODE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function answersOf(row: ErasableRow): Record<string, unknown> {
  try {
    const v = JSON.parse(row.answers) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Erases one registration: every personal field (`['*']`) or the answers to the named fields.
 * Messages queued or sent to the person go too (the mail outbox by address, which is where every
 * message about a registration goes; SMS by the phone numbers the person gave). Call inside a write transaction. Idempotent:
 * already-erased data is left alone; returns whether anything changed.
 */
export function eraseRow(repo: ErasureRepo, row: ErasableRow, fields: readonly string[], at: string): boolean {
  if (row.erased_at !== null) return false;
  const answers = answersOf(row);
  const all = fields.includes(ALL_FIELDS);
  if (all) {
    if (row.email) repo.deleteMailTo(row.org_id, row.email);
    for (const key of repo.phoneFieldKeys(row.org_id, row.event_id)) {
      const phone = answers[key];
      if (typeof phone === 'string' && phone) repo.deleteSmsTo(phone);
    }
    // "erased-" cannot collide with a real code (those are upper case and shorter).
    return repo.eraseAll(row.org_id, row.id, at, `erased-${randomCode(ERASED_CODE_ALPHABET, 16)}`);
  }
  let changed = false;
  const phoneKeys = new Set(repo.phoneFieldKeys(row.org_id, row.event_id));
  for (const key of fields) {
    const v = answers[key];
    if (phoneKeys.has(key) && typeof v === 'string' && v) repo.deleteSmsTo(v);
    if (repo.eraseField(row.org_id, row.id, key, at)) changed = true;
  }
  return changed;
}

/**
 * Applies ledger entries to a database (after a restore, at start, by hand): each listed
 * registration still holding the data loses it again, and the entry's database copy is
 * re-inserted. `tx` runs one transaction; each entry gets its own, so the work stays small.
 */
export function applyLedgerEntries(repo: ErasureRepo, tx: <T>(fn: () => T) => T, entries: readonly LedgerEntry[]): { entries: number; registrations: number } {
  let touchedEntries = 0;
  let registrations = 0;
  const sorted = [...entries].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  for (const e of sorted) {
    const at = new Date(e.at).toISOString();
    const n = tx(() => {
      repo.insertLedger({
        id: e.id, org_id: e.org, event_id: e.event, at, reason: e.reason, subjects: JSON.stringify(e.subjects), key_id: e.keyId,
        registration_ids: JSON.stringify(e.registrations), fields: JSON.stringify(e.fields), request_id: e.request,
      });
      let changed = 0;
      for (const id of e.registrations) {
        const row = repo.byId(e.org, id);
        if (row && eraseRow(repo, row, e.fields, at)) changed++;
      }
      return changed;
    });
    if (n > 0) touchedEntries++;
    registrations += n;
  }
  return { entries: touchedEntries, registrations };
}

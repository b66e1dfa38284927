import type { DB } from '../db/open.ts';

/** What erasure reads of a registration before it overwrites it. */
export interface ErasableRow {
  id: string;
  org_id: string;
  event_id: string;
  email: string;
  answers: string;
  erased_at: string | null;
}

export interface LedgerRow {
  id: string;
  org_id: string;
  event_id: string | null;
  at: string;
  reason: string;
  subjects: string;
  key_id: string;
  registration_ids: string;
  fields: string;
  request_id: string | null;
}

export interface HoldRow {
  id: string;
  org_id: string;
  registration_id: string;
  reason: string;
  until: string;
  created_by: string | null;
  created_at: string;
  released_at: string | null;
  released_by: string | null;
}

/** An active hold, in SQL: not released and its end not reached. `?` is now (ISO). */
const ACTIVE_HOLD = `SELECT 1 FROM registration_holds h WHERE h.org_id = r.org_id AND h.registration_id = r.id AND h.released_at IS NULL AND h.until > ?`;

/**
 * SQL of the erasure itself. Every statement is scoped by organization id. Timestamps are ISO
 * strings, so the first ten characters are the day.
 */
export function erasureRepo(db: DB) {
  const day = (col: string) => `CASE WHEN ${col} IS NULL THEN NULL ELSE substr(${col}, 1, 10) || 'T00:00:00.000Z' END`;
  const s = {
    ofEmail: db.prepare(`SELECT r.id, r.org_id, r.event_id, r.email, r.answers, r.erased_at FROM registrations r INDEXED BY registrations_org_email WHERE r.org_id = ? AND r.email = ? AND r.erased_at IS NULL ORDER BY r.created_at, r.id`),
    byId: db.prepare('SELECT id, org_id, event_id, email, answers, erased_at FROM registrations WHERE org_id = ? AND id = ?'),
    // Only non-personal facts stay: status, whether (and on which day) checked in, days of the
    // other timestamps. The attendee code is replaced and the token version bumped, so every
    // ticket and manage link sent to the person stops working.
    eraseAll: db.prepare(`UPDATE registrations SET email = '', name = '', answers = '{}', attendee_code = @code,
        token_version = token_version + 1, checked_in_by = NULL,
        checked_in_at = ${day('checked_in_at')}, created_at = ${day('created_at')}, updated_at = ${day('@at')},
        confirmed_at = ${day('confirmed_at')}, cancelled_at = ${day('cancelled_at')}, erased_at = @at
      WHERE org_id = @org_id AND id = @id AND erased_at IS NULL`),
    eraseField: db.prepare(`UPDATE registrations SET answers = json_remove(answers, '$."' || @key || '"'), updated_at = ${day('@at')}
      WHERE org_id = @org_id AND id = @id AND erased_at IS NULL AND json_type(answers, '$."' || @key || '"') IS NOT NULL`),
    // Every message about a registration goes to its address (tickets, status, bulk messages).
    mailTo: db.prepare(`DELETE FROM mail_outbox WHERE org_id = ? AND to_address = ? COLLATE NOCASE`),
    smsTo: db.prepare('DELETE FROM sms_outbox WHERE to_number = ?'),
    // The erasure receipt is the one message addressed to a person after their erasure. Once it
    // is sent (or given up), nothing needs the address. Instance-wide, like the outbox itself.
    finishedReceipts: db.prepare(`DELETE FROM mail_outbox WHERE template = 'erasureReceipt' AND status IN ('sent', 'failed', 'dev')`),
    phoneKeys: db.prepare(`SELECT key FROM form_fields WHERE org_id = ? AND event_id = ? AND type = 'phone'`),
    insertLedger: db.prepare(`INSERT OR IGNORE INTO erasure_ledger (id, org_id, event_id, at, reason, subjects, key_id, registration_ids, fields, request_id)
      VALUES (@id, @org_id, @event_id, @at, @reason, @subjects, @key_id, @registration_ids, @fields, @request_id)`),
    ledgerOfOrg: db.prepare('SELECT * FROM erasure_ledger WHERE org_id = ? ORDER BY at DESC, id LIMIT ?'),
    activeHolds: db.prepare(`SELECT * FROM registration_holds WHERE org_id = ? AND registration_id = ? AND released_at IS NULL AND until > ? ORDER BY until DESC`),
    holdsOf: db.prepare('SELECT * FROM registration_holds WHERE org_id = ? AND registration_id = ? ORDER BY created_at DESC, id'),
    insertHold: db.prepare(`INSERT INTO registration_holds (id, org_id, registration_id, reason, until, created_by, created_at)
      VALUES (@id, @org_id, @registration_id, @reason, @until, @created_by, @created_at)`),
    releaseHold: db.prepare(`UPDATE registration_holds SET released_at = @at, released_by = @by WHERE org_id = @org_id AND id = @id AND registration_id = @registration_id AND released_at IS NULL`),
    eventTitle: db.prepare('SELECT title FROM events WHERE org_id = ? AND id = ?'),
  };
  return {
    unerasedOfEmail: (orgId: string, email: string) => s.ofEmail.all(orgId, email) as ErasableRow[],
    byId: (orgId: string, id: string) => s.byId.get(orgId, id) as ErasableRow | undefined,
    eraseAll: (orgId: string, id: string, at: string, code: string) => s.eraseAll.run({ org_id: orgId, id, at, code }).changes === 1,
    eraseField: (orgId: string, id: string, key: string, at: string) => s.eraseField.run({ org_id: orgId, id, key, at }).changes === 1,
    /** Mail to the person's address in this organization. */
    deleteMailTo: (orgId: string, email: string) => s.mailTo.run(orgId, email).changes,
    deleteSmsTo: (number: string) => s.smsTo.run(number).changes,
    deleteFinishedReceipts: () => s.finishedReceipts.run().changes,
    phoneFieldKeys: (orgId: string, eventId: string) => (s.phoneKeys.all(orgId, eventId) as { key: string }[]).map((r) => r.key),
    insertLedger: (row: LedgerRow) => s.insertLedger.run(row).changes === 1,
    ledgerOfOrg: (orgId: string, limit: number) => s.ledgerOfOrg.all(orgId, limit) as LedgerRow[],
    activeHolds: (orgId: string, registrationId: string, nowIso: string) => s.activeHolds.all(orgId, registrationId, nowIso) as HoldRow[],
    holdsOf: (orgId: string, registrationId: string) => s.holdsOf.all(orgId, registrationId) as HoldRow[],
    insertHold: (h: Omit<HoldRow, 'released_at' | 'released_by'>) => void s.insertHold.run(h),
    releaseHold: (orgId: string, registrationId: string, id: string, at: string, by: string | null) => s.releaseHold.run({ org_id: orgId, registration_id: registrationId, id, at, by }).changes === 1,
    eventTitle: (orgId: string, eventId: string) => (s.eventTitle.get(orgId, eventId) as { title: string } | undefined)?.title ?? '',
  };
}
export type ErasureRepo = ReturnType<typeof erasureRepo>;

export { ACTIVE_HOLD };

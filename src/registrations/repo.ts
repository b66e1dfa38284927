import type { DB } from '../db/open.ts';

export type RegistrationStatus = 'pending' | 'confirmed' | 'waitlisted' | 'cancelled';

export interface RegistrationRow {
  id: string;
  org_id: string;
  event_id: string;
  email: string;
  name: string;
  answers: string;
  status: RegistrationStatus;
  attendee_code: string;
  token_version: number;
  checked_in_at: string | null;
  checked_in_by: string | null;
  created_at: string;
  updated_at: string;
  confirmed_at: string | null;
  cancelled_at: string | null;
  /** set when retention or an erasure request removed the personal data (privacy/erasure.ts) */
  erased_at: string | null;
  /** the privacy notice version shown at registration (privacy_notices.id) */
  notice_id: string | null;
}

export interface Seats {
  confirmed: number;
  waitlisted: number;
  pending: number;
}

export interface AttendeeFilter {
  status?: RegistrationStatus | undefined;
  checkedIn?: boolean | undefined;
  q?: string | undefined;
  /** Field key and value: answers->>key = value (or contains, for multi-select); checkboxes are JSON booleans, so 1 or 0. */
  answer?: { key: string; value: string | number } | undefined;
}

/** Tenant data: every statement takes the organization id; lookups by a link's id return it. */
export function registrationsRepo(db: DB) {
  const s = {
    insertReg: db.prepare(`INSERT INTO registrations (id, org_id, event_id, email, name, answers, status, attendee_code, created_at, updated_at, confirmed_at, notice_id)
      VALUES (@id, @org_id, @event_id, @email, @name, @answers, @status, @attendee_code, @created_at, @updated_at, @confirmed_at, @notice_id)`),
    regById: db.prepare('SELECT * FROM registrations WHERE org_id = ? AND event_id = ? AND id = ?'),
    listColumns: db.prepare('SELECT columns FROM attendee_list_columns WHERE org_id = ? AND event_id = ? AND user_id = ?'),
    saveListColumns: db.prepare(`INSERT INTO attendee_list_columns (org_id, event_id, user_id, columns, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (event_id, user_id) DO UPDATE SET columns = excluded.columns, updated_at = excluded.updated_at`),
    regByIdAnyEvent: db.prepare('SELECT * FROM registrations WHERE org_id = ? AND id = ?'),
    orgOfReg: db.prepare('SELECT org_id FROM registrations WHERE id = ?'),
    regByCode: db.prepare('SELECT * FROM registrations WHERE org_id = ? AND event_id = ? AND attendee_code = ?'),
    codeTaken: db.prepare('SELECT 1 FROM registrations WHERE org_id = ? AND event_id = ? AND attendee_code = ?'),
    activeByEmail: db.prepare(`SELECT * FROM registrations WHERE org_id = ? AND event_id = ? AND email = ? AND status != 'cancelled' ORDER BY created_at LIMIT 1`),
    seats: db.prepare('SELECT confirmed, waitlisted, pending FROM event_seats WHERE org_id = ? AND event_id = ?'),
    counts: db.prepare(`SELECT status, count(*) AS n, sum(checked_in_at IS NOT NULL) AS checked FROM registrations WHERE org_id = ? AND event_id = ? GROUP BY status`),
    firstWaitlisted: db.prepare(`SELECT * FROM registrations WHERE org_id = ? AND event_id = ? AND status = 'waitlisted' ORDER BY created_at, id LIMIT 1`),
    setRegStatus: db.prepare('UPDATE registrations SET status = @status, updated_at = @at, confirmed_at = coalesce(@confirmed_at, confirmed_at), cancelled_at = @cancelled_at WHERE org_id = @org_id AND id = @id'),
    updateRegAnswers: db.prepare('UPDATE registrations SET email = @email, name = @name, answers = @answers, updated_at = @at WHERE org_id = @org_id AND id = @id'),
    // Conditional: of two staff scanning the same ticket at once, exactly one changes the row.
    checkIn: db.prepare(`UPDATE registrations SET checked_in_at = @at, checked_in_by = @by, updated_at = @at
      WHERE org_id = @org_id AND event_id = @event_id AND id = @id AND status = 'confirmed' AND checked_in_at IS NULL`),
    undoCheckIn: db.prepare(`UPDATE registrations SET checked_in_at = NULL, checked_in_by = NULL, updated_at = @at
      WHERE org_id = @org_id AND event_id = @event_id AND id = @id AND checked_in_at IS NOT NULL`),
    bumpTokens: db.prepare('UPDATE registrations SET token_version = token_version + 1, updated_at = ? WHERE org_id = ? AND id = ?'),
    // INDEXED BY: without it the planner walks the whole organization by creation time to skip a sort of a few rows.
    byEmail: db.prepare('SELECT * FROM registrations INDEXED BY registrations_org_email WHERE org_id = ? AND email = ? ORDER BY created_at, id'),
    searchByName: db.prepare(`SELECT * FROM registrations WHERE org_id = ? AND event_id = ? AND status != 'cancelled' AND (name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\' OR attendee_code = ?) ORDER BY name LIMIT 20`),
  };

  function filterSql(f: AttendeeFilter): { where: string; params: unknown[] } {
    const where = ['org_id = ?', 'event_id = ?'];
    const params: unknown[] = [];
    if (f.status) {
      where.push('status = ?');
      params.push(f.status);
    }
    if (f.checkedIn !== undefined) where.push(f.checkedIn ? 'checked_in_at IS NOT NULL' : 'checked_in_at IS NULL');
    if (f.q) {
      const like = `%${f.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
      where.push(`(name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\' OR attendee_code = ?)`);
      params.push(like, like, f.q.toUpperCase());
    }
    if (f.answer) {
      // json_each yields a scalar once and each element of a multi-select array; keys are slugs.
      where.push(`EXISTS (SELECT 1 FROM json_each(answers, '$.' || ?) WHERE value = ?)`);
      params.push(f.answer.key, f.answer.value);
    }
    return { where: where.join(' AND '), params };
  }

  return {
    /** A staff member's chosen attendee-list columns (JSON array of keys), if they chose. */
    listColumns: (orgId: string, eventId: string, userId: string) => (s.listColumns.get(orgId, eventId, userId) as { columns: string } | undefined)?.columns,
    saveListColumns: (orgId: string, eventId: string, userId: string, columns: string, at: string) => void s.saveListColumns.run(orgId, eventId, userId, columns, at),
    insertReg: (r: Pick<RegistrationRow, 'id' | 'org_id' | 'event_id' | 'email' | 'name' | 'answers' | 'status' | 'attendee_code' | 'created_at' | 'updated_at' | 'confirmed_at' | 'notice_id'>) => void s.insertReg.run(r),
    regById: (orgId: string, eventId: string, id: string) => s.regById.get(orgId, eventId, id) as RegistrationRow | undefined,
    regByIdAnyEvent: (orgId: string, id: string) => s.regByIdAnyEvent.get(orgId, id) as RegistrationRow | undefined,
    /** Attendee links carry only a registration id (MAC-checked by the caller): find its tenant. */
    orgOfRegistration: (id: string) => (s.orgOfReg.get(id) as { org_id: string } | undefined)?.org_id,
    regByCode: (orgId: string, eventId: string, code: string) => s.regByCode.get(orgId, eventId, code) as RegistrationRow | undefined,
    codeTaken: (orgId: string, eventId: string, code: string) => s.codeTaken.get(orgId, eventId, code) !== undefined,
    /** The address's earliest registration for the event that is not cancelled. */
    activeByEmail: (orgId: string, eventId: string, email: string) => s.activeByEmail.get(orgId, eventId, email) as RegistrationRow | undefined,
    /** The event's seat counters (kept by triggers, migration 0016): one indexed row, not a count. */
    seats: (orgId: string, eventId: string): Seats => (s.seats.get(orgId, eventId) as Seats | undefined) ?? { confirmed: 0, waitlisted: 0, pending: 0 },
    counts: (orgId: string, eventId: string) => s.counts.all(orgId, eventId) as { status: RegistrationStatus; n: number; checked: number }[],
    firstWaitlisted: (orgId: string, eventId: string) => s.firstWaitlisted.get(orgId, eventId) as RegistrationRow | undefined,
    setRegStatus: (orgId: string, id: string, status: RegistrationStatus, at: string, extra: { confirmed_at?: string | null; cancelled_at?: string | null } = {}) =>
      s.setRegStatus.run({ org_id: orgId, id, status, at, confirmed_at: extra.confirmed_at ?? null, cancelled_at: extra.cancelled_at ?? null }).changes === 1,
    updateRegAnswers: (orgId: string, id: string, v: { email: string; name: string; answers: string }, at: string) => s.updateRegAnswers.run({ org_id: orgId, id, at, ...v }).changes === 1,
    /** Checks a confirmed, not yet checked-in registration in; false when it was not (any more). */
    checkIn: (orgId: string, eventId: string, id: string, at: string, by: string | null) => s.checkIn.run({ org_id: orgId, event_id: eventId, id, at, by }).changes === 1,
    undoCheckIn: (orgId: string, eventId: string, id: string, at: string) => s.undoCheckIn.run({ org_id: orgId, event_id: eventId, id, at }).changes === 1,
    bumpTokens: (orgId: string, id: string, at: string) => void s.bumpTokens.run(at, orgId, id),
    /** Every registration of one address in the organization (a data-subject request). */
    byEmail: (orgId: string, email: string) => s.byEmail.all(orgId, email) as RegistrationRow[],
    searchForCheckin: (orgId: string, eventId: string, q: string) => {
      const like = `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
      return s.searchByName.all(orgId, eventId, like, like, q.toUpperCase()) as RegistrationRow[];
    },
    /** Attendee list page: filtered, newest first, with the total for the pager. */
    attendees(orgId: string, eventId: string, f: AttendeeFilter, limit: number, offset: number): { rows: RegistrationRow[]; total: number } {
      const { where, params } = filterSql(f);
      const all = [orgId, eventId, ...params];
      const total = (db.prepare(`SELECT count(*) AS n FROM registrations WHERE ${where}`).get(...all) as { n: number }).n;
      const rows = db.prepare(`SELECT * FROM registrations WHERE ${where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`).all(...all, limit, offset) as RegistrationRow[];
      return { rows, total };
    },
    /** Streams matching rows for exports without loading the event into memory. */
    iterateAttendees(orgId: string, eventId: string, f: AttendeeFilter): IterableIterator<RegistrationRow> {
      const { where, params } = filterSql(f);
      return db.prepare(`SELECT * FROM registrations WHERE ${where} ORDER BY created_at, id`).iterate(orgId, eventId, ...params) as IterableIterator<RegistrationRow>;
    },
  };
}
export type RegistrationsRepo = ReturnType<typeof registrationsRepo>;

/**
 * Maintenance across every tenant (`tessera doctor`): the seat counters recounted from the
 * registrations themselves. The triggers of migration 0016 keep them exact; this is the check,
 * and the repair should a restore from an old copy or a hand edit have let them drift.
 */
export function seatCountersRepo(db: DB) {
  const drift = db.prepare(`
    WITH actual AS (
      SELECT org_id, event_id, sum(status = 'confirmed') AS confirmed, sum(status = 'waitlisted') AS waitlisted, sum(status = 'pending') AS pending
      FROM registrations GROUP BY org_id, event_id)
    SELECT e.org_id, e.id AS event_id,
      coalesce(a.confirmed, 0) AS confirmed, coalesce(a.waitlisted, 0) AS waitlisted, coalesce(a.pending, 0) AS pending,
      s.confirmed AS stored_confirmed, s.waitlisted AS stored_waitlisted, s.pending AS stored_pending
    FROM events e
    LEFT JOIN actual a ON a.org_id = e.org_id AND a.event_id = e.id
    LEFT JOIN event_seats s ON s.org_id = e.org_id AND s.event_id = e.id
    WHERE s.event_id IS NULL AND a.event_id IS NOT NULL
       OR s.confirmed IS NOT coalesce(a.confirmed, 0) OR s.waitlisted IS NOT coalesce(a.waitlisted, 0) OR s.pending IS NOT coalesce(a.pending, 0)`);
  const set = db.prepare(`INSERT INTO event_seats (org_id, event_id, confirmed, waitlisted, pending) VALUES (@org_id, @event_id, @confirmed, @waitlisted, @pending)
    ON CONFLICT (org_id, event_id) DO UPDATE SET confirmed = excluded.confirmed, waitlisted = excluded.waitlisted, pending = excluded.pending`);
  type Drift = { org_id: string; event_id: string; confirmed: number; waitlisted: number; pending: number; stored_confirmed: number | null; stored_waitlisted: number | null; stored_pending: number | null };
  return {
    /** events whose stored counters differ from a recount (a missing row with registrations counts) */
    drift: () => drift.all() as Drift[],
    /** sets the counters of the drifted events to the recount, in one transaction; returns them */
    repair: (): Drift[] =>
      db.transaction(() => {
        const rows = drift.all() as Drift[];
        for (const r of rows) set.run({ org_id: r.org_id, event_id: r.event_id, confirmed: r.confirmed, waitlisted: r.waitlisted, pending: r.pending });
        return rows;
      }).immediate(),
  };
}

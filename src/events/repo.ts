import type { DB } from '../db/open.ts';

export type EventStatus = 'draft' | 'published' | 'closed' | 'archived';
export type AccessMode = 'public' | 'unlisted' | 'passcode';

export interface EventRow {
  id: string;
  org_id: string;
  slug: string;
  title: string;
  description_md: string;
  starts_at: string;
  ends_at: string;
  timezone: string;
  venue: string;
  online_url: string;
  capacity: number | null;
  registration_opens_at: string | null;
  registration_closes_at: string | null;
  waitlist_enabled: number;
  duplicate_policy: 'allow' | 'reject';
  double_opt_in: number;
  organizer_contact: string;
  privacy_notice: string;
  controller_contact: string;
  status: EventStatus;
  access_mode: AccessMode;
  passcode_hash: string | null;
  passcode_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export type FieldType = 'short_text' | 'long_text' | 'email' | 'phone' | 'number' | 'date' | 'single_select' | 'multi_select' | 'checkbox' | 'consent';

export interface FieldRow {
  id: string;
  org_id: string;
  event_id: string;
  key: string;
  type: FieldType;
  label: string;
  help: string;
  required: number;
  position: number;
  options: string;
  personal: number;
  sensitive: number;
  purpose: string;
  consent_text: string;
  builtin: 'email' | 'name' | null;
  created_at: string;
}

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
}

export interface ShareLinkRow {
  id: string;
  org_id: string;
  event_id: string;
  label: string;
  token_hash: Buffer;
  password_hash: string;
  expires_at: string | null;
  revoked_at: string | null;
  uses: number;
  created_at: string;
}

export interface AttendeeFilter {
  status?: RegistrationStatus | undefined;
  checkedIn?: boolean | undefined;
  q?: string | undefined;
  /** Field key and value: answers->>key = value (or contains, for multi-select); checkboxes are JSON booleans, so 1 or 0. */
  answer?: { key: string; value: string | number } | undefined;
}

const eventCols = `id, org_id, slug, title, description_md, starts_at, ends_at, timezone, venue, online_url, capacity,
  registration_opens_at, registration_closes_at, waitlist_enabled, duplicate_policy, double_opt_in, organizer_contact,
  privacy_notice, controller_contact, status, access_mode, passcode_hash, passcode_expires_at, created_at, updated_at`;

/** Tenant data: every statement takes the organization id, including the public lookups' results. */
export function eventsRepo(db: DB) {
  const s = {
    insertEvent: db.prepare(`INSERT INTO events (${eventCols}) VALUES (@id, @org_id, @slug, @title, @description_md, @starts_at, @ends_at, @timezone, @venue,
      @online_url, @capacity, @registration_opens_at, @registration_closes_at, @waitlist_enabled, @duplicate_policy, @double_opt_in, @organizer_contact,
      @privacy_notice, @controller_contact, @status, @access_mode, @passcode_hash, @passcode_expires_at, @created_at, @updated_at)`),
    updateEvent: db.prepare(`UPDATE events SET slug = @slug, title = @title, description_md = @description_md, starts_at = @starts_at, ends_at = @ends_at,
      timezone = @timezone, venue = @venue, online_url = @online_url, capacity = @capacity, registration_opens_at = @registration_opens_at,
      registration_closes_at = @registration_closes_at, waitlist_enabled = @waitlist_enabled, duplicate_policy = @duplicate_policy,
      double_opt_in = @double_opt_in, organizer_contact = @organizer_contact, privacy_notice = @privacy_notice,
      controller_contact = @controller_contact, access_mode = @access_mode, updated_at = @updated_at WHERE id = @id AND org_id = @org_id`),
    eventById: db.prepare(`SELECT ${eventCols} FROM events WHERE org_id = ? AND id = ?`),
    eventBySlug: db.prepare(`SELECT ${eventCols} FROM events WHERE slug = ?`),
    slugTaken: db.prepare('SELECT 1 FROM events WHERE slug = ? AND id != ?'),
    events: db.prepare(`SELECT ${eventCols} FROM events WHERE org_id = ? ORDER BY starts_at DESC`),
    publicEvents: db.prepare(`SELECT ${eventCols} FROM events WHERE org_id = ? AND status = 'published' AND access_mode = 'public' ORDER BY starts_at`),
    setStatus: db.prepare('UPDATE events SET status = ?, updated_at = ? WHERE org_id = ? AND id = ?'),
    touchEvent: db.prepare('UPDATE events SET updated_at = ? WHERE org_id = ? AND id = ?'),
    setPasscode: db.prepare('UPDATE events SET passcode_hash = ?, passcode_expires_at = ?, updated_at = ? WHERE org_id = ? AND id = ?'),
    deleteEvent: db.prepare('DELETE FROM events WHERE org_id = ? AND id = ?'),

    insertField: db.prepare(`INSERT INTO form_fields (id, org_id, event_id, key, type, label, help, required, position, options, personal, sensitive, purpose, consent_text, builtin, created_at)
      VALUES (@id, @org_id, @event_id, @key, @type, @label, @help, @required, @position, @options, @personal, @sensitive, @purpose, @consent_text, @builtin, @created_at)`),
    updateField: db.prepare(`UPDATE form_fields SET label = @label, help = @help, required = @required, options = @options, personal = @personal,
      sensitive = @sensitive, purpose = @purpose, consent_text = @consent_text WHERE org_id = @org_id AND event_id = @event_id AND id = @id`),
    fields: db.prepare('SELECT * FROM form_fields WHERE org_id = ? AND event_id = ? ORDER BY position'),
    fieldById: db.prepare('SELECT * FROM form_fields WHERE org_id = ? AND event_id = ? AND id = ?'),
    deleteField: db.prepare('DELETE FROM form_fields WHERE org_id = ? AND event_id = ? AND id = ?'),
    setFieldPosition: db.prepare('UPDATE form_fields SET position = ? WHERE org_id = ? AND event_id = ? AND id = ?'),
    maxPosition: db.prepare('SELECT coalesce(max(position), 0) AS p FROM form_fields WHERE org_id = ? AND event_id = ?'),

    insertLink: db.prepare(`INSERT INTO event_share_links (id, org_id, event_id, label, token_hash, password_hash, expires_at, created_at)
      VALUES (@id, @org_id, @event_id, @label, @token_hash, @password_hash, @expires_at, @created_at)`),
    links: db.prepare('SELECT * FROM event_share_links WHERE org_id = ? AND event_id = ? ORDER BY created_at DESC'),
    linkByHash: db.prepare('SELECT * FROM event_share_links WHERE token_hash = ?'),
    revokeLink: db.prepare('UPDATE event_share_links SET revoked_at = ? WHERE org_id = ? AND event_id = ? AND id = ? AND revoked_at IS NULL'),
    countLinkUse: db.prepare('UPDATE event_share_links SET uses = uses + 1 WHERE org_id = ? AND id = ?'),

    insertReg: db.prepare(`INSERT INTO registrations (id, org_id, event_id, email, name, answers, status, attendee_code, created_at, updated_at, confirmed_at)
      VALUES (@id, @org_id, @event_id, @email, @name, @answers, @status, @attendee_code, @created_at, @updated_at, @confirmed_at)`),
    regById: db.prepare('SELECT * FROM registrations WHERE org_id = ? AND event_id = ? AND id = ?'),
    regByIdAnyEvent: db.prepare('SELECT * FROM registrations WHERE org_id = ? AND id = ?'),
    orgOfReg: db.prepare('SELECT org_id FROM registrations WHERE id = ?'),
    regByCode: db.prepare('SELECT * FROM registrations WHERE org_id = ? AND event_id = ? AND attendee_code = ?'),
    codeTaken: db.prepare('SELECT 1 FROM registrations WHERE event_id = ? AND attendee_code = ?'),
    activeByEmail: db.prepare(`SELECT 1 FROM registrations WHERE org_id = ? AND event_id = ? AND email = ? AND status != 'cancelled' LIMIT 1`),
    countHolding: db.prepare(`SELECT count(*) AS n FROM registrations WHERE org_id = ? AND event_id = ? AND status = 'confirmed'`),
    counts: db.prepare(`SELECT status, count(*) AS n, sum(checked_in_at IS NOT NULL) AS checked FROM registrations WHERE org_id = ? AND event_id = ? GROUP BY status`),
    firstWaitlisted: db.prepare(`SELECT * FROM registrations WHERE org_id = ? AND event_id = ? AND status = 'waitlisted' ORDER BY created_at, id LIMIT 1`),
    setRegStatus: db.prepare('UPDATE registrations SET status = @status, updated_at = @at, confirmed_at = coalesce(@confirmed_at, confirmed_at), cancelled_at = @cancelled_at WHERE org_id = @org_id AND id = @id'),
    updateRegAnswers: db.prepare('UPDATE registrations SET email = @email, name = @name, answers = @answers, updated_at = @at WHERE org_id = @org_id AND id = @id'),
    setCheckin: db.prepare('UPDATE registrations SET checked_in_at = ?, checked_in_by = ?, updated_at = ? WHERE org_id = ? AND event_id = ? AND id = ?'),
    bumpTokens: db.prepare('UPDATE registrations SET token_version = token_version + 1, updated_at = ? WHERE org_id = ? AND id = ?'),
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
    insertEvent: (e: EventRow) => void s.insertEvent.run(e),
    updateEvent: (e: Omit<EventRow, 'status' | 'passcode_hash' | 'passcode_expires_at' | 'created_at'>) => s.updateEvent.run(e).changes === 1,
    eventById: (orgId: string, id: string) => s.eventById.get(orgId, id) as EventRow | undefined,
    /** Public pages arrive with a slug only; the row carries the org id for every later query. */
    eventBySlug: (slug: string) => s.eventBySlug.get(slug) as EventRow | undefined,
    slugTaken: (slug: string, exceptId = '') => s.slugTaken.get(slug, exceptId) !== undefined,
    events: (orgId: string) => s.events.all(orgId) as EventRow[],
    publicEvents: (orgId: string) => s.publicEvents.all(orgId) as EventRow[],
    setStatus: (orgId: string, id: string, status: EventStatus, at: string) => s.setStatus.run(status, at, orgId, id).changes === 1,
    /** Marks the event changed (its form, say) so cached public renderings are not reused. */
    touchEvent: (orgId: string, id: string, at: string) => void s.touchEvent.run(at, orgId, id),
    setPasscode: (orgId: string, id: string, hash: string | null, expiresAt: string | null, at: string) => s.setPasscode.run(hash, expiresAt, at, orgId, id).changes === 1,
    deleteEvent: (orgId: string, id: string) => s.deleteEvent.run(orgId, id).changes === 1,

    insertField: (f: FieldRow) => void s.insertField.run(f),
    updateField: (f: Pick<FieldRow, 'id' | 'org_id' | 'event_id' | 'label' | 'help' | 'required' | 'options' | 'personal' | 'sensitive' | 'purpose' | 'consent_text'>) => s.updateField.run(f).changes === 1,
    fields: (orgId: string, eventId: string) => s.fields.all(orgId, eventId) as FieldRow[],
    fieldById: (orgId: string, eventId: string, id: string) => s.fieldById.get(orgId, eventId, id) as FieldRow | undefined,
    deleteField: (orgId: string, eventId: string, id: string) => s.deleteField.run(orgId, eventId, id).changes === 1,
    setFieldPosition: (orgId: string, eventId: string, id: string, position: number) => void s.setFieldPosition.run(position, orgId, eventId, id),
    maxPosition: (orgId: string, eventId: string) => (s.maxPosition.get(orgId, eventId) as { p: number }).p,

    insertLink: (l: Omit<ShareLinkRow, 'revoked_at' | 'uses'>) => void s.insertLink.run(l),
    links: (orgId: string, eventId: string) => s.links.all(orgId, eventId) as ShareLinkRow[],
    /** Public share links arrive with a secret only; the row carries org and event ids. */
    linkByHash: (hash: Buffer) => s.linkByHash.get(hash) as ShareLinkRow | undefined,
    revokeLink: (orgId: string, eventId: string, id: string, at: string) => s.revokeLink.run(at, orgId, eventId, id).changes === 1,
    countLinkUse: (orgId: string, id: string) => void s.countLinkUse.run(orgId, id),

    insertReg: (r: Pick<RegistrationRow, 'id' | 'org_id' | 'event_id' | 'email' | 'name' | 'answers' | 'status' | 'attendee_code' | 'created_at' | 'updated_at' | 'confirmed_at'>) => void s.insertReg.run(r),
    regById: (orgId: string, eventId: string, id: string) => s.regById.get(orgId, eventId, id) as RegistrationRow | undefined,
    regByIdAnyEvent: (orgId: string, id: string) => s.regByIdAnyEvent.get(orgId, id) as RegistrationRow | undefined,
    /** Attendee links carry only a registration id (MAC-checked by the caller): find its tenant. */
    orgOfRegistration: (id: string) => (s.orgOfReg.get(id) as { org_id: string } | undefined)?.org_id,
    regByCode: (orgId: string, eventId: string, code: string) => s.regByCode.get(orgId, eventId, code) as RegistrationRow | undefined,
    codeTaken: (eventId: string, code: string) => s.codeTaken.get(eventId, code) !== undefined,
    activeByEmail: (orgId: string, eventId: string, email: string) => s.activeByEmail.get(orgId, eventId, email) !== undefined,
    countConfirmed: (orgId: string, eventId: string) => (s.countHolding.get(orgId, eventId) as { n: number }).n,
    counts: (orgId: string, eventId: string) => s.counts.all(orgId, eventId) as { status: RegistrationStatus; n: number; checked: number }[],
    firstWaitlisted: (orgId: string, eventId: string) => s.firstWaitlisted.get(orgId, eventId) as RegistrationRow | undefined,
    setRegStatus: (orgId: string, id: string, status: RegistrationStatus, at: string, extra: { confirmed_at?: string | null; cancelled_at?: string | null } = {}) =>
      s.setRegStatus.run({ org_id: orgId, id, status, at, confirmed_at: extra.confirmed_at ?? null, cancelled_at: extra.cancelled_at ?? null }).changes === 1,
    updateRegAnswers: (orgId: string, id: string, v: { email: string; name: string; answers: string }, at: string) => s.updateRegAnswers.run({ org_id: orgId, id, at, ...v }).changes === 1,
    setCheckin: (orgId: string, eventId: string, id: string, at: string | null, by: string | null, now: string) => s.setCheckin.run(at, by, now, orgId, eventId, id).changes === 1,
    bumpTokens: (orgId: string, id: string, at: string) => void s.bumpTokens.run(at, orgId, id),
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
export type EventsRepo = ReturnType<typeof eventsRepo>;

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
  /** 1: the confirmation page shows the ticket (and so reveals whether an address was already registered) */
  show_ticket: number;
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

const eventCols = `id, org_id, slug, title, description_md, starts_at, ends_at, timezone, venue, online_url, capacity,
  registration_opens_at, registration_closes_at, waitlist_enabled, duplicate_policy, double_opt_in, show_ticket, organizer_contact,
  privacy_notice, controller_contact, status, access_mode, passcode_hash, passcode_expires_at, created_at, updated_at`;

/** Tenant data: every statement takes the organization id, including the public lookups' results. */
export function eventsRepo(db: DB) {
  const s = {
    insertEvent: db.prepare(`INSERT INTO events (${eventCols}) VALUES (@id, @org_id, @slug, @title, @description_md, @starts_at, @ends_at, @timezone, @venue,
      @online_url, @capacity, @registration_opens_at, @registration_closes_at, @waitlist_enabled, @duplicate_policy, @double_opt_in, @show_ticket, @organizer_contact,
      @privacy_notice, @controller_contact, @status, @access_mode, @passcode_hash, @passcode_expires_at, @created_at, @updated_at)`),
    updateEvent: db.prepare(`UPDATE events SET slug = @slug, title = @title, description_md = @description_md, starts_at = @starts_at, ends_at = @ends_at,
      timezone = @timezone, venue = @venue, online_url = @online_url, capacity = @capacity, registration_opens_at = @registration_opens_at,
      registration_closes_at = @registration_closes_at, waitlist_enabled = @waitlist_enabled, duplicate_policy = @duplicate_policy,
      double_opt_in = @double_opt_in, show_ticket = @show_ticket, organizer_contact = @organizer_contact, privacy_notice = @privacy_notice,
      controller_contact = @controller_contact, access_mode = @access_mode, updated_at = @updated_at WHERE id = @id AND org_id = @org_id`),
    eventById: db.prepare(`SELECT ${eventCols} FROM events WHERE org_id = ? AND id = ?`),
    eventBySlug: db.prepare(`SELECT ${eventCols} FROM events WHERE slug = ?`),
    slugTaken: db.prepare('SELECT 1 FROM events WHERE slug = ? AND id != ?'),
    events: db.prepare(`SELECT ${eventCols} FROM events WHERE org_id = ? ORDER BY starts_at DESC`),
    publicEvents: db.prepare(`SELECT ${eventCols} FROM events WHERE org_id = ? AND status = 'published' AND access_mode = 'public' ORDER BY starts_at`),
    notEnded: db.prepare(`SELECT ${eventCols} FROM events WHERE org_id = ? AND ends_at > ? AND status != 'archived' ORDER BY starts_at, id`),
    hasEvents: db.prepare('SELECT 1 FROM events WHERE org_id = ? LIMIT 1'),
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

  };

  return {
    insertEvent: (e: EventRow) => void s.insertEvent.run(e),
    updateEvent: (e: Omit<EventRow, 'status' | 'passcode_hash' | 'passcode_expires_at' | 'created_at'>) => s.updateEvent.run(e).changes === 1,
    eventById: (orgId: string, id: string) => s.eventById.get(orgId, id) as EventRow | undefined,
    /** Public pages arrive with a slug only; the row carries the org id for every later query. */
    eventBySlug: (slug: string) => s.eventBySlug.get(slug) as EventRow | undefined,
    slugTaken: (slug: string, exceptId = '') => s.slugTaken.get(slug, exceptId) !== undefined,
    events: (orgId: string) => s.events.all(orgId) as EventRow[],
    publicEvents: (orgId: string) => s.publicEvents.all(orgId) as EventRow[],
    /** Events still to come or running at `at`, soonest first; archived ones are done with. */
    notEnded: (orgId: string, at: string) => s.notEnded.all(orgId, at) as EventRow[],
    hasEvents: (orgId: string) => s.hasEvents.get(orgId) !== undefined,
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

  };
}
export type EventsRepo = ReturnType<typeof eventsRepo>;

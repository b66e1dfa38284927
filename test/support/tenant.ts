import { randomBytes } from 'node:crypto';
import type { UserRow } from '../../src/auth/repo.ts';
import type { EventRow, FieldRow } from '../../src/events/repo.ts';
import type { OrgRow } from '../../src/orgs/repo.ts';
import type { RegistrationRow } from '../../src/registrations/repo.ts';
import { createEvent } from './events.ts';
import { type TestUser, addMember, createOrg, createUser, uniqueSlug } from './identity.ts';
import { testEmail } from './people.ts';
import type { TestServer } from './server.ts';

const sys = { actor: { type: 'system' as const } };

/**
 * One organization with a real object of every kind a route path can name, created through the
 * services the routes use: a published event with a custom form field, a share link, a confirmed
 * registration, an open invitation, an API token and a member who is nobody's test client. The
 * route matrix fills path parameters from here, so a cross-tenant check exercises the lookup of
 * a real row of the other organization, not a miss on an id that exists nowhere.
 */
export interface Tenant {
  s: TestServer;
  tag: 'a' | 'b';
  org: OrgRow;
  owner: TestUser;
  event: EventRow;
  field: FieldRow;
  link: { id: string; token: string };
  reg: RegistrationRow;
  invitationId: string;
  token: { id: string; bearer: string };
  member: UserRow;
  /** an open data-subject request (a correction) */
  requestId: string;
  /** a declared security incident */
  incidentId: string;
}

let seq = 0;
const next = () => `${++seq}-${randomBytes(3).toString('hex')}`;

export async function createTenant(s: TestServer, tag: 'a' | 'b'): Promise<Tenant> {
  const owner = await createUser(s, { email: testEmail(`tenant-owner-${next()}`, tag), totp: true });
  const org = createOrg(s, owner.user, uniqueSlug(tag));
  const event = createEvent(s, org);
  const t: Omit<Tenant, 'field' | 'link' | 'reg' | 'invitationId' | 'token' | 'member' | 'requestId' | 'incidentId'> = { s, tag, org, owner, event };
  return {
    ...t,
    field: newField(t),
    link: await newShareLink(t),
    reg: await newRegistration(t),
    invitationId: newInvitation(t),
    token: newApiToken(t),
    member: await newMember(t),
    requestId: newPrivacyRequest(t),
    incidentId: newIncident(t),
  };
}

type Base = Pick<Tenant, 's' | 'tag' | 'org' | 'owner' | 'event'>;

/** A custom text field on the tenant's event (built-in fields cannot be removed, so they would not show a removal). */
export function newField(t: Base): FieldRow {
  const r = t.s.ctx.events.addField(t.event, { key: `f_${next().replace(/-/g, '_')}`, type: 'short_text', label: 'Company', help: '', required: false, options: [], personal: false, sensitive: false, purpose: '', consent_text: '' }, sys);
  if (!r.ok) throw new Error(r.message);
  return r.field;
}

export async function newShareLink(t: Base): Promise<{ id: string; token: string }> {
  const r = await t.s.ctx.events.createShareLink(t.event, { label: `link ${next()}`, password: 'share-link-password', expiresAt: null }, sys);
  return { id: r.link.id, token: r.token };
}

export async function newRegistration(t: Base): Promise<RegistrationRow> {
  const r = await t.s.ctx.registrations.register(t.event, { email: testEmail(`tenant-reg-${next()}`, t.tag), name: `Attendee ${seq}` }, sys);
  if (!r.ok) throw new Error(r.message);
  return r.reg;
}

export function newPrivacyRequest(t: Base): string {
  return t.s.ctx.privacyRequests.create(t.org.id, { type: 'correction', channel: 'organizer', email: testEmail(`tenant-subject-${next()}`, t.tag), message: 'Please fix my name' }, sys).id;
}

export function newIncident(t: Base): string {
  return t.s.ctx.incidents.declare(t.org, { title: `Incident ${next()}`, what_happened: 'A laptop was lost', affected_data: 'names', likely_consequences: 'Unwanted mail', measures_taken: 'Laptop wiped remotely', affected_people: 3, aware_at: t.s.ctx.now(), alert_id: null }, sys).id;
}

export function newInvitation(t: Base): string {
  const r = t.s.ctx.orgs.invite(t.org, t.owner.user, 'owner', { email: testEmail(`tenant-invitee-${next()}`, t.tag), role: 'viewer' }, sys);
  if (!r.ok) throw new Error(r.message);
  return r.id;
}

/** A token that may read the organization only, so it can show both an allowed and a refused API call. */
export function newApiToken(t: Base): { id: string; bearer: string } {
  const r = t.s.ctx.orgs.createToken(t.org, t.owner.user, 'owner', { name: `token ${next()}`, permissions: ['org.read'], days: 30 }, sys);
  if (!r.ok) throw new Error(r.message);
  return { id: r.id, bearer: r.token };
}

export async function newMember(t: Base): Promise<UserRow> {
  const u = await createUser(t.s, { email: testEmail(`tenant-member-${next()}`, t.tag), totp: true });
  addMember(t.s, t.org, u.user, 'viewer');
  return u.user;
}

/**
 * Everything stored under one organization (every table with an org_id, and the organization
 * row), to prove a request changed nothing there. The audit log is left out on purpose: a refused
 * request is audited under the organization it tried to reach, which is the point of the log.
 */
export function tenantState(s: TestServer, orgId: string): Record<string, string[]> {
  const db = s.ctx.db;
  const tables = db
    .prepare(`SELECT m.name AS name FROM sqlite_master m WHERE m.type = 'table' AND m.name <> 'audit_log' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = 'org_id') ORDER BY m.name`)
    .all() as { name: string }[];
  const out: Record<string, string[]> = {};
  const rows = (sql: string) => (db.prepare(sql).all(orgId) as unknown[]).map((r) => JSON.stringify(r)).sort();
  for (const { name } of tables) out[name] = rows(`SELECT * FROM "${name}" WHERE org_id = ?`);
  out.organizations = rows(`SELECT * FROM organizations WHERE id = ?`);
  return out;
}

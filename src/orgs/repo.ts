import type { DB } from '../db/open.ts';
import { type OrgRole, orgRoles, roleHas } from './permissions.ts';

/** The roles that read attendees' personal data: stricter session lengths apply to them. */
export const ATTENDEE_ROLES: readonly OrgRole[] = orgRoles.filter((r) => roleHas(r, 'attendees.read'));

export interface OrgRow {
  id: string;
  slug: string;
  name: string;
  require_2fa: number;
  ip_allowlist: string;
  created_at: string;
  privacy_notice: string;
  controller_contact: string;
  organizer_contact: string;
  /** For members whose role reads attendee data; see session-policy.ts. */
  session_idle_minutes: number;
  session_absolute_hours: number;
  /** Set by an instance admin: members cannot act, public pages say unavailable (migration 0040). */
  suspended_at?: string | null;
  suspended_by?: string | null;
  /** 1: attendees' "who has seen my data" names staff members, not only their roles */
  privacy_show_staff_names: number;
}

/** One organization on the instance admins' list. */
export interface OrgSummaryRow extends OrgRow {
  members: number;
  /** Approximate bytes of the organization's events, registrations and mail (text columns), and its logo. */
  storage_bytes: number;
}

export interface PendingInvitationRow extends InvitationRow {
  org_name: string;
  org_slug: string;
}

/** What a new event's contact and privacy fields start with; the event keeps its own copy. */
export type OrgPrivacyDefaults = Pick<OrgRow, 'privacy_notice' | 'controller_contact' | 'organizer_contact'>;

export interface MembershipRow {
  org_id: string;
  user_id: string;
  role: OrgRole;
  event_scope: string | null;
  disabled_at: string | null;
  created_at: string;
}

export interface MemberView extends MembershipRow {
  email: string;
  name: string;
  totp_enabled: number;
  user_disabled_at: string | null;
}

export interface InvitationRow {
  id: string;
  org_id: string;
  email: string;
  role: OrgRole;
  event_scope: string | null;
  token_hash: Buffer;
  invited_by: string;
  created_at: number;
  expires_at: number;
  accepted_at: number | null;
  revoked_at: number | null;
}

export interface ApiTokenRow {
  id: string;
  org_id: string;
  user_id: string;
  name: string;
  secret_hash: Buffer;
  permissions: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** Tenant data: every query that reads or changes an organization's rows takes its id. */
export function orgsRepo(db: DB) {
  const s = {
    insertOrg: db.prepare('INSERT INTO organizations (id, slug, name, require_2fa, ip_allowlist, created_at) VALUES (@id, @slug, @name, @require_2fa, @ip_allowlist, @created_at)'),
    orgBySlug: db.prepare('SELECT * FROM organizations WHERE slug = ?'),
    orgById: db.prepare('SELECT * FROM organizations WHERE id = ?'),
    listOrgs: db.prepare('SELECT * FROM organizations ORDER BY name'),
    orgsForUser: db.prepare(`SELECT o.*, m.role AS role FROM organizations o JOIN memberships m ON m.org_id = o.id
      WHERE m.user_id = ? AND m.disabled_at IS NULL ORDER BY o.name`),
    setRequire2fa: db.prepare('UPDATE organizations SET require_2fa = ? WHERE id = ?'),
    setAllowlist: db.prepare('UPDATE organizations SET ip_allowlist = ? WHERE id = ?'),
    setSessionPolicy: db.prepare('UPDATE organizations SET session_idle_minutes = @idle, session_absolute_hours = @absolute WHERE id = @id'),
    setShowStaffNames: db.prepare('UPDATE organizations SET privacy_show_staff_names = ? WHERE id = ?'),
    setPrivacyDefaults: db.prepare('UPDATE organizations SET privacy_notice = @privacy_notice, controller_contact = @controller_contact, organizer_contact = @organizer_contact WHERE id = @id'),
    userInOrgRequiring2fa: db.prepare(`SELECT 1 FROM memberships m JOIN organizations o ON o.id = m.org_id
      WHERE m.user_id = ? AND m.disabled_at IS NULL AND o.require_2fa = 1 LIMIT 1`),

    insertMembership: db.prepare('INSERT INTO memberships (org_id, user_id, role, event_scope, created_at) VALUES (@org_id, @user_id, @role, @event_scope, @created_at)'),
    membership: db.prepare('SELECT * FROM memberships WHERE org_id = ? AND user_id = ?'),
    members: db.prepare(`SELECT m.*, u.email, u.name, (u.totp_enabled_at IS NOT NULL) AS totp_enabled, u.disabled_at AS user_disabled_at
      FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY u.name`),
    setRole: db.prepare('UPDATE memberships SET role = ?, event_scope = ? WHERE org_id = ? AND user_id = ?'),
    setMembershipDisabled: db.prepare('UPDATE memberships SET disabled_at = ? WHERE org_id = ? AND user_id = ?'),
    setEventScope: db.prepare('UPDATE memberships SET event_scope = ? WHERE org_id = ? AND user_id = ?'),
    deleteMembership: db.prepare('DELETE FROM memberships WHERE org_id = ? AND user_id = ?'),
    alertRecipients: db.prepare(`SELECT u.id, u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id
      WHERE m.org_id = ? AND m.role IN ('owner', 'admin') AND m.disabled_at IS NULL AND u.disabled_at IS NULL ORDER BY u.email`),
    countOwners: db.prepare(`SELECT count(*) AS n FROM memberships m JOIN users u ON u.id = m.user_id
      WHERE m.org_id = ? AND m.role = 'owner' AND m.disabled_at IS NULL AND u.disabled_at IS NULL`),

    insertInvitation: db.prepare(`INSERT INTO invitations (id, org_id, email, role, event_scope, token_hash, invited_by, created_at, expires_at)
      VALUES (@id, @org_id, @email, @role, @event_scope, @token_hash, @invited_by, @created_at, @expires_at)`),
    invitationByHash: db.prepare('SELECT * FROM invitations WHERE token_hash = ?'),
    invitations: db.prepare('SELECT * FROM invitations WHERE org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC'),
    acceptInvitation: db.prepare('UPDATE invitations SET accepted_at = ? WHERE id = ? AND org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL'),
    revokeInvitation: db.prepare('UPDATE invitations SET revoked_at = ? WHERE id = ? AND org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL'),

    insertToken: db.prepare(`INSERT INTO api_tokens (id, org_id, user_id, name, secret_hash, permissions, created_at, expires_at)
      VALUES (@id, @org_id, @user_id, @name, @secret_hash, @permissions, @created_at, @expires_at)`),
    tokenById: db.prepare('SELECT * FROM api_tokens WHERE id = ?'),
    tokens: db.prepare('SELECT * FROM api_tokens WHERE org_id = ? ORDER BY created_at DESC'),
    revokeToken: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL'),
    revokeUserTokens: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE org_id = ? AND user_id = ? AND revoked_at IS NULL'),
    revokeAllUserTokens: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL'),
    touchToken: db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?'),
    strictestSessionPolicy: db.prepare(`SELECT min(o.session_idle_minutes) AS idle, min(o.session_absolute_hours) AS absolute
      FROM memberships m JOIN organizations o ON o.id = m.org_id
      WHERE m.user_id = ? AND m.disabled_at IS NULL AND m.role IN (${ATTENDEE_ROLES.map(() => '?').join(', ')})`),
    orgNamesOfUser: db.prepare('SELECT o.name, o.slug FROM memberships m JOIN organizations o ON o.id = m.org_id WHERE m.user_id = ?'),

    // Instance administration: across organizations by design (instance admins only, /admin/orgs).
    summaries: db.prepare(`SELECT o.*,
        (SELECT count(*) FROM memberships m WHERE m.org_id = o.id AND m.disabled_at IS NULL) AS members,
        coalesce((SELECT sum(length(e.title) + length(e.description_md) + length(e.privacy_notice) + length(e.organizer_contact) + 200) FROM events e WHERE e.org_id = o.id), 0)
        + coalesce((SELECT sum(length(r.email) + length(r.name) + length(r.answers) + 200) FROM registrations r WHERE r.org_id = o.id), 0)
        + coalesce((SELECT sum(length(coalesce(x.text_body, '')) + length(coalesce(x.html_body, '')) + length(coalesce(x.params, '')) + 200) FROM mail_outbox x WHERE x.org_id = o.id), 0)
        + coalesce((SELECT length(b.logo) FROM org_branding b WHERE b.org_id = o.id), 0) AS storage_bytes
      FROM organizations o ORDER BY o.name`),
    owners: db.prepare(`SELECT u.id, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? AND m.role = 'owner' AND m.disabled_at IS NULL ORDER BY u.name`),
    suspendedIds: db.prepare('SELECT id FROM organizations WHERE suspended_at IS NOT NULL').pluck(),
    rename: db.prepare('UPDATE organizations SET name = ? WHERE id = ?'),
    setSuspended: db.prepare('UPDATE organizations SET suspended_at = ?, suspended_by = ? WHERE id = ?'),
    allOpenInvitations: db.prepare(`SELECT i.*, o.name AS org_name, o.slug AS org_slug FROM invitations i JOIN organizations o ON o.id = i.org_id
      WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ? ORDER BY i.created_at DESC LIMIT 200`),
    invitationById: db.prepare('SELECT * FROM invitations WHERE id = ?'),
  };
  return {
    insertOrg: (o: OrgRow) => void s.insertOrg.run(o),
    orgBySlug: (slug: string) => s.orgBySlug.get(slug) as OrgRow | undefined,
    setSessionPolicy: (orgId: string, p: { idle: number; absolute: number }) => void s.setSessionPolicy.run({ id: orgId, ...p }),
    orgById: (orgId: string) => s.orgById.get(orgId) as OrgRow | undefined,
    listOrgs: () => s.listOrgs.all() as OrgRow[],
    orgsForUser: (userId: string) => s.orgsForUser.all(userId) as (OrgRow & { role: OrgRole })[],
    setRequire2fa: (orgId: string, on: boolean) => void s.setRequire2fa.run(on ? 1 : 0, orgId),
    setAllowlist: (orgId: string, cidrs: string[]) => void s.setAllowlist.run(JSON.stringify(cidrs), orgId),
    setShowStaffNames: (orgId: string, show: boolean) => void s.setShowStaffNames.run(show ? 1 : 0, orgId),
    setPrivacyDefaults: (orgId: string, d: OrgPrivacyDefaults) =>
      void s.setPrivacyDefaults.run({ id: orgId, privacy_notice: d.privacy_notice, controller_contact: d.controller_contact, organizer_contact: d.organizer_contact }),
    userInOrgRequiring2fa: (userId: string) => s.userInOrgRequiring2fa.get(userId) !== undefined,

    insertMembership: (m: Omit<MembershipRow, 'disabled_at'>) => void s.insertMembership.run(m),
    membership: (orgId: string, userId: string) => s.membership.get(orgId, userId) as MembershipRow | undefined,
    members: (orgId: string) => s.members.all(orgId) as MemberView[],
    setRole: (orgId: string, userId: string, role: OrgRole, scope: string | null) => s.setRole.run(role, scope, orgId, userId).changes === 1,
    setMembershipDisabled: (orgId: string, userId: string, at: string | null) => s.setMembershipDisabled.run(at, orgId, userId).changes === 1,
    setEventScope: (orgId: string, userId: string, scope: string | null) => s.setEventScope.run(scope, orgId, userId).changes === 1,
    deleteMembership: (orgId: string, userId: string) => s.deleteMembership.run(orgId, userId).changes === 1,
    countActiveOwners: (orgId: string) => (s.countOwners.get(orgId) as { n: number }).n,
    /** Owners and admins of the organization who can still sign in: who security alerts go to. */
    alertRecipients: (orgId: string) => s.alertRecipients.all(orgId) as { id: string; email: string; name: string }[],

    insertInvitation: (i: Omit<InvitationRow, 'accepted_at' | 'revoked_at'>) => void s.insertInvitation.run(i),
    /** Looked up by its secret's hash before the org is known (the invitee is not a member yet). */
    invitationByHash: (hash: Buffer) => s.invitationByHash.get(hash) as InvitationRow | undefined,
    openInvitations: (orgId: string, now: number) => s.invitations.all(orgId, now) as InvitationRow[],
    acceptInvitation: (orgId: string, id: string, at: number) => s.acceptInvitation.run(at, id, orgId).changes === 1,
    revokeInvitation: (orgId: string, id: string, at: number) => s.revokeInvitation.run(at, id, orgId).changes === 1,

    insertToken: (t: Omit<ApiTokenRow, 'last_used_at' | 'revoked_at'>) => void s.insertToken.run(t),
    /** Bearer lookup by token id; the caller checks the secret, the org and the expiry. */
    tokenById: (id: string) => s.tokenById.get(id) as ApiTokenRow | undefined,
    tokens: (orgId: string) => s.tokens.all(orgId) as ApiTokenRow[],
    revokeToken: (orgId: string, id: string, at: number) => s.revokeToken.run(at, id, orgId).changes === 1,
    revokeUserTokens: (orgId: string, userId: string, at: number) => s.revokeUserTokens.run(at, orgId, userId).changes,
    revokeAllUserTokens: (userId: string, at: number) => s.revokeAllUserTokens.run(at, userId).changes,
    touchToken: (id: string, at: number) => void s.touchToken.run(at, id),
    /** Names and slugs of every organization the person belongs to (password context words). */
    orgNamesOfUser: (userId: string) => (s.orgNamesOfUser.all(userId) as { name: string; slug: string }[]).flatMap((r) => [r.name, r.slug]),
    /** The strictest session lengths among the person's organizations where their role reads attendee data. */
    strictestSessionPolicy: (userId: string) => s.strictestSessionPolicy.get(userId, ...ATTENDEE_ROLES) as { idle: number | null; absolute: number | null },

    summaries: () => s.summaries.all() as OrgSummaryRow[],
    owners: (orgId: string) => s.owners.all(orgId) as { id: string; name: string; email: string }[],
    suspendedIds: () => s.suspendedIds.all() as string[],
    rename: (orgId: string, name: string) => s.rename.run(name, orgId).changes === 1,
    setSuspended: (orgId: string, at: string | null, by: string | null) => s.setSuspended.run(at, by, orgId).changes === 1,
    allOpenInvitations: (now: number) => s.allOpenInvitations.all(now) as PendingInvitationRow[],
    /** Instance admins name an invitation by id alone; the row says which organization it belongs to. */
    invitationById: (id: string) => s.invitationById.get(id) as InvitationRow | undefined,
  };
}
export type OrgsRepo = ReturnType<typeof orgsRepo>;

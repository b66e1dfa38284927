import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { UserRow } from '../auth/repo.ts';
import type { Result } from '../auth/service.ts';
import type { SessionService } from '../auth/sessions.ts';
import { constantTimeEqual, hashToken, randomToken } from '../auth/token.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import { type Limit, type RateLimiter, waitText } from '../http/rate-limit.ts';
import type { Mailer } from '../mail/service.ts';
import { renderMail } from '../mail/templates.ts';
import { networkOf } from '../auth/throttle.ts';
import { WritesRefusedError } from '../db/faults.ts';
import { ReadCache } from '../events/read-cache.ts';
import { ipAllowed } from './ip-allowlist.ts';
import { AAL2_DEFAULTS } from './session-policy.ts';
import { type OrgRole, type Permission, assignableRoles, permissions, roleHas, rolePermissions, scopableRoles } from './permissions.ts';
import { type ApiTokenRow, type InvitationRow, type MemberView, type MembershipRow, type OrgPrivacyDefaults, type OrgRow, orgsRepo } from './repo.ts';

const INVITE_DAYS = 7;
export const TOKEN_PREFIX = 'tsr';

export interface OrgDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  sessions: SessionService;
  mailer: Mailer;
  now: () => number;
  baseUrl: () => string;
  userById: (id: string) => UserRow | undefined;
  userByEmail: (email: string) => UserRow | undefined;
  /** in-memory abuse counters (src/http/rate-limit.ts) and the invitation limits */
  limiter: RateLimiter;
  inviteLimits: { org: Limit; address: Limit };
  /** Whether a new organization starts with two-factor sign-in required (instance settings). */
  newOrgRequire2fa: () => boolean;
  /** Suspended by an instance admin (orgs/directory.ts): members can no longer act. */
  isSuspended: (orgId: string) => boolean;
}

export function invitationLimits(cfg: { invitationLimitOrg: number; invitationLimitAddress: number }): OrgDeps['inviteLimits'] {
  return { org: { max: cfg.invitationLimitOrg, windowMs: 3_600_000 }, address: { max: cfg.invitationLimitAddress, windowMs: 24 * 3_600_000 } };
}

export type OrgAccess =
  | { ok: true; org: OrgRow; membership: MembershipRow | null }
  | { ok: false; status: 403 | 404; reason: 'no-org' | 'not-member' | 'membership-disabled' | 'suspended' | 'ip' | 'permission' | 'token-scope'; org?: OrgRow };

export type TokenState = 'active' | 'expired' | 'revoked';
export type ApiTokenView = ApiTokenRow & { state: TokenState };
/** A member's standing here: their account can be disabled for the whole instance, or only in this organization. */
export type MemberState = 'active' | 'disabled' | 'account disabled';
export type MemberWithState = MemberView & { state: MemberState };

export const allowlistOf = (org: OrgRow): string[] => JSON.parse(org.ip_allowlist) as string[];

/** Organizations, memberships, invitations, org policies and API tokens. */
export class OrgService {
  private readonly repo;
  /** Every public event page reads its organization; see ReadCache for freshness. */
  private readonly byIdCache;
  constructor(private readonly d: OrgDeps) {
    this.repo = orgsRepo(d.db);
    this.byIdCache = new ReadCache<Readonly<OrgRow> | undefined>(d.db);
  }

  private iso(): string {
    return new Date(this.d.now()).toISOString();
  }

  bySlug(slug: string): OrgRow | undefined {
    return this.repo.orgBySlug(slug);
  }

  /** The organization an event belongs to, for its public pages (name, later logo and colour). */
  byId(orgId: string): Readonly<OrgRow> | undefined {
    return this.byIdCache.get(orgId, () => this.repo.orgById(orgId));
  }

  /** A user's role in the organization now, or undefined for someone no longer a member. */
  roleOf(orgId: string, userId: string): string | undefined {
    return this.repo.membership(orgId, userId)?.role;
  }

  forUser(userId: string) {
    return this.repo.orgsForUser(userId);
  }

  userNeeds2fa(userId: string): boolean {
    return this.repo.userInOrgRequiring2fa(userId);
  }

  /** `require2fa` overrides the instance default for new organizations (Security settings). */
  createOrg(actor: UserRow, input: { name: string; slug: string; require2fa?: boolean }, ctx: AuditContext): Result<{ org: OrgRow }, 'slug'> {
    return this.d.writer.tx(() => {
      if (this.repo.orgBySlug(input.slug)) return { ok: false as const, error: 'slug' as const, message: 'That address is already taken; choose another.' };
      const org: OrgRow = { id: randomUUID(), slug: input.slug, name: input.name.trim(), require_2fa: (input.require2fa ?? this.d.newOrgRequire2fa()) ? 1 : 0, ip_allowlist: '[]', created_at: this.iso(), privacy_notice: '', controller_contact: '', organizer_contact: '', session_idle_minutes: AAL2_DEFAULTS.idleMinutes, session_absolute_hours: AAL2_DEFAULTS.absoluteHours, privacy_show_staff_names: 0 };
      this.repo.insertOrg(org);
      this.repo.insertMembership({ org_id: org.id, user_id: actor.id, role: 'owner', event_scope: null, created_at: this.iso() });
      this.d.audit.record({ ...ctx, orgId: org.id }, 'org.created', { type: 'organization', id: org.id }, 'success', { require2fa: org.require_2fa === 1 });
      return { ok: true as const, org };
    });
  }

  /**
   * The one decision behind every `/orgs/:orgSlug` route. Non-members get 404, exactly as if the
   * organization did not exist, so ids and slugs of other tenants reveal nothing.
   */
  access(slug: string, who: { user: UserRow } | { token: ApiTokenRow }, ip: string | null, permission: Permission): OrgAccess {
    const org = this.repo.orgBySlug(slug);
    if (!org) return { ok: false, status: 404, reason: 'no-org' };
    let membership: MembershipRow | null = null;
    if ('token' in who) {
      if (who.token.org_id !== org.id) return { ok: false, status: 404, reason: 'token-scope', org };
      membership = this.repo.membership(org.id, who.token.user_id) ?? null;
      if (!membership) return { ok: false, status: 404, reason: 'not-member', org };
    } else {
      membership = this.repo.membership(org.id, who.user.id) ?? null;
      if (!membership) return { ok: false, status: 404, reason: 'not-member', org };
    }
    if (membership.disabled_at) return { ok: false, status: 403, reason: 'membership-disabled', org };
    if (this.d.isSuspended(org.id)) return { ok: false, status: 403, reason: 'suspended', org };
    if (!ipAllowed(ip, allowlistOf(org))) return { ok: false, status: 403, reason: 'ip', org };
    if (!roleHas(membership.role, permission)) return { ok: false, status: 403, reason: 'permission', org };
    if ('token' in who && !(JSON.parse(who.token.permissions) as string[]).includes(permission)) return { ok: false, status: 403, reason: 'token-scope', org };
    return { ok: true, org, membership };
  }

  members(orgId: string): MemberWithState[] {
    return this.repo.members(orgId).map((m) => ({ ...m, state: m.user_disabled_at ? 'account disabled' : m.disabled_at ? 'disabled' : 'active' }));
  }

  openInvitations(orgId: string) {
    return this.repo.openInvitations(orgId, this.d.now());
  }

  // ---- invitations --------------------------------------------------------------------------

  /**
   * Invitations send mail to an address someone typed: limited per organization (a compromised or
   * careless admin account cannot spam from the instance) and per address across organizations
   * (nobody's inbox is bombed with invitations). Counted only for invitations that are sent.
   */
  invite(org: OrgRow, actor: UserRow, actorRole: OrgRole, input: { email: string; role: OrgRole }, ctx: AuditContext): Result<{ id: string }, 'role' | 'member' | 'throttled'> {
    if (!assignableRoles(actorRole).includes(input.role)) return { ok: false, error: 'role', message: 'Only owners can invite owners.' };
    const existing = this.d.userByEmail(input.email);
    if (existing && this.repo.membership(org.id, existing.id)) return { ok: false, error: 'member', message: 'That person is already a member.' };
    const limits = this.d.inviteLimits;
    const v = this.d.limiter.take([
      { key: `inv-o:${org.id}`, limit: limits.org },
      { key: `inv-a:${input.email.trim().toLowerCase()}`, limit: limits.address },
    ]);
    if (!v.ok) {
      const perOrg = v.key.startsWith('inv-o:');
      if (v.first) this.d.audit.record({ ...ctx, orgId: org.id }, 'member.invite_throttled', { type: 'organization', id: org.id }, 'denied', { limit: perOrg ? 'organization' : 'address' });
      const message = perOrg
        ? `This organization has sent many invitations in the last hour. Nothing was sent; try again in ${waitText(v.retryAfterMs)}.`
        : `This address has received several invitations today. Nothing was sent; try again in ${waitText(v.retryAfterMs)}, or ask the person to check their inbox.`;
      return { ok: false, error: 'throttled', message, retryAfterMs: v.retryAfterMs };
    }
    return this.d.writer.tx(() => {
      const token = randomToken(32);
      const t = this.d.now();
      const id = randomUUID();
      this.repo.insertInvitation({ id, org_id: org.id, email: input.email.trim(), role: input.role, event_scope: null, token_hash: hashToken(token), invited_by: actor.id, created_at: t, expires_at: t + INVITE_DAYS * 86_400_000 });
      this.d.mailer.enqueue({ orgId: org.id, to: input.email.trim(), ...renderMail('invitation', { orgName: org.name, inviterName: actor.name, role: input.role, link: `${this.d.baseUrl()}/invite?token=${token}` }) });
      this.d.audit.record({ ...ctx, orgId: org.id }, 'member.invited', { type: 'invitation', id }, 'success', { role: input.role });
      return { ok: true as const, id };
    });
  }

  revokeInvitation(org: OrgRow, id: string, ctx: AuditContext): boolean {
    return this.d.writer.tx(() => {
      const ok = this.repo.revokeInvitation(org.id, id, this.d.now());
      this.d.audit.record({ ...ctx, orgId: org.id }, 'member.invitation_revoked', { type: 'invitation', id }, ok ? 'success' : 'failure');
      return ok;
    });
  }

  /** A pending, unexpired invitation for this secret, with its organization. */
  findInvitation(token: string): { invitation: InvitationRow; org: OrgRow } | undefined {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const inv = this.repo.invitationByHash(hashToken(token));
    if (!inv || inv.accepted_at !== null || inv.revoked_at !== null || inv.expires_at <= this.d.now()) return undefined;
    const org = this.repo.orgById(inv.org_id);
    return org ? { invitation: inv, org } : undefined;
  }

  /** Whether an invited address already belongs to an account (its owner signs in instead of registering). */
  hasAccount(email: string): boolean {
    return this.d.userByEmail(email.trim()) !== undefined;
  }

  /** Adds the user to the organization; the caller's transaction covers a freshly created account. */
  acceptInvitation(token: string, user: UserRow, ctx: AuditContext): Result<{ org: OrgRow }, 'invalid' | 'email'> {
    const found = this.findInvitation(token);
    if (!found) return { ok: false, error: 'invalid', message: 'This invitation is invalid, expired, revoked or already used.' };
    if (found.invitation.email.toLowerCase() !== user.email.toLowerCase()) {
      return { ok: false, error: 'email', message: `This invitation was sent to another email address. Sign in with that address to accept it.` };
    }
    const run = () => {
      if (!this.repo.acceptInvitation(found.org.id, found.invitation.id, this.d.now())) return { ok: false as const, error: 'invalid' as const, message: 'This invitation was already used.' };
      if (!this.repo.membership(found.org.id, user.id)) {
        this.repo.insertMembership({ org_id: found.org.id, user_id: user.id, role: found.invitation.role, event_scope: found.invitation.event_scope, created_at: this.iso() });
      }
      this.d.audit.record({ ...ctx, actor: { type: 'user', id: user.id }, orgId: found.org.id }, 'member.joined', { type: 'user', id: user.id }, 'success', { role: found.invitation.role, invitation: found.invitation.id });
      return { ok: true as const, org: found.org };
    };
    return this.d.db.inTransaction ? run() : this.d.writer.tx(run);
  }

  // ---- members -------------------------------------------------------------------------------

  private guardOwnerChange(org: OrgRow, actorRole: OrgRole, target: MembershipRow, newRole: OrgRole | null): string | null {
    const assignable = assignableRoles(actorRole);
    if (!assignable.includes(target.role) || (newRole !== null && !assignable.includes(newRole))) return 'Only owners can change or remove owners.';
    if (target.role === 'owner' && newRole !== 'owner' && this.repo.countActiveOwners(org.id) <= 1) return 'The last owner cannot be removed or demoted. Make someone else an owner first.';
    return null;
  }

  changeRole(org: OrgRow, actorRole: OrgRole, userId: string, role: OrgRole, ctx: AuditContext): Result<object, 'unknown' | 'forbidden'> {
    return this.d.writer.tx(() => {
      const target = this.repo.membership(org.id, userId);
      if (!target) return { ok: false as const, error: 'unknown' as const, message: 'No such member.' };
      const problem = this.guardOwnerChange(org, actorRole, target, role);
      if (problem) {
        this.d.audit.record({ ...ctx, orgId: org.id }, 'member.role_changed', { type: 'user', id: userId }, 'denied', { from: target.role, to: role });
        return { ok: false as const, error: 'forbidden' as const, message: problem };
      }
      this.repo.setRole(org.id, userId, role, role === 'organizer' || role === 'checkin' ? target.event_scope : null);
      // Tokens carry the permissions they were made with; a role change must not leave more behind.
      this.repo.revokeUserTokens(org.id, userId, this.d.now());
      this.d.audit.record({ ...ctx, orgId: org.id }, 'member.role_changed', { type: 'user', id: userId }, 'success', { from: target.role, to: role });
      return { ok: true as const };
    });
  }

  removeMember(org: OrgRow, actorRole: OrgRole, userId: string, ctx: AuditContext): Result<object, 'unknown' | 'forbidden'> {
    return this.d.writer.tx(() => {
      const target = this.repo.membership(org.id, userId);
      if (!target) return { ok: false as const, error: 'unknown' as const, message: 'No such member.' };
      const problem = this.guardOwnerChange(org, actorRole, target, null);
      if (problem) {
        this.d.audit.record({ ...ctx, orgId: org.id }, 'member.removed', { type: 'user', id: userId }, 'denied');
        return { ok: false as const, error: 'forbidden' as const, message: problem };
      }
      this.repo.deleteMembership(org.id, userId);
      this.repo.revokeUserTokens(org.id, userId, this.d.now());
      this.d.audit.record({ ...ctx, orgId: org.id }, 'member.removed', { type: 'user', id: userId }, 'success', { role: target.role });
      return { ok: true as const };
    });
  }

  /** Org-scope disable: this organization stops answering the member on their next request. */
  setMemberDisabled(org: OrgRow, actor: UserRow, actorRole: OrgRole, userId: string, disabled: boolean, ctx: AuditContext): Result<object, 'unknown' | 'forbidden'> {
    if (userId === actor.id) return { ok: false, error: 'forbidden', message: 'You cannot disable yourself.' };
    return this.d.writer.tx(() => {
      const target = this.repo.membership(org.id, userId);
      if (!target) return { ok: false as const, error: 'unknown' as const, message: 'No such member.' };
      const problem = disabled ? this.guardOwnerChange(org, actorRole, target, null) : null;
      if (problem) return { ok: false as const, error: 'forbidden' as const, message: problem };
      this.repo.setMembershipDisabled(org.id, userId, disabled ? this.iso() : null);
      if (disabled) this.repo.revokeUserTokens(org.id, userId, this.d.now());
      this.d.audit.record({ ...ctx, orgId: org.id }, disabled ? 'member.disabled' : 'member.enabled', { type: 'user', id: userId });
      return { ok: true as const };
    });
  }

  /**
   * Limits an organizer or check-in member to the given events (null: all events). The caller
   * checks that the ids are this organization's events.
   */
  setEventScope(org: OrgRow, userId: string, eventIds: string[] | null, ctx: AuditContext): Result<object, 'unknown' | 'role'> {
    return this.d.writer.tx(() => {
      const target = this.repo.membership(org.id, userId);
      if (!target) return { ok: false as const, error: 'unknown' as const, message: 'No such member.' };
      if (!scopableRoles.includes(target.role)) return { ok: false as const, error: 'role' as const, message: 'Only organizer and check-in members can be limited to chosen events.' };
      const ids = eventIds === null ? null : [...new Set(eventIds)].sort();
      this.repo.setEventScope(org.id, userId, ids === null ? null : JSON.stringify(ids));
      this.d.audit.record({ ...ctx, orgId: org.id }, 'member.scope_changed', { type: 'user', id: userId }, 'success', { events: ids ?? 'all' });
      return { ok: true as const };
    });
  }

  // ---- policies --------------------------------------------------------------------------------

  setRequire2fa(org: OrgRow, on: boolean, ctx: AuditContext): void {
    this.d.writer.tx(() => {
      this.repo.setRequire2fa(org.id, on);
      this.d.audit.record({ ...ctx, orgId: org.id }, 'org.2fa_policy_changed', { type: 'organization', id: org.id }, 'success', { require2fa: on });
    });
  }

  setAllowlist(org: OrgRow, cidrs: string[], actorIp: string | null, ctx: AuditContext): Result<object, 'lockout'> {
    // Refuse a list that would shut out the admin making the change.
    if (cidrs.length > 0 && !ipAllowed(actorIp, cidrs)) {
      return { ok: false, error: 'lockout', message: `This list does not include your current address (${actorIp ?? 'unknown'}); saving it would lock you out.` };
    }
    this.d.writer.tx(() => {
      this.repo.setAllowlist(org.id, cidrs);
      this.d.audit.record({ ...ctx, orgId: org.id }, 'org.ip_allowlist_changed', { type: 'organization', id: org.id }, 'success', { entries: cidrs.length });
    });
    return { ok: true };
  }

  /**
   * Defaults for the contact and privacy fields of events created from now on. Existing events
   * keep their own copy: their attendees registered under the notice those events showed.
   */
  /** Whether attendees see staff names (or only roles) among those who read their data. */
  setShowStaffNames(org: OrgRow, show: boolean, ctx: AuditContext): void {
    this.d.writer.tx(() => {
      this.repo.setShowStaffNames(org.id, show);
      this.d.audit.record({ ...ctx, orgId: org.id }, 'org.privacy_show_staff_names', { type: 'organization', id: org.id }, 'success', { show });
    });
  }

  setPrivacyDefaults(org: OrgRow, input: OrgPrivacyDefaults, ctx: AuditContext): void {
    this.d.writer.tx(() => {
      const before = this.repo.orgById(org.id) ?? org;
      this.repo.setPrivacyDefaults(org.id, input);
      // Which fields changed, not their text: the audit row says who changed what, the org row holds the value.
      const changed = (['privacy_notice', 'controller_contact', 'organizer_contact'] as const).filter((k) => before[k] !== input[k]);
      this.d.audit.record({ ...ctx, orgId: org.id }, 'org.privacy_defaults_changed', { type: 'organization', id: org.id }, 'success', { changed });
    });
  }

  /** Session lengths for this organization's members who read attendee data (bounds checked by the caller's schema and the table). */
  setSessionPolicy(org: OrgRow, input: { idleMinutes: number; absoluteHours: number }, ctx: AuditContext): void {
    this.d.writer.tx(() => {
      this.repo.setSessionPolicy(org.id, { idle: input.idleMinutes, absolute: input.absoluteHours });
      this.d.audit.record({ ...ctx, orgId: org.id }, 'org.session_policy_changed', { type: 'organization', id: org.id }, 'success', input);
    });
  }

  // ---- API tokens --------------------------------------------------------------------------------

  createToken(org: OrgRow, actor: UserRow, actorRole: OrgRole, input: { name: string; permissions: Permission[]; days: number }, ctx: AuditContext): Result<{ token: string; id: string }, 'permissions'> {
    const allowed = new Set(rolePermissions[actorRole]);
    const extra = input.permissions.filter((p) => !allowed.has(p) || !(p in permissions));
    if (extra.length > 0 || input.permissions.length === 0) return { ok: false, error: 'permissions', message: 'Choose at least one permission, and only ones your role has.' };
    return this.d.writer.tx(() => {
      const id = randomToken(16);
      const secret = randomToken(32);
      const t = this.d.now();
      this.repo.insertToken({ id, org_id: org.id, user_id: actor.id, name: input.name.trim(), secret_hash: hashToken(secret), permissions: JSON.stringify([...new Set(input.permissions)].sort()), created_at: t, expires_at: t + input.days * 86_400_000 });
      this.d.audit.record({ ...ctx, orgId: org.id }, 'token.created', { type: 'api_token', id }, 'success', { permissions: input.permissions, days: input.days });
      return { ok: true as const, id, token: `${TOKEN_PREFIX}_${id}.${secret}` };
    });
  }

  tokens(orgId: string): ApiTokenView[] {
    const now = this.d.now();
    return this.repo.tokens(orgId).map((t) => ({ ...t, state: t.revoked_at !== null ? 'revoked' : t.expires_at <= now ? 'expired' : 'active' }));
  }

  revokeToken(org: OrgRow, id: string, ctx: AuditContext): boolean {
    return this.d.writer.tx(() => {
      const ok = this.repo.revokeToken(org.id, id, this.d.now());
      this.d.audit.record({ ...ctx, orgId: org.id }, 'token.revoked', { type: 'api_token', id }, ok ? 'success' : 'failure');
      return ok;
    });
  }

  revokeAllTokensOf(userId: string): void {
    this.repo.revokeAllUserTokens(userId, this.d.now());
  }

  /** `Authorization: Bearer tsr_<id>.<secret>`: live, unexpired, its creator still enabled. */
  /**
   * A bearer token's caller, or null. Failures (malformed, unknown, wrong secret, revoked,
   * expired, disabled creator) are audited (ASVS V16.3.1), at most once a minute per token id (or
   * "no token") and network, so a flood of bad requests cannot flood the audit log.
   */
  authenticateToken(bearer: string, ctx: AuditContext): { token: ApiTokenRow; user: UserRow } | null {
    const m = /^tsr_([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(bearer);
    const row = m ? this.repo.tokenById(m[1] as string) : undefined;
    const t = this.d.now();
    const fail = (reason: string) => {
      this.auditTokenFailure(row ?? null, reason, ctx, t);
      return null;
    };
    if (!m) return fail('malformed');
    if (!row) return fail('unknown');
    if (!constantTimeEqual(hashToken(m[2] as string), row.secret_hash)) return fail('bad_secret');
    if (row.revoked_at !== null) return fail('revoked');
    if (row.expires_at <= t) return fail('expired');
    const user = this.d.userById(row.user_id);
    if (!user || user.disabled_at) return fail('creator_disabled');
    if (row.last_used_at === null || t - row.last_used_at > 60_000) this.repo.touchToken(row.id, t);
    return { token: row, user };
  }

  /** When each (token id or "none", network) was last audited; in memory, pruned as it grows. */
  private readonly tokenFailureSeen = new Map<string, number>();

  private auditTokenFailure(row: ApiTokenRow | null, reason: string, ctx: AuditContext, t: number): void {
    const key = `${row?.id ?? 'none'}|${networkOf(ctx.ip)}`;
    const last = this.tokenFailureSeen.get(key);
    if (last !== undefined && t - last < 60_000) return;
    if (this.tokenFailureSeen.size >= 10_000) for (const [k, at] of this.tokenFailureSeen) if (t - at >= 60_000) this.tokenFailureSeen.delete(k);
    this.tokenFailureSeen.set(key, t);
    try {
      this.d.audit.record({ ...ctx, orgId: row?.org_id ?? null }, 'api_token.auth_failed', row ? { type: 'api_token', id: row.id } : null, 'failure', { reason });
    } catch (e) {
      // Refused writes (read-only after a failed sync, full disk) must not turn a 401 into a 500.
      const code = (e as { code?: unknown }).code;
      if (!(e instanceof WritesRefusedError) && code !== 'SQLITE_READONLY' && code !== 'SQLITE_FULL') throw e;
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { UserRow } from '../auth/repo.ts';
import type { Result } from '../auth/service.ts';
import { hashToken, randomToken } from '../auth/token.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { Mailer } from '../mail/service.ts';
import { renderMail } from '../mail/templates.ts';
import { type OrgRow, type OrgSummaryRow, type PendingInvitationRow, orgsRepo } from './repo.ts';

export interface OrgDirectoryDeps {
  db: DB;
  writer: Writer;
  audit: AuditLog;
  mailer: Pick<Mailer, 'enqueue'>;
  now: () => number;
  baseUrl: () => string;
  /** an account by its address (the auth capability's) */
  userByEmail: (email: string) => UserRow | undefined;
}

/** Why an instance admin makes someone an owner: a closed list, so the audit row holds no free text. */
export const ADD_OWNER_REASONS = [
  ['owners-gone', 'Its owners have left or lost access to their accounts'],
  ['org-request', 'The organization asked for it, and the request was verified'],
] as const;
export type AddOwnerReason = (typeof ADD_OWNER_REASONS)[number][0];

export interface OrgSummary extends OrgSummaryRow {
  owners: { id: string; name: string; email: string }[];
}

const INVITE_DAYS = 7;

/**
 * The instance admins' side of organizations (/admin/orgs): the list with owners, member counts
 * and storage, renaming, suspending, and resending any organization's invitations. Which
 * organizations are suspended is kept in memory (read once, changed only here), so the public
 * pages ask it on every request without a database read.
 */
export class OrgDirectory {
  private readonly repo;
  private readonly suspended: Set<string>;

  constructor(private readonly d: OrgDirectoryDeps) {
    this.repo = orgsRepo(d.db);
    this.suspended = new Set(this.repo.suspendedIds());
  }

  isSuspended(orgId: string): boolean {
    return this.suspended.has(orgId);
  }

  list(): OrgSummary[] {
    return this.repo.summaries().map((o) => ({ ...o, owners: this.repo.owners(o.id) }));
  }

  byId(orgId: string): OrgRow | undefined {
    return this.repo.orgById(orgId);
  }

  rename(orgId: string, name: string, ctx: AuditContext): Result<object, 'unknown'> {
    const org = this.repo.orgById(orgId);
    if (!org) return { ok: false, error: 'unknown', message: 'No such organization.' };
    return this.d.writer.tx(() => {
      this.repo.rename(orgId, name);
      // The names are the organization's own public name, not personal data.
      this.d.audit.record({ ...ctx, orgId }, 'org.renamed', { type: 'organization', id: orgId }, 'success', { before: org.name, after: name });
      return { ok: true as const };
    });
  }

  /** Suspended: members get "suspended" on every organization page, its public pages say unavailable. */
  setSuspended(actor: UserRow, orgId: string, on: boolean, ctx: AuditContext): Result<object, 'unknown' | 'unchanged'> {
    const org = this.repo.orgById(orgId);
    if (!org) return { ok: false, error: 'unknown', message: 'No such organization.' };
    if (Boolean(org.suspended_at) === on) return { ok: false, error: 'unchanged', message: on ? 'This organization is already suspended.' : 'This organization is not suspended.' };
    this.d.writer.tx(() => {
      this.repo.setSuspended(orgId, on ? new Date(this.d.now()).toISOString() : null, on ? actor.id : null);
      this.d.audit.record({ ...ctx, orgId }, on ? 'org.suspended' : 'org.unsuspended', { type: 'organization', id: orgId });
    });
    if (on) this.suspended.add(orgId);
    else this.suspended.delete(orgId);
    return { ok: true };
  }

  /**
   * Makes an existing account an owner of the organization: the way back in when its owners are
   * gone. A member is promoted (and re-enabled); anyone else joins as owner. Audited with the reason.
   */
  addOwner(orgId: string, email: string, reason: AddOwnerReason, ctx: AuditContext): Result<{ user: UserRow }, 'unknown' | 'no-user' | 'already'> {
    const org = this.repo.orgById(orgId);
    if (!org) return { ok: false, error: 'unknown', message: 'No such organization.' };
    const user = this.d.userByEmail(email.trim());
    if (!user || user.disabled_at) return { ok: false, error: 'no-user', message: 'No active account uses this address. The person signs up first (or is invited from the organization\'s members page).' };
    const before = this.repo.membership(orgId, user.id);
    if (before && before.role === 'owner' && !before.disabled_at) return { ok: false, error: 'already', message: `${user.name} is already an owner of ${org.name}.` };
    this.d.writer.tx(() => {
      if (before) {
        this.repo.setRole(orgId, user.id, 'owner', null);
        if (before.disabled_at) this.repo.setMembershipDisabled(orgId, user.id, null);
      } else {
        this.repo.insertMembership({ org_id: orgId, user_id: user.id, role: 'owner', event_scope: null, created_at: new Date(this.d.now()).toISOString() });
      }
      this.d.audit.record({ ...ctx, orgId }, 'org.owner_added', { type: 'user', id: user.id }, 'success', { reason, before: before ? (before.disabled_at ? `${before.role} (disabled)` : before.role) : null });
    });
    return { ok: true, user };
  }

  pendingInvitations(): PendingInvitationRow[] {
    return this.repo.allOpenInvitations(this.d.now());
  }

  /**
   * A new link for an open invitation (the old link stops working: only a hash of it is kept, so
   * it cannot be sent again), mailed to the same address with the same role.
   */
  resendInvitation(actor: UserRow, id: string, ctx: AuditContext): Result<object, 'unknown'> {
    const inv = this.repo.invitationById(id);
    const org = inv && this.repo.orgById(inv.org_id);
    if (!inv || !org || inv.accepted_at !== null || inv.revoked_at !== null || inv.expires_at <= this.d.now()) {
      return { ok: false, error: 'unknown', message: 'This invitation is no longer open (accepted, revoked or expired).' };
    }
    return this.d.writer.tx(() => {
      const t = this.d.now();
      this.repo.revokeInvitation(org.id, inv.id, t);
      const token = randomToken(32);
      const newId = randomUUID();
      this.repo.insertInvitation({ id: newId, org_id: org.id, email: inv.email, role: inv.role, event_scope: inv.event_scope, token_hash: hashToken(token), invited_by: inv.invited_by, created_at: t, expires_at: t + INVITE_DAYS * 86_400_000 });
      this.d.mailer.enqueue({ orgId: org.id, to: inv.email, ...renderMail('invitation', { orgName: org.name, inviterName: actor.name, role: inv.role, link: `${this.d.baseUrl()}/invite?token=${token}` }) });
      this.d.audit.record({ ...ctx, orgId: org.id }, 'member.invitation_resent', { type: 'invitation', id: newId }, 'success', { previous: inv.id });
      return { ok: true as const };
    });
  }
}

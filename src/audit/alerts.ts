import type { UserRow } from '../auth/repo.ts';
import type { DB } from '../db/open.ts';
import type { Fault } from '../db/faults.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/service.ts';
import { renderMail } from '../mail/templates.ts';
import type { Writer } from '../db/writer.ts';
import { type AlertRow, securityAlertsRepo } from './alerts-repo.ts';
import { alertRecipientsRepo } from './repo.ts';
import type { AuditContext, AuditLog } from './service.ts';

export interface AlertRecipient {
  id: string;
  email: string;
}

export interface AlertDeps {
  db: DB;
  audit: AuditLog;
  mailer: Pick<Mailer, 'enqueue' | 'sendNow'>;
  log: Logger;
  writer: Pick<Writer, 'tx'>;
  now: () => number;
}

/** Alerts of one rule for one organization are mailed at most this often; the ones between are grouped into the next mail. */
export const ALERT_GROUP_MS = 15 * 60_000;

/**
 * Security alerts: an email to the people responsible, and an audit row that says who was told.
 * Callers describe what happened without personal data in the title (ids, counts, times); the
 * later admin/audit UI adds rules that call this seam (new-country logins, mass exports...).
 */
export class SecurityAlerts {
  private readonly recipients;
  private readonly store;

  constructor(private readonly d: AlertDeps) {
    this.recipients = alertRecipientsRepo(d.db);
    this.store = securityAlertsRepo(d.db);
  }

  /**
   * Stores the alert (the organization's Security page lists it) and mails the organization's
   * owners and admins, or the instance owners. The rule is the key's first part: one rule's alerts
   * for one organization are mailed at most once per ALERT_GROUP_MS; those in between are counted
   * in the next mail. Returns how many people were mailed now.
   */
  raise(alert: { key: string; title: string; lines: string[]; orgId?: string | null }, ctx: AuditContext): number {
    const orgId = alert.orgId ?? null;
    const rule = alert.key.split(':')[0] ?? alert.key;
    const now = this.d.now();
    return this.d.writer.tx(() => {
      this.store.insert({ org_id: orgId, rule, key: alert.key, title: alert.title, lines: JSON.stringify(alert.lines), created_at: now });
      const last = this.store.lastMailed(orgId, rule);
      if (last !== undefined && now - last < ALERT_GROUP_MS) {
        this.d.audit.record({ ...ctx, orgId }, 'security.alert', { type: 'alert', id: alert.key }, 'success', { recipients: [], grouped: true, title: alert.title });
        return 0;
      }
      const waiting = this.store.unmailed(orgId, rule) - 1;
      this.store.markMailed(orgId, rule);
      const lines = waiting > 0 ? [...alert.lines, `Also ${waiting} more alert${waiting === 1 ? '' : 's'} of this kind since the last message (see the Security page).`] : alert.lines;
      const recipients: AlertRecipient[] = orgId ? this.recipients.orgAdmins(orgId) : this.recipients.instanceOwners();
      for (const r of recipients) this.d.mailer.enqueue({ orgId, to: r.email, ...renderMail('securityAlert', { title: alert.title, lines }) });
      this.d.audit.record({ ...ctx, orgId }, 'security.alert', { type: 'alert', id: alert.key }, 'success', { recipients: recipients.map((r) => r.id), title: alert.title });
      return recipients.length;
    });
  }

  /** The organization's alerts, newest first, for its Security page. */
  list(orgId: string, limit = 200): AlertRow[] {
    return this.store.forOrg(orgId, limit);
  }

  /**
   * An account locked from one network after repeated failed sign-ins. The holder is told (they
   * can still sign in from elsewhere, and may want to change the password); so are its
   * organizations' admins and, for an instance admin, the owners. Called once per lock.
   */
  accountLocked(user: UserRow, network: string, ctx: AuditContext): void {
    this.d.mailer.enqueue({
      to: user.email,
      ...renderMail('securityAlert', {
        title: 'Sign-in to your account was locked',
        lines: [
          `After repeated failed sign-ins from the network ${network}, sign-in to your account from that network is locked for 15 minutes.`,
          'You can still sign in from anywhere else.',
          'If this was not you, someone may be guessing your password: consider changing it, and turn on two-factor authentication if you have not.',
        ],
      }),
    });
    this.d.audit.record(ctx, 'auth.lock_notice', { type: 'user', id: user.id }, 'success', { network });
    const lines = [`Account: user ${user.id}`, `Locked for 15 minutes from the network ${network} after repeated failed sign-ins (last from IP ${ctx.ip ?? 'unknown'}); other networks can still sign in.`, 'If this was not the account holder, someone may be guessing the password. An admin can unlock the account sooner.'];
    for (const orgId of this.recipients.orgsOfUser(user.id)) this.raise({ key: `account-locked:${user.id}`, title: 'An account in your organization was locked', lines, orgId }, ctx);
    if (user.instance_role) this.raise({ key: `account-locked:${user.id}`, title: 'An instance administrator account was locked', lines }, ctx);
  }

  /**
   * A fault that stops writes (failed sync, full disk): nothing can be queued or audited now, so
   * the owners are mailed directly and the technical log carries it. Never throws.
   */
  async instanceFault(event: { type: 'raised' | 'cleared'; fault: Fault }): Promise<void> {
    const { type, fault } = event;
    const title = type === 'raised' ? `Tessera stopped accepting changes: ${fault.kind}` : `Tessera accepts changes again (${fault.kind} cleared)`;
    if (type === 'raised') this.d.log.error({ fault: fault.kind, since: new Date(fault.since).toISOString() }, fault.message);
    else this.d.log.warn({ fault: fault.kind }, 'fault cleared');
    let owners: AlertRecipient[] = [];
    try {
      owners = this.recipients.instanceOwners();
    } catch {
      // Reading can fail too when the disk is in trouble: the log line above is what is left.
    }
    const lines = type === 'raised' ? [fault.message, `Since ${new Date(fault.since).toISOString()}. /readyz answers 503 until this is resolved.`] : [`The ${fault.kind} condition is over; the server saves changes again.`];
    const mail = renderMail('securityAlert', { title, lines });
    await Promise.all(owners.map((o) => this.d.mailer.sendNow({ to: o.email, ...mail })));
  }
}

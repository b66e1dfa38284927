import type { UserRow } from '../auth/repo.ts';
import type { DB } from '../db/open.ts';
import type { Fault } from '../db/faults.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/service.ts';
import { renderMail } from '../mail/templates.ts';
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
}

/**
 * Security alerts: an email to the people responsible, and an audit row that says who was told.
 * Callers describe what happened without personal data in the title (ids, counts, times); the
 * later admin/audit UI adds rules that call this seam (new-country logins, mass exports...).
 */
export class SecurityAlerts {
  private readonly recipients;

  constructor(private readonly d: AlertDeps) {
    this.recipients = alertRecipientsRepo(d.db);
  }

  raise(alert: { key: string; title: string; lines: string[]; orgId?: string | null }, ctx: AuditContext): number {
    const recipients: AlertRecipient[] = alert.orgId ? this.recipients.orgAdmins(alert.orgId) : this.recipients.instanceOwners();
    for (const r of recipients) {
      this.d.mailer.enqueue({ orgId: alert.orgId ?? null, to: r.email, ...renderMail('securityAlert', { title: alert.title, lines: alert.lines }) });
    }
    this.d.audit.record({ ...ctx, orgId: alert.orgId ?? null }, 'security.alert', { type: 'alert', id: alert.key }, 'success', { recipients: recipients.map((r) => r.id), title: alert.title });
    return recipients.length;
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

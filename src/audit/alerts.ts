import type { AuditContext, AuditLog } from './service.ts';
import type { Mailer } from '../mail/service.ts';
import { renderMail } from '../mail/templates.ts';

export interface AlertRecipient {
  id: string;
  email: string;
}

export interface AlertDeps {
  audit: AuditLog;
  mailer: Mailer;
  /** Instance owners (instance-wide alerts, e.g. a failed restore test). */
  instanceOwners: () => AlertRecipient[];
  /** Owners and admins of one organization (tenant alerts). */
  orgAdmins: (orgId: string) => AlertRecipient[];
}

/**
 * Security alerts: an email to the people responsible, and an audit row that says who was told.
 * Callers describe what happened without personal data in the title (ids, counts, times); the
 * later admin/audit UI adds rules that call this seam (new-country logins, mass exports...).
 */
export class SecurityAlerts {
  constructor(private readonly d: AlertDeps) {}

  raise(alert: { key: string; title: string; lines: string[]; orgId?: string | null }, ctx: AuditContext): number {
    const recipients = alert.orgId ? this.d.orgAdmins(alert.orgId) : this.d.instanceOwners();
    for (const r of recipients) {
      this.d.mailer.enqueue({ orgId: alert.orgId ?? null, to: r.email, ...renderMail('securityAlert', { title: alert.title, lines: alert.lines }) });
    }
    this.d.audit.record({ ...ctx, orgId: alert.orgId ?? null }, 'security.alert', { type: 'alert', id: alert.key }, 'success', { recipients: recipients.map((r) => r.id), title: alert.title });
    return recipients.length;
  }
}

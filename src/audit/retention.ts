import type { AccessLogWriter } from './access-log.ts';
import type { DenialLog } from './denials.ts';
import type { AuditContext, AuditLog } from './service.ts';

export interface LogRetentionDeps {
  audit: AuditLog;
  accessLog: Pick<AccessLogWriter, 'prune'>;
  denials: Pick<DenialLog, 'prune'>;
  auditDays: number;
  accessLogDays: number;
  now: () => number;
}

/**
 * Logs are kept for a limited time: audit rows for `auditDays` (1 year by default), access-log
 * day files for `accessLogDays` (90 days). Run daily by the server (jobs.ts). Pruned audit rows
 * leave a signed checkpoint, so the chain still verifies (AuditLog.prune).
 */
export class LogRetention {
  constructor(private readonly d: LogRetentionDeps) {}

  get policy(): { auditDays: number; accessLogDays: number } {
    return { auditDays: this.d.auditDays, accessLogDays: this.d.accessLogDays };
  }

  run(ctx: AuditContext): { auditRows: number; accessLogFiles: string[] } {
    const now = new Date(this.d.now());
    const before = new Date(now.getTime() - this.d.auditDays * 86_400_000);
    const auditRows = this.d.audit.prune(before, ctx);
    this.d.denials.prune(before);
    const accessLogFiles = this.d.accessLog.prune(this.d.accessLogDays, now);
    if (accessLogFiles.length) this.d.audit.record({ ...ctx, orgId: null }, 'access_log.pruned', { type: 'access_log', id: 'instance' }, 'success', { files: accessLogFiles.length, retentionDays: this.d.accessLogDays });
    return { auditRows, accessLogFiles };
  }
}

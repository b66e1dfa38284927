import type { DB } from '../db/open.ts';
import type { Keyring } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import type { SecurityAlerts } from './alerts.ts';
import type { AuditContext, AuditLog } from './service.ts';
import { type AuditReport, verifyAuditLogAsync } from './verify.ts';

export interface ChainCheckRow {
  id: number;
  at: string;
  trigger: 'schedule' | 'manual' | 'cli';
  ok: number;
  exit_code: number;
  rows: number;
  findings: string;
  warnings: string;
}

function chainChecksRepo(db: DB) {
  const insert = db.prepare('INSERT INTO audit_chain_checks (at, trigger, ok, exit_code, rows, findings, warnings) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const latest = db.prepare('SELECT * FROM audit_chain_checks ORDER BY id DESC LIMIT 1');
  return {
    insert: (at: string, trigger: ChainCheckRow['trigger'], r: AuditReport) =>
      insert.run(at, trigger, r.exitCode === 0 ? 1 : 0, r.exitCode, r.rows, JSON.stringify(r.findings.map((f) => f.message)), JSON.stringify(r.warnings)),
    latest: () => latest.get() as ChainCheckRow | undefined,
  };
}

export interface ChainStatusDeps {
  db: DB;
  audit: AuditLog;
  keyring: Keyring;
  alerts: Pick<SecurityAlerts, 'raise'>;
  dataDir: string;
  log: Logger;
  now: () => number;
}

/**
 * `audit verify` run by the server: daily (croner, see jobs.ts) and on demand from the instance
 * audit page. Each result is kept (the page shows the latest) and audited; a failure raises a
 * security alert to the instance owners (once a day while it keeps failing). Never two runs at once.
 */
export class ChainStatus {
  private readonly repo;
  private running: Promise<AuditReport> | undefined;
  constructor(private readonly d: ChainStatusDeps) {
    this.repo = chainChecksRepo(d.db);
  }

  latest(): (Omit<ChainCheckRow, 'findings' | 'warnings'> & { findings: string[]; warnings: string[] }) | undefined {
    const r = this.repo.latest();
    return r && { ...r, findings: JSON.parse(r.findings) as string[], warnings: JSON.parse(r.warnings) as string[] };
  }

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Runs a check after the one in progress, if any: each request gets its own result and row. */
  run(trigger: 'schedule' | 'manual', ctx: AuditContext): Promise<AuditReport> {
    const run: Promise<AuditReport> = (this.running ?? Promise.resolve()).catch(() => undefined).then(() => this.check(trigger, ctx));
    this.running = run;
    void run.finally(() => {
      if (this.running === run) this.running = undefined;
    }).catch(() => undefined);
    return run;
  }

  /** Waits for a running check (shutdown). */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private async check(trigger: 'schedule' | 'manual', ctx: AuditContext): Promise<AuditReport> {
    const report = await verifyAuditLogAsync(this.d.audit, this.d.keyring, this.d.dataDir);
    const at = new Date(this.d.now()).toISOString();
    const ok = report.exitCode === 0;
    const prev = this.repo.latest();
    this.d.db
      .transaction(() => {
        this.repo.insert(at, trigger, report);
        this.d.audit.record({ ...ctx, orgId: null }, 'audit.verified', { type: 'audit_log', id: 'instance' }, ok ? 'success' : 'failure', { trigger, rows: report.rows, exitCode: report.exitCode, findings: report.findings.map((f) => f.kind) });
      })
      .immediate();
    if (!ok) this.d.log.error({ exitCode: report.exitCode, findings: report.findings.map((f) => f.message) }, 'audit chain verification failed');
    if (!ok && (!prev || prev.ok === 1 || prev.at.slice(0, 10) !== at.slice(0, 10))) {
      this.d.alerts.raise({ key: `audit-verify:${at.slice(0, 10)}`, title: 'The audit log failed verification', lines: [...report.findings.map((f) => f.message), `Checked ${report.rows} rows at ${at} (${trigger}). Run \`tessera audit verify\` on the server for the details.`] }, ctx);
    }
    return report;
  }
}

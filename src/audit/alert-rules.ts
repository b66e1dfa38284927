import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import type { Logger } from '../log.ts';
import type { SecurityAlerts } from './alerts.ts';
import { securityAlertsRepo } from './alerts-repo.ts';
import { alertRecipientsRepo } from './repo.ts';
import { type AuditContext, type AuditEvent, systemContext } from './service.ts';

/** An organization's alert thresholds: N events in M minutes. */
export const thresholdsSchema = z.object({
  failedLogins: z.object({ n: z.number().int().min(2).max(1000), minutes: z.number().int().min(1).max(1440) }).default({ n: 5, minutes: 15 }),
  personalReads: z.object({ n: z.number().int().min(10).max(1_000_000), minutes: z.number().int().min(1).max(1440) }).default({ n: 500, minutes: 10 }),
});
export type Thresholds = z.infer<typeof thresholdsSchema>;
export const defaultThresholds: Thresholds = thresholdsSchema.parse({});

/** Failed sign-ins from one network across all accounts: an instance rule (a network belongs to no organization). */
const NETWORK_FAILURES = { n: 20, minutes: 15 };
/** Backups behind by more than this raise an alert. */
const BACKUP_LAG_S = 3600;
/** A target whose uploads keep failing this long raises an alert (the shipper retries with back-off meanwhile). */
const BACKUP_FAILING_S = 600;

/** How many attendees' personal data an audited action showed. */
function personalCount(e: AuditEvent): number {
  const num = (key: string) => {
    const v = (JSON.parse(e.details) as Record<string, unknown>)[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : 0;
  };
  switch (e.action) {
    case 'attendee.viewed':
      return 1;
    case 'attendee.exported':
      return num('rows');
    case 'attendee.listed':
      return Math.min(num('results'), 50);
    case 'privacy.exported':
      return (JSON.parse(e.details) as { by?: string }).by === 'staff' ? num('registrations') : 0;
    default:
      return 0;
  }
}

/** The network a sign-in came from, coarse enough that a home router's new address is not "new": IPv4 /24, IPv6 /48. */
export function signInNetwork(ip: string | null): string {
  if (!ip || !ipaddr.isValid(ip)) return 'unknown';
  let a = ipaddr.parse(ip);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  if (a.kind() === 'ipv4') return `${(a as ipaddr.IPv4).octets.slice(0, 3).join('.')}.0/24`;
  return `${new ipaddr.IPv6([...(a as ipaddr.IPv6).parts.slice(0, 3), 0, 0, 0, 0, 0]).toString()}/48`;
}

/**
 * The security alert rules, evaluated on every audit row as it is written (AuditLog.subscribe).
 * Counters live in memory (sliding windows per key): the hot paths pay one switch per row, and a
 * restart forgets a half-counted burst, which only an operator can cause. A rule fires once when
 * its count reaches the threshold and again only after the window has emptied.
 */
export class AlertRules {
  private readonly windows = new Map<string, { at: number; n: number }[]>();
  private readonly fired = new Map<string, number>();
  private readonly repo;
  private readonly recipients;

  constructor(private readonly d: { db: DB; writer: Pick<Writer, 'tx'>; alerts: Pick<SecurityAlerts, 'raise'>; now: () => number; log: Logger }) {
    this.repo = securityAlertsRepo(d.db);
    this.recipients = alertRecipientsRepo(d.db);
  }

  thresholds(orgId: string): Thresholds {
    try {
      return thresholdsSchema.parse(JSON.parse(this.repo.thresholds(orgId)));
    } catch {
      return defaultThresholds;
    }
  }

  setThresholds(orgId: string, t: Thresholds): void {
    this.repo.setThresholds(orgId, JSON.stringify(t));
  }

  /** Adds `n` at now under `key` and returns the sum within the window. */
  private count(key: string, n: number, windowMs: number): number {
    const now = this.d.now();
    const list = (this.windows.get(key) ?? []).filter((x) => now - x.at < windowMs);
    list.push({ at: now, n });
    this.windows.set(key, list);
    if (this.windows.size > 50_000) this.windows.clear();
    return list.reduce((a, x) => a + x.n, 0);
  }

  /** True once per window for a key that crossed its threshold. */
  private crossed(key: string, total: number, threshold: number, windowMs: number): boolean {
    if (total < threshold) return false;
    const last = this.fired.get(key);
    if (last !== undefined && this.d.now() - last < windowMs) return false;
    this.fired.set(key, this.d.now());
    return true;
  }

  private raise(orgId: string | null, key: string, title: string, lines: string[], e: AuditEvent | null): void {
    const ctx: AuditContext = e ? { actor: { type: 'system' }, ip: e.ip, requestId: e.request_id } : systemContext();
    this.d.alerts.raise({ key, title, lines, orgId }, ctx);
  }

  /** The audit listener. Never throws: a rule's failure must not lose the audit row. */
  observe(e: AuditEvent): void {
    if (e.action.startsWith('security.')) return;
    try {
      this.evaluate(e);
    } catch (err) {
      this.d.log.error({ err: (err as Error).message, action: e.action }, 'security alert rule failed');
    }
  }

  private evaluate(e: AuditEvent): void {
    // Only for alert texts: most rows (every registration) never need it.
    const at = () => new Date(this.d.now()).toISOString().replace('T', ' ').slice(0, 16);
    if (e.action === 'auth.login' && (e.result === 'failure' || e.result === 'denied')) {
      const net = signInNetwork(e.ip);
      const totalNet = this.count(`login-fail-net:${net}`, 1, NETWORK_FAILURES.minutes * 60_000);
      if (this.crossed(`login-fail-net:${net}`, totalNet, NETWORK_FAILURES.n, NETWORK_FAILURES.minutes * 60_000)) {
        this.raise(null, `failed-logins-network:${net}`, 'Many failed sign-ins from one network', [`${totalNet} failed sign-ins from the network ${net} within ${NETWORK_FAILURES.minutes} minutes (until ${at()} UTC), across accounts.`], e);
      }
      if (e.target_type === 'user' && e.target_id) {
        for (const orgId of this.recipients.orgsOfUser(e.target_id)) {
          const t = this.thresholds(orgId).failedLogins;
          const key = `login-fail-user:${orgId}:${e.target_id}`;
          const total = this.count(key, 1, t.minutes * 60_000);
          if (this.crossed(key, total, t.n, t.minutes * 60_000)) {
            this.raise(orgId, `failed-logins-account:${e.target_id}`, 'Repeated failed sign-ins to a member account', [`Account: user ${e.target_id}`, `${total} failed sign-ins within ${t.minutes} minutes (until ${at()} UTC), the last from ${e.ip ?? 'an unknown address'}.`], e);
          }
        }
      }
      return;
    }
    if (e.action === 'auth.login' && e.result === 'success' && e.target_type === 'user' && e.target_id) return this.newNetwork(e, e.target_id, at());
    if ((e.action === 'auth.2fa_disabled' || e.action === 'auth.sms_disabled' || e.action === 'auth.2fa_reset') && e.target_id) {
      for (const orgId of this.repo.adminOrgsOf(e.target_id)) this.raise(orgId, `2fa-off:${e.target_id}`, 'Two-factor authentication was turned off for an administrator', [`Account: user ${e.target_id} (owner or admin here)`, `At ${at()} UTC (${e.action}).`], e);
      return;
    }
    if (e.action === 'access.denied' && e.org_id && (JSON.parse(e.details) as { reason?: string }).reason === 'ip') {
      this.raise(e.org_id, `ip-allowlist:${e.actor_id ?? 'unknown'}`, 'Access refused by the IP allowlist', [`A member (user ${e.actor_id ?? 'unknown'}) was refused from ${e.ip ?? 'an unknown address'}, which is not in the allowlist, at ${at()} UTC.`], e);
      return;
    }
    const n = e.org_id && (e.actor_type === 'user' || e.actor_type === 'api_token') ? personalCount(e) : 0;
    if (n > 0 && e.org_id) {
      const t = this.thresholds(e.org_id).personalReads;
      const key = `reads:${e.org_id}:${e.actor_type}:${e.actor_id}`;
      const total = this.count(key, n, t.minutes * 60_000);
      if (this.crossed(key, total, t.n, t.minutes * 60_000)) {
        this.raise(e.org_id, `bulk-reads:${e.actor_id}`, 'A member read or exported many attendees’ personal data', [`${e.actor_type === 'api_token' ? 'API token' : 'User'} ${e.actor_id}: ${total} attendee records read or exported within ${t.minutes} minutes (threshold ${t.n}), until ${at()} UTC.`], e);
      }
    }
  }

  /** An owner's or admin's sign-in from a network they have not used before (the first sign-in only records it). */
  private newNetwork(e: AuditEvent, userId: string, at: string): void {
    const orgs = this.repo.adminOrgsOf(userId);
    const instance = this.repo.instanceRole(userId);
    if (orgs.length === 0 && !instance) return;
    const net = signInNetwork(e.ip);
    if (this.repo.networkSeen(userId, net)) return;
    const first = this.repo.knownNetworks(userId) === 0;
    this.d.writer.tx(() => this.repo.addNetwork(userId, net, this.d.now()));
    if (first) return;
    const lines = [`Account: user ${userId}`, `Signed in at ${at} UTC from the network ${net}, not used by this account before.`, 'If this was not the account holder, sign them out everywhere and reset the password.'];
    for (const orgId of orgs) this.raise(orgId, `new-network:${userId}`, 'An administrator signed in from a new network', lines, e);
    if (instance) this.raise(null, `new-network:${userId}`, 'An instance administrator signed in from a new network', lines, e);
  }

  /** The daily audit-chain check (and `tessera audit verify` at the server): a broken chain is an incident. */
  auditChainChecked(report: { findings: { message: string }[] }): void {
    if (report.findings.length === 0) return;
    this.raise(null, 'audit-chain', 'The audit log failed verification', report.findings.map((f) => f.message), null);
  }

  /**
   * Backup health, checked every 10 minutes with the backup's status: a target whose uploads
   * have kept failing for 10 minutes (a blip that the retry heals is not news), or data that
   * waits more than an hour to reach the targets. A failed daily restore test alerts from the
   * restore test itself. At most one mail every 6 hours while it lasts.
   */
  backupChecked(s: { lagSeconds: number; targets: { target: string; lastError?: string | undefined; failingSince?: string | undefined }[] }): void {
    const now = this.d.now();
    const failing = s.targets.filter((t) => t.failingSince !== undefined && now - Date.parse(t.failingSince) >= BACKUP_FAILING_S * 1000);
    if (s.lagSeconds <= BACKUP_LAG_S && failing.length === 0) return;
    if (!this.crossed('backup', 1, 1, 6 * 3600_000)) return;
    const lines = failing.map((t) => `Uploads to ${t.target} have failed since ${t.failingSince!.replace('T', ' ').slice(0, 16)} UTC: ${t.lastError ?? 'unknown error'}`);
    if (s.lagSeconds > BACKUP_LAG_S) lines.push(`The newest data waiting for a backup target is ${Math.round(s.lagSeconds / 60)} minutes old.`);
    lines.push('Details: `tessera backup status` on the server, and /admin/backups.');
    this.raise(null, 'backup-failure', 'Backups are failing', lines, null);
  }
}

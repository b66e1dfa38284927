import type { AppContext } from './app-context.ts';
import type { AccessLogWriter } from './audit/access-log.ts';
import { SecurityAlerts } from './audit/alerts.ts';
import { ChainStatus } from './audit/chain-status.ts';
import { DenialLog } from './audit/denials.ts';
import { LogRetention } from './audit/retention.ts';
import { AuditSearch } from './audit/search.ts';
import { AlertRules } from './audit/alert-rules.ts';
import { Incidents } from './audit/incidents.ts';
import type { AuditLog } from './audit/service.ts';
import { EmailLinks } from './auth/email-links.ts';
import { PhoneService } from './auth/phone.ts';
import { AuthService } from './auth/service.ts';
import { TotpEnrolment } from './auth/totp-enrolment.ts';
import { UserAdmin } from './auth/user-admin.ts';
import { SessionService } from './auth/sessions.ts';
import { SetupService } from './auth/setup.ts';
import { SendQuota } from './auth/send-quota.ts';
import { orgNamesOfUser } from './orgs/context-words.ts';
import { orgSessionLimits } from './orgs/session-policy.ts';
import { Throttle } from './auth/throttle.ts';
import type { Config } from './config/config.ts';
import { Faults } from './db/faults.ts';
import type { DB } from './db/open.ts';
import { settingsRepo } from './config/repo.ts';
import { InstanceSettings } from './admin/settings-service.ts';
import { TwilioCompatibleSender } from './sms/sender.ts';
import { type SyncFn, Writer } from './db/writer.ts';
import { eventIcs } from './events/ics.ts';
import { EventService } from './events/service.ts';
import { AttendeeTokens } from './events/tokens.ts';
import type { Metrics } from './http/metrics.ts';
import type { Keyring } from './keys/keyring.ts';
import type { Logger } from './log.ts';
import { Mailer } from './mail/service.ts';
import { BrandingService } from './orgs/branding.ts';
import { DashboardService } from './orgs/dashboard.ts';
import { OrgService, invitationLimits } from './orgs/service.ts';
import { OrgDirectory } from './orgs/directory.ts';
import { AttendeeService } from './registrations/attendees.ts';
import { AttendeeLinks } from './registrations/links.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { RegistrationQueue } from './registrations/queue.ts';
import { PrivacyNotices } from './privacy/notice.ts';
import { PrivacyRequests } from './privacy/requests.ts';
import { SelfService } from './privacy/self-service.ts';
import { RegistrationService, registrationLimits } from './registrations/service.ts';
import { RegistrationStats } from './registrations/stats.ts';
import { SmsCodes, SmsOutbox } from './sms/service.ts';
import { BackupTargetSettings } from './admin/backup-targets.ts';
import { backupsHoldingExpireBy } from './backup/retention.ts';
import { alertRecipientsRepo } from './audit/repo.ts';
import { ErasureService } from './privacy/erasure.ts';
import { HoldService } from './privacy/holds.ts';
import { LedgerCrypto, ledgerFilePath } from './privacy/ledger.ts';
import { LedgerStore } from './privacy/ledger-store.ts';
import { RetentionService } from './privacy/retention.ts';

/** What exists before the services: the opened instance and the process's plumbing. */
export interface Core {
  cfg: Config;
  db: DB;
  keyring: Keyring;
  audit: AuditLog;
  log: Logger;
  metrics: Metrics;
  accessLog: AccessLogWriter;
  now: () => number;
}

/**
 * The composition root: builds every service once, in dependency order, and hands each its
 * dependencies through the constructor. The HTTP app, the CLI and the jobs all use this.
 */
export function buildContext(core: Core, listenUrl: () => string, opts: { walSync?: SyncFn } = {}): AppContext {
  const { cfg, db, audit, log, now } = core;
  const faults = new Faults(now);
  const settings = settingsRepo(db);
  const writer = new Writer(db, { faults, batchWindowMs: cfg.writeBatchWindowMs, ...(opts.walSync ? { sync: opts.walSync } : {}), probe: () => settings.put('write_probe', JSON.stringify(new Date(now()).toISOString()), new Date(now()).toISOString()) });
  // Read by the services on each use: a change saved on /admin/settings applies without a restart.
  const instanceSettings = new InstanceSettings({ db, writer, audit, keyring: core.keyring, cfg, now });
  const baseUrl = () => instanceSettings.publicUrl() ?? listenUrl();
  const instanceName = instanceSettings.instanceName;
  const outboxDeps = { db, log, now, durability: writer, faults };

  const throttle = new Throttle(db, now);
  const limiter = new RateLimiter(now);
  const tokens = new AttendeeTokens(core.keyring);
  const events = new EventService({ db, writer, audit, throttle, tokens, now });
  const links = new AttendeeLinks({ db, tokens, baseUrl, eventById: (orgId, id) => events.eventById(orgId, id) });
  const mailer = new Mailer({
    ...outboxDeps,
    from: cfg.mailFrom,
    smtp: () => instanceSettings.smtp(),
    fromOf: instanceSettings.mailFrom,
    registrations: links,
    eventIcs: (orgId, eventId) => {
      const e = events.eventById(orgId, eventId);
      return e && eventIcs(e, `${baseUrl()}/e/${e.slug}`, new Date(now()));
    },
  });
  let smsSender: { key: string; sender: TwilioCompatibleSender } | undefined;
  const sms = new SmsOutbox({
    ...outboxDeps,
    senderOf: () => {
      const p = instanceSettings.smsProvider();
      if (!p) return undefined;
      const key = JSON.stringify(p);
      if (smsSender?.key !== key) smsSender = { key, sender: new TwilioCompatibleSender(p) };
      return smsSender.sender;
    },
  });
  const alerts = new SecurityAlerts({ db, audit, mailer, log, writer, now });
  faults.subscribe((e) => void alerts.instanceFault(e));
  const alertRules = new AlertRules({ db, writer, alerts, now, log });
  audit.subscribe((e) => alertRules.observe(e));

  const sessions = new SessionService(db, instanceSettings.sessionPolicy, now, orgSessionLimits(db));
  const setup = new SetupService(db, writer, audit, now);
  const smsCodes = new SmsCodes({ db, writer, now });
  const quota = new SendQuota(db, now);
  const sendLimits = { per15Min: cfg.authSendsPer15Min, perDay: cfg.authSendsPerDay, perNetworkHour: cfg.authSendsPerNetworkHour };
  const orgNamesOf = orgNamesOfUser(db);
  const emailLinks = new EmailLinks({ db, writer, audit, sessions, throttle, quota, sendLimits, mailer, now, baseUrl, instanceName, orgNamesOf, passwordMinLength: instanceSettings.passwordMinLength });
  const phone = new PhoneService({ db, writer, audit, sessions, throttle, quota, sendLimits, sms, smsCodes, now, instanceName });
  const auth = new AuthService({ db, writer, audit, sessions, throttle, setup, smsCodes, emailLinks, alerts, now, instanceName, orgNamesOf, policy: () => ({ passwordMinLength: instanceSettings.passwordMinLength(), lockRules: instanceSettings.lockRules() }) });
  const totp = new TotpEnrolment({ db, writer, audit, sessions, throttle, now, instanceName });
  const userAdmin = new UserAdmin({ db, writer, audit, sessions, throttle, mailer, now });
  const orgDirectory = new OrgDirectory({ db, writer, audit, mailer, now, baseUrl, userByEmail: (email) => auth.userByEmail(email) });
  const orgs = new OrgService({ db, writer, audit, sessions, mailer, now, baseUrl, userById: (id) => auth.user(id), userByEmail: (e) => auth.userByEmail(e), limiter, inviteLimits: invitationLimits(cfg), newOrgRequire2fa: instanceSettings.newOrgRequire2fa, isSuspended: (id) => orgDirectory.isSuspended(id) });
  const branding = new BrandingService({ db, writer, audit, now, orgById: (id) => orgs.byId(id), isSuspended: (id) => orgDirectory.isSuspended(id) });
  // The notice states the erasure date of the retention policy (resolved when a notice is built).
  const notices = new PrivacyNotices({ db, fieldsOf: (e) => events.fields(e), erasureDate: (e) => retention.schedule(e.org_id, e.id)?.eraseOn ?? null, now });
  const registrations = new RegistrationService({ db, writer, audit, mailer, links, now, events, limiter, limits: registrationLimits(cfg), notices });
  const registrationQueue = new RegistrationQueue(registrations, { queueAfterMs: cfg.registrationQueueAfterMs, maxParked: cfg.registrationQueueMax, now });
  const attendees = new AttendeeService({ db, writer, audit, throttle, mailer, links, now, staffName: (id) => auth.user(id)?.name || undefined });
  const stats = new RegistrationStats({ db, now });
  // Attention sources of other capabilities (privacy's open data requests, audit's security alerts) are added to `sources` as they arrive.
  const dashboard = new DashboardService({ events, stats, invitations: (orgId) => orgs.openInvitations(orgId), sources: [], now });
  const denials = new DenialLog(db, audit, now);
  const auditSearch = new AuditSearch({ db, audit, now, userIdByEmail: (e) => auth.userByEmail(e)?.id });
  const chainStatus = new ChainStatus({ db, audit, keyring: core.keyring, alerts, dataDir: cfg.dataDir, log, now });
  const logRetention = new LogRetention({ audit, accessLog: core.accessLog, denials, auditDays: cfg.auditLogRetentionDays, accessLogDays: cfg.accessLogRetentionDays, now });
  const ledgerCrypto = new LedgerCrypto(core.keyring);
  // Flag/env targets and those saved on /admin/settings, read once: a change applies at the next start.
  const backupTargetSettings = new BackupTargetSettings({ db, writer, audit, keyring: core.keyring, cfg, now, log });
  const backupTargets = backupTargetSettings.running;
  const ledger = new LedgerStore({ crypto: ledgerCrypto, file: ledgerFilePath(core.keyring.file), targets: [...backupTargets], log });
  const erasure = new ErasureService({
    db, writer, audit, crypto: ledgerCrypto, ledger, log, now,
    backupsExpireBy: (at) => (backupTargets.length ? backupsHoldingExpireBy(at, cfg.backupRetentionDays, cfg.backupSnapshotHours * 3_600_000) : null),
  });
  const holds = new HoldService({ db, writer, audit, now });
  const recipients = alertRecipientsRepo(db);
  const retention = new RetentionService({ db, writer, audit, erasure, mailer, recipients: (orgId) => recipients.orgAdmins(orgId), now, log, baseUrl });
  const privacyRequests = new PrivacyRequests({ db, writer, audit, mailer, now, baseUrl, orgAdmins: recipients.orgAdmins, orgById: (id) => orgs.byId(id) });
  const selfService = new SelfService({
    db,
    writer,
    audit,
    mailer,
    limiter,
    limits: { network: { max: 20, windowMs: 3_600_000 }, address: { max: 3, windowMs: 3_600_000 } },
    now,
    baseUrl,
    eraser: erasure,
    requests: privacyRequests,
    people: { registrationsOf: (o, e) => attendees.ofPerson(o, e), registration: (o, id) => attendees.byId(o, id) },
    events: { eventById: (o, id) => events.eventById(o, id), fieldsOf: (o, id) => events.fieldsOf(o, id) },
    notices,
    orgs: { byId: (id) => orgs.byId(id), roleOf: (o, u) => orgs.roleOf(o, u) },
    staffName: (id) => auth.user(id)?.name || undefined,
    holds,
  });
  const incidents = new Incidents({ db, writer, audit, mailer, now, baseUrl, orgAdmins: recipients.orgAdmins });
  return { ...core, instanceSettings, backupTargetSettings, orgDirectory, denials, auditSearch, chainStatus, logRetention, faults, erasure, holds, retention, writer, mailer, sms, sessions, setup, auth, emailLinks, totp, phone, userAdmin, orgs, branding, events, links, registrations, registrationQueue, attendees, notices, privacyRequests, selfService, alertRules, incidents, stats, dashboard, alerts, baseUrl };
}

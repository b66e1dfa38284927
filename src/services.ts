import type { AppContext } from './app-context.ts';
import type { AccessLogWriter } from './audit/access-log.ts';
import { SecurityAlerts } from './audit/alerts.ts';
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
import { type SyncFn, Writer } from './db/writer.ts';
import { eventIcs } from './events/ics.ts';
import { EventService } from './events/service.ts';
import { AttendeeTokens } from './events/tokens.ts';
import type { Metrics } from './http/metrics.ts';
import type { Keyring } from './keys/keyring.ts';
import type { Logger } from './log.ts';
import { Mailer } from './mail/service.ts';
import { smtpRequiresTls } from './config/transport.ts';
import { OrgService, invitationLimits } from './orgs/service.ts';
import { AttendeeService } from './registrations/attendees.ts';
import { AttendeeLinks } from './registrations/links.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { PrivacyNotices } from './privacy/notice.ts';
import { InterimEraser } from './privacy/interim-eraser.ts';
import { PrivacyRequests } from './privacy/requests.ts';
import { SelfService } from './privacy/self-service.ts';
import { alertRecipientsRepo } from './audit/repo.ts';
import { RegistrationService, registrationLimits } from './registrations/service.ts';
import { smsSenderFromConfig } from './sms/sender.ts';
import { SmsCodes, SmsOutbox } from './sms/service.ts';

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
export function buildContext(core: Core, baseUrl: () => string, opts: { walSync?: SyncFn } = {}): AppContext {
  const { cfg, db, audit, log, now } = core;
  const faults = new Faults(now);
  const settings = settingsRepo(db);
  const writer = new Writer(db, { faults, ...(opts.walSync ? { sync: opts.walSync } : {}), probe: () => settings.put('write_probe', JSON.stringify(new Date(now()).toISOString()), new Date(now()).toISOString()) });
  const outboxDeps = { db, log, now, durability: writer, faults };

  const throttle = new Throttle(db, now);
  const limiter = new RateLimiter(now);
  const tokens = new AttendeeTokens(core.keyring);
  const events = new EventService({ db, writer, audit, throttle, tokens, now });
  const links = new AttendeeLinks({ db, tokens, baseUrl, eventById: (orgId, id) => events.eventById(orgId, id) });
  const mailer = new Mailer({
    ...outboxDeps,
    smtpUrl: cfg.smtpUrl,
    requireTls: smtpRequiresTls(cfg),
    from: cfg.mailFrom,
    registrations: links,
    eventIcs: (orgId, eventId) => {
      const e = events.eventById(orgId, eventId);
      return e && eventIcs(e, `${baseUrl()}/e/${e.slug}`, new Date(now()));
    },
  });
  const sms = new SmsOutbox({ ...outboxDeps, sender: smsSenderFromConfig(cfg) });
  const alerts = new SecurityAlerts({ db, audit, mailer, log, writer, now });
  faults.subscribe((e) => void alerts.instanceFault(e));
  const alertRules = new AlertRules({ db, writer, alerts, now, log });
  audit.subscribe((e) => alertRules.observe(e));

  const sessions = new SessionService(db, { idleMs: cfg.sessionIdleMinutes * 60_000, absoluteMs: cfg.sessionAbsoluteHours * 3_600_000 }, now, orgSessionLimits(db));
  const setup = new SetupService(db, writer, audit, now);
  const smsCodes = new SmsCodes({ db, writer, now });
  const quota = new SendQuota(db, now);
  const sendLimits = { per15Min: cfg.authSendsPer15Min, perDay: cfg.authSendsPerDay, perNetworkHour: cfg.authSendsPerNetworkHour };
  const orgNamesOf = orgNamesOfUser(db);
  const emailLinks = new EmailLinks({ db, writer, audit, sessions, throttle, quota, sendLimits, mailer, now, baseUrl, instanceName: cfg.instanceName, orgNamesOf });
  const phone = new PhoneService({ db, writer, audit, sessions, throttle, quota, sendLimits, sms, smsCodes, now, instanceName: cfg.instanceName });
  const auth = new AuthService({ db, writer, audit, sessions, throttle, setup, smsCodes, emailLinks, alerts, now, instanceName: cfg.instanceName, orgNamesOf });
  const totp = new TotpEnrolment({ db, writer, audit, sessions, throttle, now, instanceName: cfg.instanceName });
  const userAdmin = new UserAdmin({ db, writer, audit, sessions, throttle, now });
  const orgs = new OrgService({ db, writer, audit, sessions, mailer, now, baseUrl, userById: (id) => auth.user(id), userByEmail: (e) => auth.userByEmail(e), limiter, inviteLimits: invitationLimits(cfg) });
  // The erasure date comes from the retention capability once it exists; until then the notice
  // points to the controller for it.
  const notices = new PrivacyNotices({ db, fieldsOf: (e) => events.fields(e), erasureDate: () => null, now });
  const registrations = new RegistrationService({ db, writer, audit, mailer, links, now, events, limiter, limits: registrationLimits(cfg), notices });
  const attendees = new AttendeeService({ db, writer, audit, throttle, mailer, links, now, staffName: (id) => auth.user(id)?.name || undefined });
  const privacyRequests = new PrivacyRequests({ db, writer, audit, mailer, now, baseUrl, orgAdmins: alertRecipientsRepo(db).orgAdmins, orgById: (id) => orgs.byId(id) });
  // Interim: replaced by the erasure capability's PersonEraser at merge (see interim-eraser.ts).
  const backupWindowMs = cfg.backupDir || cfg.backupS3Url ? cfg.backupRetentionDays * 86_400_000 : null;
  const eraser = new InterimEraser({ db, writer, audit, now, backupWindowMs });
  const selfService = new SelfService({
    db,
    writer,
    audit,
    mailer,
    limiter,
    limits: { network: { max: 20, windowMs: 3_600_000 }, address: { max: 3, windowMs: 3_600_000 } },
    now,
    baseUrl,
    eraser,
    requests: privacyRequests,
    people: { registrationsOf: (o, e) => attendees.ofPerson(o, e), registration: (o, id) => attendees.byId(o, id) },
    events: { eventById: (o, id) => events.eventById(o, id), fieldsOf: (o, id) => events.fieldsOf(o, id) },
    notices,
    orgs: { byId: (id) => orgs.byId(id), roleOf: (o, u) => orgs.roleOf(o, u) },
    staffName: (id) => auth.user(id)?.name || undefined,
  });
  const incidents = new Incidents({ db, writer, audit, mailer, now, baseUrl, orgAdmins: alertRecipientsRepo(db).orgAdmins });
  return { ...core, faults, writer, mailer, sms, sessions, setup, auth, emailLinks, totp, phone, userAdmin, orgs, events, links, registrations, attendees, alerts, notices, privacyRequests, selfService, alertRules, incidents, baseUrl };
}

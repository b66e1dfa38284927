import type { AppContext } from './app-context.ts';
import type { AccessLogWriter } from './audit/access-log.ts';
import type { AuditLog } from './audit/service.ts';
import { SecurityAlerts } from './audit/alerts.ts';
import type { AuditContext } from './audit/service.ts';
import type { UserRow } from './auth/repo.ts';
import { AuthService } from './auth/service.ts';
import { SessionService } from './auth/sessions.ts';
import { SetupService } from './auth/setup.ts';
import { Throttle } from './auth/throttle.ts';
import type { Config } from './config/config.ts';
import type { DB } from './db/open.ts';
import type { Metrics } from './http/metrics.ts';
import type { Keyring } from './keys/keyring.ts';
import type { Logger } from './log.ts';
import { Mailer } from './mail/service.ts';
import { WriteBatcher } from './db/write-batcher.ts';
import { eventIcs } from './events/ics.ts';
import { EventService } from './events/service.ts';
import { RegistrationService } from './events/registrations.ts';
import { AttendeeTokens } from './events/tokens.ts';
import { OrgService } from './orgs/service.ts';
import { smsSenderFromConfig } from './sms/sender.ts';
import { SmsCodes, SmsOutbox } from './sms/service.ts';

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

/** Wires the capabilities together once; the HTTP app, the CLI and jobs all use this. */
export function buildContext(core: Core, baseUrl: () => string): AppContext {
  const { cfg, db, audit, now } = core;
  const mailer = new Mailer({ db, log: core.log, smtpUrl: cfg.smtpUrl, from: cfg.mailFrom, now });
  const sessions = new SessionService(db, { idleMs: cfg.sessionIdleMinutes * 60_000, absoluteMs: cfg.sessionAbsoluteHours * 3_600_000 }, now);
  const setup = new SetupService(db, audit, now);
  const throttle = new Throttle(db, now);
  const sms = new SmsOutbox({ db, log: core.log, sender: smsSenderFromConfig(cfg), now });
  const smsCodes = new SmsCodes({ db, now });
  // Alerts need the org service, which needs the auth service: resolve it at call time.
  let alertsRef: SecurityAlerts | undefined;
  const onAccountLocked = (user: UserRow, ctx: AuditContext) => {
    const lines = [`Account: user ${user.id}`, `Locked for 15 minutes after repeated failed sign-ins, last from IP ${ctx.ip ?? 'unknown'}.`, 'If this was not the account holder, someone may be guessing the password. An admin can unlock the account sooner.'];
    for (const org of orgs.forUser(user.id)) alertsRef?.raise({ key: `account-locked:${user.id}`, title: 'An account in your organization was locked', lines, orgId: org.id }, ctx);
    if (user.instance_role) alertsRef?.raise({ key: `account-locked:${user.id}`, title: 'An instance administrator account was locked', lines }, ctx);
  };
  const auth = new AuthService({ db, audit, sessions, throttle, mailer, setup, sms, smsCodes, now, baseUrl, instanceName: cfg.instanceName, onAccountLocked });
  const orgs = new OrgService({ db, audit, sessions, mailer, now, baseUrl, userById: (id) => auth.repo.userById(id), userByEmail: (e) => auth.repo.userByEmail(e) });
  const tokens = new AttendeeTokens(core.keyring);
  const events = new EventService({ db, audit, throttle, tokens, now });
  mailer.provideEventIcs((orgId, eventId) => {
    const e = events.repo.eventById(orgId, eventId);
    return e && eventIcs(e, `${baseUrl()}/e/${e.slug}`, new Date(now()));
  });
  const registrations = new RegistrationService({ db, audit, mailer, tokens, now, baseUrl, batcher: new WriteBatcher(db) });
  mailer.provideRegistrationMail({
    params: (template, orgId, registrationId) => registrations.mailParams(template, orgId, registrationId),
    ticketLink: (orgId, registrationId) => registrations.ticketLink(orgId, registrationId),
  });
  const alerts = new SecurityAlerts({ audit, mailer, instanceOwners: () => auth.repo.activeOwners(), orgAdmins: (orgId) => orgs.repo.alertRecipients(orgId) });
  alertsRef = alerts;
  return { ...core, mailer, sms, sessions, setup, auth, orgs, events, registrations, alerts, baseUrl };
}

import type { AppContext } from './app-context.ts';
import type { AccessLogWriter } from './audit/access-log.ts';
import type { AuditLog } from './audit/service.ts';
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
  const auth = new AuthService({ db, audit, sessions, throttle, mailer, setup, sms, smsCodes, now, baseUrl, instanceName: cfg.instanceName });
  const orgs = new OrgService({ db, audit, sessions, mailer, now, baseUrl, userById: (id) => auth.repo.userById(id), userByEmail: (e) => auth.repo.userByEmail(e) });
  const tokens = new AttendeeTokens(core.keyring);
  const events = new EventService({ db, audit, throttle, tokens, now });
  const registrations = new RegistrationService({ db, audit, mailer, tokens, now, baseUrl, batcher: new WriteBatcher(db) });
  return { ...core, mailer, sms, sessions, setup, auth, orgs, events, registrations, baseUrl };
}

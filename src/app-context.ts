import type { InstanceSettings } from './admin/settings-service.ts';
import type { AccessLogWriter } from './audit/access-log.ts';
import type { SecurityAlerts } from './audit/alerts.ts';
import type { ChainStatus } from './audit/chain-status.ts';
import type { DenialLog } from './audit/denials.ts';
import type { LogRetention } from './audit/retention.ts';
import type { AuditSearch } from './audit/search.ts';
import type { AlertRules } from './audit/alert-rules.ts';
import type { Incidents } from './audit/incidents.ts';
import type { AuditLog } from './audit/service.ts';
import type { EmailLinks } from './auth/email-links.ts';
import type { PhoneService } from './auth/phone.ts';
import type { AuthService } from './auth/service.ts';
import type { TotpEnrolment } from './auth/totp-enrolment.ts';
import type { UserAdmin } from './auth/user-admin.ts';
import type { SessionService } from './auth/sessions.ts';
import type { SetupService } from './auth/setup.ts';
import type { Config } from './config/config.ts';
import type { DB } from './db/open.ts';
import type { Metrics } from './http/metrics.ts';
import type { Keyring } from './keys/keyring.ts';
import type { Logger } from './log.ts';
import type { Mailer } from './mail/service.ts';
import type { EventService } from './events/service.ts';
import type { Faults } from './db/faults.ts';
import type { Writer } from './db/writer.ts';
import type { AttendeeService } from './registrations/attendees.ts';
import type { AttendeeLinks } from './registrations/links.ts';
import type { RegistrationQueue } from './registrations/queue.ts';
import type { RegistrationService } from './registrations/service.ts';
import type { BrandingService } from './orgs/branding.ts';
import type { DashboardService } from './orgs/dashboard.ts';
import type { OrgService } from './orgs/service.ts';
import type { RegistrationStats } from './registrations/stats.ts';
import type { OrgDirectory } from './orgs/directory.ts';
import type { PrivacyNotices } from './privacy/notice.ts';
import type { PrivacyRequests } from './privacy/requests.ts';
import type { SelfService } from './privacy/self-service.ts';
import type { SmsOutbox } from './sms/service.ts';
import type { ErasureService } from './privacy/erasure.ts';
import type { BackupTargetSettings } from './admin/backup-targets.ts';
import type { HoldService } from './privacy/holds.ts';
import type { RetentionService } from './privacy/retention.ts';

/** The thin value passed around instead of globals: one per running instance. */
export interface AppContext {
  cfg: Config;
  db: DB;
  keyring: Keyring;
  audit: AuditLog;
  log: Logger;
  metrics: Metrics;
  accessLog: AccessLogWriter;
  /** settings edited on /admin/settings (flags and env vars win); the services read them on each use */
  instanceSettings: InstanceSettings;
  /** backup targets: those given by flag/env and those saved on /admin/settings (`running`: the ones read at start) */
  backupTargetSettings: BackupTargetSettings;
  /** the instance's fault states (read-only after a failed sync, disk full) */
  faults: Faults;
  /** the one path for durable writes (group commit, sync, hold) */
  writer: Writer;
  mailer: Mailer;
  sms: SmsOutbox;
  sessions: SessionService;
  setup: SetupService;
  auth: AuthService;
  /** password reset, email verification and email change links */
  emailLinks: EmailLinks;
  /** an authenticator app as second factor: enrolment, recovery codes, removal */
  totp: TotpEnrolment;
  /** a phone number as second factor: enrolment and SMS sign-in codes */
  phone: PhoneService;
  /** instance administration of accounts: list, disable, sign out, unlock */
  userAdmin: UserAdmin;
  orgs: OrgService;
  /** an organization's accent colour and logo for its public pages */
  branding: BrandingService;
  /** instance admins' view of all organizations: list, rename, suspend, resend invitations */
  orgDirectory: OrgDirectory;
  events: EventService;
  links: AttendeeLinks;
  registrations: RegistrationService;
  /** fair admission during an opening rush: the direct path, or the "you are in the queue" page */
  registrationQueue: RegistrationQueue;
  attendees: AttendeeService;
  /** counts for dashboards: seats per event, registrations per day, newest registrations */
  stats: RegistrationStats;
  /** the organization's landing page: coming events, newest registrations, what needs attention */
  dashboard: DashboardService;
  alerts: SecurityAlerts;
  /** outsiders' refusals, aggregated per actor, route and hour in the instance log */
  denials: DenialLog;
  /** the audit pages: search, entry, export, "who accessed this attendee" */
  auditSearch: AuditSearch;
  /** the last `audit verify` result; runs daily and on demand */
  chainStatus: ChainStatus;
  /** how long audit rows and access logs are kept; run daily */
  logRetention: LogRetention;
  /** erasure of attendees' personal data and the erasure ledger (implements PersonEraser) */
  erasure: ErasureService;
  /** legal holds that keep a registration past retention */
  holds: HoldService;
  /** the retention policy chain and the job that erases what is due */
  retention: RetentionService;
  /** the rules that raise alerts from audit rows, with each organization's thresholds */
  alertRules: AlertRules;
  /** personal-data breaches: the 72-hour clock, the notice to owners and admins, the report */
  incidents: Incidents;
  /** each event's generated privacy notice, and the version each registration was shown */
  notices: PrivacyNotices;
  /** data-subject requests as records (access, erasure, correction), with their deadlines */
  privacyRequests: PrivacyRequests;
  /** the attendee's own data page: emailed link, downloads, who read it, correction, erasure */
  selfService: SelfService;
  /** Absolute base URL for links in emails (the public URL, or where we listen). */
  baseUrl: () => string;
  /** Milliseconds since epoch; tests replace it to move time. */
  now: () => number;
}

import path from 'node:path';
import { Cron } from 'croner';
import { z } from 'zod';
import { E164_PATTERN } from '../sms/phone.ts';
import { type Given, SECRET_SETTINGS, type SecretSetting, SecretSourceError, readSecret, withSmtpPassword } from './secrets.ts';
import { INSECURE_CHANNELS, type InsecureChannel, plaintextEndpointError, smtpUrlWeakensTls } from './transport.ts';

/**
 * One table describes every setting: its flag, its env var and its schema. The CLI builds its
 * options from it and the loader resolves flag > env > default, so the two can never drift.
 */
const portSchema = z.coerce.number().int().min(0).max(65535);
const boolSchema = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');
const optionalPath = z.string().min(1).optional();
const insecureChannels = z
  .string()
  .transform((v) => v.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean))
  .pipe(z.array(z.enum(INSECURE_CHANNELS, { error: `must be a comma-separated list of ${INSECURE_CHANNELS.join(', ')}` })))
  .transform((v): InsecureChannel[] => [...new Set(v)]);
/** `--x-file` and `--x-command` for a secret `--x` (see secrets.ts). */
function secretSources<N extends SecretSetting>(name: N, flag: string, env: string, what: string) {
  return {
    [`${name}File`]: { env: `${env}_FILE`, flag: `${flag}-file`, schema: optionalPath, help: `file holding the ${what} (or the systemd credential tessera-${flag})` },
    [`${name}Command`]: { env: `${env}_COMMAND`, flag: `${flag}-command`, schema: optionalPath, help: `command that prints the ${what} (run without a shell)` },
  } as { [K in `${N}File` | `${N}Command`]: { env: string; flag: string; schema: typeof optionalPath; help: string } };
}
/** Parsed (never started) by croner itself, so the server cannot fail later on what it accepted. */
function isCron(v: string): boolean {
  try {
    new Cron(v, { paused: true, timezone: 'UTC' }).stop();
    return true;
  } catch {
    return false;
  }
}

export const settings = {
  port: { env: 'TESSERA_PORT', flag: 'port', schema: portSchema.default(8080), help: 'port to listen on' },
  host: { env: 'TESSERA_HOST', flag: 'host', schema: z.string().min(1).default('127.0.0.1'), help: 'address to listen on' },
  dataDir: { env: 'TESSERA_DATA_DIR', flag: 'data-dir', schema: z.string().min(1).default('./data'), help: 'data directory (database, keyring, access logs)' },
  masterKeyFile: { env: 'TESSERA_MASTER_KEY_FILE', flag: 'master-key-file', schema: optionalPath, help: 'file holding the master key (64 hex characters)' },
  masterKeyCommand: { env: 'TESSERA_MASTER_KEY_COMMAND', flag: 'master-key-command', schema: optionalPath, help: 'command that prints the master key (Vault, KMS)' },
  tlsCert: { env: 'TESSERA_TLS_CERT', flag: 'tls-cert', schema: optionalPath, help: 'TLS certificate chain (PEM); enables built-in HTTPS' },
  tlsKey: { env: 'TESSERA_TLS_KEY', flag: 'tls-key', schema: optionalPath, help: 'TLS private key (PEM)' },
  redirectPort: { env: 'TESSERA_REDIRECT_PORT', flag: 'redirect-port', schema: portSchema.optional(), help: 'with TLS: plain-HTTP port that only redirects to HTTPS' },
  trustProxy: { env: 'TESSERA_TRUST_PROXY', flag: 'trust-proxy', schema: boolSchema.default(false), help: 'honour X-Forwarded-For / X-Forwarded-Proto from a reverse proxy' },
  publicUrl: { env: 'TESSERA_PUBLIC_URL', flag: 'public-url', schema: z.url({ protocol: /^https?$/ }).optional(), help: 'external base URL used in links and emails' },
  logLevel: { env: 'TESSERA_LOG_LEVEL', flag: 'log-level', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), help: 'technical log level' },
  auditLogRetentionDays: { env: 'TESSERA_AUDIT_LOG_RETENTION_DAYS', flag: 'audit-log-retention-days', schema: z.coerce.number().int().min(30).max(3650).default(365), help: 'days to keep audit log entries (older ones are removed daily, leaving a signed checkpoint)' },
  auditVerifyCron: { env: 'TESSERA_AUDIT_VERIFY_CRON', flag: 'audit-verify-cron', schema: z.string().refine(isCron, 'must be a cron expression').default('47 3 * * *'), help: 'when the server verifies the audit chain (cron, UTC)' },
  outboxKeepDays: { env: 'TESSERA_OUTBOX_KEEP_DAYS', flag: 'outbox-keep-days', schema: z.coerce.number().int().min(1).max(365).default(30), help: 'sent and failed mail and SMS (addresses, one-time links) are deleted this many days after they were written (daily job)' },
  accessLogRetentionDays: { env: 'TESSERA_ACCESS_LOG_RETENTION_DAYS', flag: 'access-log-retention-days', schema: z.coerce.number().int().min(1).max(3650).default(90), help: 'days to keep HTTP access logs' },
  metricsToken: { env: 'TESSERA_METRICS_TOKEN', flag: 'metrics-token', schema: z.string().min(16, 'must be at least 16 characters').regex(/^[\x21-\x7e]+$/, 'must be printable characters without spaces').optional(), help: 'bearer token for /metrics and the /readyz details from other hosts (without it: loopback only)' },
  ...secretSources('metricsToken', 'metrics-token', 'TESSERA_METRICS_TOKEN', 'metrics token'),
  bodyLimitKb: { env: 'TESSERA_BODY_LIMIT_KB', flag: 'body-limit-kb', schema: z.coerce.number().int().min(1).max(102_400).default(1024), help: 'maximum request body size in KiB' },
  acceptSockets: { env: 'TESSERA_ACCEPT_SOCKETS', flag: 'accept-sockets', schema: z.coerce.number().int().min(1).max(256).default(16), help: 'listening sockets on the port (SO_REUSEPORT): each turn of the event loop accepts one new connection per socket, so a busy server still takes in hundreds of new connections a second (1 = one socket)' },
  shutdownTimeoutMs: { env: 'TESSERA_SHUTDOWN_TIMEOUT_MS', flag: 'shutdown-timeout-ms', schema: z.coerce.number().int().min(0).max(600_000).default(10_000), help: 'how long in-flight requests may finish on shutdown' },
  sessionIdleMinutes: { env: 'TESSERA_SESSION_IDLE_MINUTES', flag: 'session-idle-minutes', schema: z.coerce.number().int().min(5).max(43_200).default(720), help: 'sign out after this many minutes without activity' },
  sessionAbsoluteHours: { env: 'TESSERA_SESSION_ABSOLUTE_HOURS', flag: 'session-absolute-hours', schema: z.coerce.number().int().min(1).max(8_760).default(168), help: 'sign out this many hours after sign-in, whatever the activity' },
  authSendsPer15Min: { env: 'TESSERA_AUTH_SENDS_PER_15MIN', flag: 'auth-sends-per-15min', schema: z.coerce.number().int().min(1).max(1000).default(3), help: 'password-reset / email-change mails or SMS codes to one address or number per 15 minutes' },
  authSendsPerDay: { env: 'TESSERA_AUTH_SENDS_PER_DAY', flag: 'auth-sends-per-day', schema: z.coerce.number().int().min(1).max(10_000).default(10), help: 'the same, per day' },
  authSendsPerNetworkHour: { env: 'TESSERA_AUTH_SENDS_PER_NETWORK_HOUR', flag: 'auth-sends-per-network-hour', schema: z.coerce.number().int().min(1).max(100_000).default(60), help: 'such mails and codes requested from one network (IPv4 address or IPv6 /64) per hour' },
  instanceName: { env: 'TESSERA_INSTANCE_NAME', flag: 'instance-name', schema: z.string().max(60).regex(/^[^\r\n<>]*$/, 'must be one line without < or >').default(''), help: 'name shown in authenticator apps and emails' },
  smtpUrl: { env: 'TESSERA_SMTP_URL', flag: 'smtp-url', schema: z.url({ protocol: /^smtps?$/, hostname: /^\S+$/, error: 'must be an smtp:// or smtps:// URL with a host' }).optional(), help: 'SMTP server, smtp://user:pass@host:587 or smtps://user:pass@host:465 (keep the password out of it with --smtp-password-file, the systemd credential or a command); unset = mail stays in the dev outbox' },
  smtpPassword: { env: 'TESSERA_SMTP_PASSWORD', flag: 'smtp-password', schema: z.string().min(1).max(512).regex(/^[^\r\n]*$/, 'must be one line').optional(), help: 'SMTP password, when the SMTP URL names only the user (secret: prefer the file, credential or command)' },
  ...secretSources('smtpPassword', 'smtp-password', 'TESSERA_SMTP_PASSWORD', 'SMTP password'),
  allowInsecureTransport: { env: 'TESSERA_ALLOW_INSECURE_TRANSPORT', flag: 'allow-insecure-transport', schema: insecureChannels.default([]), help: 'channels that may run without TLS to a host other than loopback: smtp (no STARTTLS required), sms and s3 (http://); each is warned about at start and by doctor' },
  mailFrom: { env: 'TESSERA_MAIL_FROM', flag: 'mail-from', schema: z.string().min(3).max(320).regex(/^[^\r\n]*@[^\r\n]*$/, 'must be an address such as "Tessera <tessera@example.org>"').default('Tessera <tessera@localhost>'), help: 'sender of outgoing mail' },
  smsUrl: { env: 'TESSERA_SMS_URL', flag: 'sms-url', schema: z.url({ protocol: /^https?$/, hostname: /^\S+$/, error: 'must be an http:// or https:// URL with a host' }).refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), 'must not contain credentials (use --sms-account-sid and --sms-auth-token)').optional(), help: 'Twilio-compatible Messages endpoint, e.g. https://api.twilio.com/2010-04-01/Accounts/AC…/Messages.json; unset = SMS stay in the dev outbox' },
  // Basic-auth user name, so no ':' (RFC 7617); printable ASCII keeps it out of header injection.
  smsAccountSid: { env: 'TESSERA_SMS_ACCOUNT_SID', flag: 'sms-account-sid', schema: z.string().regex(/^[\x21-\x39\x3b-\x7e]{1,128}$/, 'must be 1-128 printable characters without spaces or ":"').optional(), help: 'account SID for the SMS provider (HTTP Basic user)' },
  smsAuthToken: { env: 'TESSERA_SMS_AUTH_TOKEN', flag: 'sms-auth-token', schema: z.string().regex(/^[\x21-\x7e]{8,256}$/, 'must be 8-256 printable characters without spaces').optional(), help: 'auth token for the SMS provider (secret: prefer --sms-auth-token-file, the systemd credential or a command; flags show in ps)' },
  ...secretSources('smsAuthToken', 'sms-auth-token', 'TESSERA_SMS_AUTH_TOKEN', 'SMS auth token'),
  smsFrom: { env: 'TESSERA_SMS_FROM', flag: 'sms-from', schema: z.string().refine((v) => E164_PATTERN.test(v) || /^MG[0-9a-fA-F]{32}$/.test(v), 'must be an E.164 number such as +14155550100 or a messaging service SID (MG…)').optional(), help: 'SMS sender: E.164 number or messaging service SID (MG…)' },
  backupDir: { env: 'TESSERA_BACKUP_DIR', flag: 'backup-dir', schema: optionalPath, help: 'directory (local disk or mount) that receives the encrypted continuous backup; may be used with S3' },
  backupS3Url: { env: 'TESSERA_BACKUP_S3_URL', flag: 'backup-s3-url', schema: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:\/[A-Za-z0-9._-]+)*\/?$/, 'must be s3://bucket or s3://bucket/prefix (bucket: 3–63 lowercase letters, digits, . and -; prefix: letters, digits, . _ - and /)').optional(), help: 'S3-compatible bucket (and prefix) that receives the encrypted continuous backup, s3://bucket/prefix' },
  backupS3Endpoint: { env: 'TESSERA_BACKUP_S3_ENDPOINT', flag: 'backup-s3-endpoint', schema: z.url({ protocol: /^https?$/, hostname: /^\S+$/, error: 'must be an http:// or https:// URL' }).optional(), help: 'S3 endpoint, e.g. https://s3.eu-central-1.amazonaws.com or https://<account>.r2.cloudflarestorage.com; default: AWS S3 in the region' },
  backupS3Region: { env: 'TESSERA_BACKUP_S3_REGION', flag: 'backup-s3-region', schema: z.string().regex(/^[a-z0-9-]{1,40}$/, 'must be a region name such as eu-central-1 (auto for Cloudflare R2)').default('us-east-1'), help: 'S3 region used for signing' },
  backupS3AccessKeyId: { env: 'TESSERA_BACKUP_S3_ACCESS_KEY_ID', flag: 'backup-s3-access-key-id', schema: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'must be 1-128 printable characters without spaces').optional(), help: 'S3 access key id' },
  backupS3SecretAccessKey: { env: 'TESSERA_BACKUP_S3_SECRET_ACCESS_KEY', flag: 'backup-s3-secret-access-key', schema: z.string().regex(/^[\x21-\x7e]{1,256}$/, 'must be 1-256 printable characters without spaces').optional(), help: 'S3 secret access key (secret: prefer --backup-s3-secret-access-key-file, the systemd credential or a command; flags show in ps)' },
  ...secretSources('backupS3SecretAccessKey', 'backup-s3-secret-access-key', 'TESSERA_BACKUP_S3_SECRET_ACCESS_KEY', 'S3 secret access key'),
  backupS3PathStyle: { env: 'TESSERA_BACKUP_S3_PATH_STYLE', flag: 'backup-s3-path-style', schema: boolSchema.default(false), help: 'path-style S3 URLs (endpoint/bucket/key), needed by MinIO, Garage and most self-hosted servers' },
  writeBatchWindowMs: { env: 'TESSERA_WRITE_BATCH_WINDOW_MS', flag: 'write-batch-window-ms', schema: z.coerce.number().int().min(0).max(1000).default(10), help: 'registrations arriving within this many ms of the last commit share the next one (0 = commit each as soon as the disk is free); batches cost far less per registration than single commits' },
  walCheckpointFrames: { env: 'TESSERA_WAL_CHECKPOINT_FRAMES', flag: 'wal-checkpoint-frames', schema: z.coerce.number().int().min(10).max(1_000_000).default(1000), help: 'copy the write-ahead log back into the database once it holds this many 4 KiB frames (on a worker thread, or by the backup replicator)' },
  backupSyncIntervalMs: { env: 'TESSERA_BACKUP_SYNC_INTERVAL_MS', flag: 'backup-sync-interval-ms', schema: z.coerce.number().int().min(50).max(60_000).default(1000), help: 'ship committed changes at least this often: the longest a change waits before it is captured and sent to the targets' },
  backupSyncFrames: { env: 'TESSERA_BACKUP_SYNC_FRAMES', flag: 'backup-sync-frames', schema: z.coerce.number().int().min(1).max(1_000_000).default(2048), help: 'ship as soon as this many 4 KiB WAL frames are waiting, before the interval is up (keeps segments small under heavy writes)' },
  backupSnapshotHours: { env: 'TESSERA_BACKUP_SNAPSHOT_HOURS', flag: 'backup-snapshot-hours', schema: z.coerce.number().positive().max(8760).default(24), help: 'hours between full snapshots (a restore replays at most this much change)' },
  backupRetentionDays: { env: 'TESSERA_BACKUP_RETENTION_DAYS', flag: 'backup-retention-days', schema: z.coerce.number().int().min(1).max(3650).default(30), help: 'days of backups kept (the point-in-time restore window)' },
  backupRestoreTestCron: { env: 'TESSERA_BACKUP_RESTORE_TEST_CRON', flag: 'backup-restore-test-cron', schema: z.string().refine(isCron, 'must be a cron expression such as "30 4 * * *" (minute hour day month weekday, UTC)').default('30 4 * * *'), help: 'when the daily backup restore test runs (cron, UTC)' },
  // Log shipping (src/logship/): to every backup target, and to a syslog collector when one is set.
  logShipIntervalMs: { env: 'TESSERA_LOG_SHIP_INTERVAL_MS', flag: 'log-ship-interval-ms', schema: z.coerce.number().int().min(100).max(3_600_000).default(5000), help: 'ship audit and access-log lines to the backup targets at most this long after they were written' },
  logShipMaxLines: { env: 'TESSERA_LOG_SHIP_MAX_LINES', flag: 'log-ship-max-lines', schema: z.coerce.number().int().min(1).max(100_000).default(1000), help: 'most lines in one shipped log object (an object never spans two UTC hours either)' },
  logShipMaxLagMinutes: { env: 'TESSERA_LOG_SHIP_MAX_LAG_MINUTES', flag: 'log-ship-max-lag-minutes', schema: z.coerce.number().positive().max(10_080).default(15), help: 'a log destination that takes nothing for this long while lines wait is a shipping gap (alert, /readyz, metric)' },
  syslogHost: { env: 'TESSERA_SYSLOG_HOST', flag: 'syslog-host', schema: z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, 'must be a host name or IP address').optional(), help: 'syslog collector (SIEM) that receives the audit and access logs, RFC 5424 over TLS; unset = off' },
  syslogPort: { env: 'TESSERA_SYSLOG_PORT', flag: 'syslog-port', schema: portSchema.default(6514), help: 'syslog collector port (6514: syslog over TLS)' },
  syslogCa: { env: 'TESSERA_SYSLOG_CA', flag: 'syslog-ca', schema: optionalPath, help: 'CA certificate (PEM) that signed the collector\'s certificate; default: the system CAs' },
  syslogCert: { env: 'TESSERA_SYSLOG_CERT', flag: 'syslog-cert', schema: optionalPath, help: 'client certificate (PEM) for a collector that requires mutual TLS' },
  syslogKey: { env: 'TESSERA_SYSLOG_KEY', flag: 'syslog-key', schema: optionalPath, help: 'client private key (PEM) for --syslog-cert' },
  syslogQueueLines: { env: 'TESSERA_SYSLOG_QUEUE_LINES', flag: 'syslog-queue-lines', schema: z.coerce.number().int().min(1).max(10_000_000).default(100_000), help: 'messages kept while the collector is unreachable; beyond that the oldest are dropped and counted as a gap' },
  // Abuse limits (in-memory fixed windows, src/http/rate-limit.ts); 0 switches one off.
  registrationLimitNetwork: { env: 'TESSERA_REGISTRATION_LIMIT_NETWORK', flag: 'registration-limit-network', schema: z.coerce.number().int().min(0).max(10_000_000).default(600), help: 'public registrations per network (IPv4 address or IPv6 /64) per event per 10 minutes; generous so a campus or office behind one NAT can register together (0 = off)' },
  registrationLimitAddressEvent: { env: 'TESSERA_REGISTRATION_LIMIT_ADDRESS_EVENT', flag: 'registration-limit-address-event', schema: z.coerce.number().int().min(0).max(1_000_000).default(5), help: 'registrations with the same email address for the same event per 24 hours (0 = off)' },
  registrationLimitAddressHour: { env: 'TESSERA_REGISTRATION_LIMIT_ADDRESS_HOUR', flag: 'registration-limit-address-hour', schema: z.coerce.number().int().min(0).max(1_000_000).default(10), help: 'registrations (and so registration emails) to the same email address across all events per hour (0 = off)' },
  registrationQueueAfterMs: { env: 'TESSERA_REGISTRATION_QUEUE_AFTER_MS', flag: 'registration-queue-after-ms', schema: z.coerce.number().int().min(0).max(60_000).default(1000), help: 'opening rush: once the oldest registration waiting to be written has waited this long (ms), new arrivals get the "you are in the queue" page instead of waiting for an answer' },
  registrationQueueMax: { env: 'TESSERA_REGISTRATION_QUEUE_MAX', flag: 'registration-queue-max', schema: z.coerce.number().int().min(0).max(1_000_000).default(50_000), help: 'opening rush: most people parked in the registration queue at once (in memory); beyond it registration answers "try again in a minute"' },
  invitationLimitOrg: { env: 'TESSERA_INVITATION_LIMIT_ORG', flag: 'invitation-limit-org', schema: z.coerce.number().int().min(0).max(1_000_000).default(50), help: 'invitations one organization may send per hour (0 = off)' },
  invitationLimitAddress: { env: 'TESSERA_INVITATION_LIMIT_ADDRESS', flag: 'invitation-limit-address', schema: z.coerce.number().int().min(0).max(1_000_000).default(3), help: 'invitations to the same email address per 24 hours, across organizations (0 = off)' },
} as const;

export type SettingName = keyof typeof settings;
export type Config = {
  [K in SettingName]: z.output<(typeof settings)[K]['schema']>;
} & {
  masterKeyFileDefault: string;
  /** Settings given by a flag, env var, file or credential (not defaults), and where from: these win over stored settings. */
  explicit: Partial<Record<SettingName, string>>;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * flags: values from the CLI keyed by setting name (undefined when not given).
 * env: usually process.env; empty strings count as unset so `TESSERA_PORT=` does not mean 0.
 */
export function loadConfig(
  flags: Partial<Record<SettingName, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const out: Record<string, unknown> = {};
  // Where each value came from, so an error names the flag, env var, file or credential.
  const sources: Partial<Record<SettingName, string>> = {};
  const given = (name: SettingName): Given | undefined => {
    const s = settings[name];
    if (flags[name] !== undefined) return { raw: flags[name], source: `--${s.flag}` };
    const fromEnv = env[s.env];
    return fromEnv !== undefined && fromEnv !== '' ? { raw: fromEnv, source: s.env } : undefined;
  };
  const secret = (name: SecretSetting): Given | undefined => {
    try {
      return readSecret({ direct: given(name), file: given(`${name}File`), command: given(`${name}Command`) }, { direct: settings[name].flag, file: settings[`${name}File`].flag, command: settings[`${name}Command`].flag }, env);
    } catch (e) {
      if (e instanceof SecretSourceError) throw new ConfigError(`invalid value for ${e.source}: ${e.message}`);
      throw e;
    }
  };
  for (const [name, s] of Object.entries(settings) as [SettingName, (typeof settings)[SettingName]][]) {
    const g = (SECRET_SETTINGS as readonly string[]).includes(name) ? secret(name as SecretSetting) : given(name);
    const parsed = (s.schema as z.ZodType).safeParse(g?.raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(`invalid value for ${g?.source ?? s.env}: ${issue ? issue.message : 'invalid'}`);
    }
    out[name] = parsed.data;
    if (g) sources[name] = g.source;
  }
  const cfg = out as Config;
  const sourceOf = (n: SettingName) => sources[n] ?? settings[n].env;
  if (cfg.smtpPassword !== undefined) {
    if (cfg.smtpUrl === undefined) throw new ConfigError(`invalid value for ${sourceOf('smtpPassword')}: set --smtp-url (TESSERA_SMTP_URL) as well`);
    try {
      cfg.smtpUrl = withSmtpPassword(cfg.smtpUrl, cfg.smtpPassword, sourceOf('smtpPassword'));
    } catch (e) {
      if (e instanceof SecretSourceError) throw new ConfigError(`invalid value for ${e.source}: ${e.message}`);
      throw e;
    }
  }
  if ((cfg.tlsCert === undefined) !== (cfg.tlsKey === undefined)) {
    throw new ConfigError('invalid value for --tls-cert/--tls-key: give both or neither');
  }
  if ((cfg.syslogCert === undefined) !== (cfg.syslogKey === undefined)) {
    throw new ConfigError('invalid value for --syslog-cert/--syslog-key: give both or neither');
  }
  if (cfg.syslogHost === undefined && [cfg.syslogCa, cfg.syslogCert].some((v) => v !== undefined)) {
    throw new ConfigError('invalid value for --syslog-ca/--syslog-cert: set --syslog-host (TESSERA_SYSLOG_HOST) as well');
  }
  if (cfg.redirectPort !== undefined && cfg.tlsCert === undefined) {
    throw new ConfigError('invalid value for --redirect-port: only meaningful with --tls-cert and --tls-key');
  }
  // Outbound TLS (ASVS V12.3.1): checked here so a plaintext endpoint stops start-up with one line.
  if (cfg.smtpUrl !== undefined && smtpUrlWeakensTls(cfg.smtpUrl)) {
    throw new ConfigError(`invalid value for ${sourceOf('smtpUrl')}: must not set TLS options in the URL (TLS is required; see --allow-insecure-transport)`);
  }
  const smsTls = plaintextEndpointError(cfg.smsUrl, 'sms', cfg);
  if (smsTls) throw new ConfigError(`invalid value for ${sourceOf('smsUrl')}: ${smsTls}`);
  const s3Tls = plaintextEndpointError(cfg.backupS3Endpoint, 's3', cfg);
  if (s3Tls) throw new ConfigError(`invalid value for ${sourceOf('backupS3Endpoint')}: ${s3Tls}`);
  if (cfg.smsUrl !== undefined) {
    const needed = (['smsAccountSid', 'smsAuthToken', 'smsFrom'] as const).filter((n) => cfg[n] === undefined);
    if (needed.length > 0) {
      const names = needed.map((n) => `--${settings[n].flag} (${settings[n].env})`).join(', ');
      throw new ConfigError(`invalid value for --sms-url: also set ${names}`);
    }
  }
  cfg.dataDir = path.resolve(cfg.dataDir);
  cfg.explicit = sources;
  // The default key file sits beside the data dir, never inside it, so copying or backing up
  // data/ never copies the key that unlocks it.
  cfg.masterKeyFileDefault = path.resolve(path.dirname(cfg.dataDir), 'keys', 'master.key');
  return cfg;
}

import { createAdaptorServer } from '@hono/node-server';
import { Cron } from 'croner';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import type { Hono } from 'hono';
import type { AppContext } from '../app-context.ts';
import { AccessLogWriter } from '../audit/access-log.ts';
import { AuditAnchor } from '../audit/anchor.ts';
import { systemContext } from '../audit/service.ts';
import { verifyAuditLog } from '../audit/verify.ts';
import type { BackupService } from '../backup/service.ts';
import { RestoreTester } from '../backup/restore-test.ts';
import { configuredTargets, startBackupJob } from '../backup/server-job.ts';
import { savedBackupTargets } from '../admin/backup-targets.ts';
import { purgeOutboxes } from '../outbox/purge.ts';
import type { BackupTarget } from '../backup/targets/target.ts';
import { type UpgradeSnapshot, snapshotBeforeUpgrade } from '../backup/upgrade-snapshot.ts';
import type { Migration } from '../db/migrate.ts';
import { WalCheckpoints } from '../backup/checkpointer.ts';
import { type Opened, StartupError, openInstance } from '../bootstrap.ts';
import type { Config } from '../config/config.ts';
import { plaintextTransports } from '../config/transport.ts';
import { acquireInstanceLock } from '../db/instance-lock.ts';
import { FAULT_KINDS } from '../db/faults.ts';
import type { SyncFn } from '../db/writer.ts';
import { databasePath } from '../db/open.ts';
import { createLogger } from '../log.ts';
import { checkSyslogFiles, startLogShipping } from '../logship/server-job.ts';
import { registerInstanceMetrics } from '../monitoring/collectors.ts';
import type { LogShipper } from '../logship/service.ts';
import { buildContext } from '../services.ts';
import { createApp } from './app.tsx';
import type { RouteTable } from './route-permissions.ts';
import { Acceptors } from './acceptors.ts';
import { restAsLongAsTheBatch } from '../privacy/retention.ts';
import { ConnectionDrain } from './drain.ts';
import { Metrics } from './metrics.ts';
import type { AppEnv } from './types.ts';

export interface RunningServer {
  url: string;
  port: number;
  redirectPort?: number;
  ctx: AppContext;
  setupUrl?: string;
  /** Continuous backup (undefined when no target is configured): status(), snapshotNow(). */
  backup?: BackupService;
  /** The backup restore test (its runs do nothing without a backup target). */
  restoreTester: RestoreTester;
  /** Audit and access logs shipped off the host (to the backup targets and a syslog collector). */
  logShipping: LogShipper;
  /** Who may call each route of this server's app (the route × role matrix test reads it). */
  routes: RouteTable;
  /** Stops accepting, lets in-flight requests finish (bounded), checkpoints and closes the DB. */
  close(): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  masterKeyFlagGiven?: boolean;
  logDestination?: DestinationStream;
  /** Where the setup link is printed; the console by default. */
  announce?: (line: string) => void;
  now?: () => number;
  /** Tests inject a WAL sync that fails, to see the instance turn read-only. */
  walSync?: SyncFn;
  /** Tests add routes (a handler that throws, a slow one) to the fully assembled app. */
  extendApp?: (app: Hono<AppEnv>) => void;
}

type NodeServer = http.Server | https.Server;

function fileSize(f: string): number {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
}

export async function startServer(cfg: Config, opts: StartOptions = {}): Promise<RunningServer> {
  const log = createLogger(cfg.logLevel, opts.logDestination);
  // Plaintext outbound channels are said out loud at every start (ASVS V12.3.1): a warning for
  // one the operator allowed off the machine, a note for loopback, which never leaves it.
  for (const p of plaintextTransports(cfg)) {
    if (p.loopback) log.info({ channel: p.channel, target: p.target }, 'outbound traffic without TLS to a loopback address (never leaves this machine)');
    else log.warn({ channel: p.channel, target: p.target }, `outbound traffic may run without TLS: allowed by --allow-insecure-transport=${p.channel}`);
  }
  // Checked before anything is opened: a bad backup setting stops start-up with one line.
  configuredTargets(cfg);
  checkSyslogFiles(cfg);
  const opened: Opened = await openInstance(cfg, {
    allowCreate: true,
    migrate: true,
    env: opts.env,
    masterKeyFlagGiven: opts.masterKeyFlagGiven,
    beforeMigrate: async (db, keyring, pending) => {
      // The targets saved on /admin/settings count too; the database is open but not migrated yet.
      const targets = [...configuredTargets(cfg), ...savedBackupTargets({ db, keyring, log })];
      return targets.length > 0 ? upgradeSnapshot({ cfg, targets, db, keyring, log, pending }) : undefined;
    },
  });
  // data/tessera.pid: key rotations refuse to run while the server holds the data directory.
  let lock: ReturnType<typeof acquireInstanceLock>;
  try {
    lock = acquireInstanceLock(cfg.dataDir, 'serve');
  } catch (e) {
    opened.db.close();
    throw e;
  }
  const dbFile = databasePath(cfg.dataDir);
  const tls = cfg.tlsCert !== undefined && cfg.tlsKey !== undefined;
  let tlsFiles: { cert: Buffer; key: Buffer } | undefined;
  if (tls) {
    try {
      tlsFiles = { cert: fs.readFileSync(cfg.tlsCert as string), key: fs.readFileSync(cfg.tlsKey as string) };
    } catch (e) {
      opened.db.close();
      lock.release();
      throw new StartupError(`cannot read TLS files: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  let baseUrl = cfg.publicUrl?.replace(/\/$/, '') ?? '';
  const ctx: AppContext = buildContext(
    {
      cfg,
      db: opened.db,
      keyring: opened.keyring,
      audit: opened.audit,
      log,
      metrics: new Metrics(() => fileSize(dbFile) + fileSize(`${dbFile}-wal`), () => fileSize(`${dbFile}-wal`)),
      accessLog: new AccessLogWriter(cfg.dataDir),
      now: opts.now ?? Date.now,
    },
    () => baseUrl,
    opts.walSync ? { walSync: opts.walSync } : {},
  );
  ctx.metrics.observeFaults(() => ctx.faults.list(), FAULT_KINDS);
  ctx.metrics.observeRegistrationQueue(() => ctx.registrationQueue.stats());
  registerInstanceMetrics(ctx.metrics, ctx.db, ctx.now, cfg.dataDir);
  const backupTargets = [...ctx.backupTargetSettings.running];
  if (opened.created) log.info({ dataDir: cfg.dataDir, keySource: opened.source.kind }, 'initialised a new data directory');
  if (opened.migrated.length) log.info({ migrations: opened.migrated }, 'applied migrations');

  // Log retention (audit rows, access-log files) at start and daily; the audit chain check daily after it.
  const pruneLogs = () => {
    try {
      const removed = ctx.logRetention.run(systemContext());
      if (removed.auditRows || removed.accessLogFiles.length) log.info({ auditRows: removed.auditRows, accessLogFiles: removed.accessLogFiles.length, ...ctx.logRetention.policy }, 'pruned old logs');
      // Fresh statistics, so the planner picks the narrow index for each audit search filter
      // (without any it walks a whole organization's rows); analysis_limit keeps this brief.
      ctx.db.pragma('analysis_limit = 1000');
      ctx.db.pragma('optimize');
    } catch (e) {
      log.error({ err: (e as Error).message }, 'log retention failed; will retry tomorrow');
    }
  };
  // Every scheduled job runs through metrics.job: last run, duration and failures in /metrics.
  const job = (name: string, fn: () => unknown) => {
    ctx.metrics.declareJob(name);
    return () =>
      void ctx.metrics.job(name, fn).catch((e: unknown) => log.error({ job: name, err: e instanceof Error ? e.message : String(e) }, 'scheduled job failed'));
  };
  const pruneJob = job('log_retention', pruneLogs);
  pruneJob();
  // Before the first request: a database older than the erasure ledger (restored from a backup,
  // or an old copy put back by hand) must not show anyone who was erased after it was made.
  try {
    const replayed = ctx.erasure.replayLocal();
    if (replayed.rejected) log.warn({ rejected: replayed.rejected }, 'erasure ledger: some records beside the keyring are unreadable (damaged or altered)');
  } catch (e) {
    // A fault (disk full, read-only) is a state the instance reports; the replay runs again at
    // the next start and with `tessera privacy replay-erasures`.
    log.error({ err: (e as Error).message }, 'erasure ledger: replay at start failed');
  }
  const retention = job('retention', () => ctx.retention.run({ rest: restAsLongAsTheBatch }));
  // The daily `audit verify` (chain and anchor) is the chain status job; its last result feeds the metrics.
  ctx.metrics.observeAuditVerify(() => {
    const last = ctx.chainStatus.latest();
    return last && { ok: last.ok === 1, at: Date.parse(last.at) };
  });
  const jobs = [
    new Cron('17 3 * * *', { timezone: 'UTC', protect: true }, pruneJob),
    new Cron(cfg.auditVerifyCron, { timezone: 'UTC', protect: true, unref: true }, job('audit_verify', () => ctx.chainStatus.run('schedule', systemContext()))),
    new Cron('*/10 * * * *', { timezone: 'UTC', protect: true }, job('session_purge', () => ctx.sessions.purgeExpired())),
    // Finished mail and SMS still hold addresses and one-time links: kept only as long as they help explain a delivery.
    new Cron('23 3 * * *', { timezone: 'UTC', protect: true, unref: true }, job('outbox_purge', () => purgeOutboxes(ctx, cfg.outboxKeepDays))),
    // Retention runs by itself: at start (below) and hourly.
    new Cron('41 * * * *', { timezone: 'UTC', protect: true, unref: true }, retention),
  ];

  // Before the first request: the first snapshot of the new backup generation is taken here.
  const backup = startBackupJob({ cfg, targets: backupTargets, db: ctx.db, dbFile, keyring: ctx.keyring, log, audit: ctx.audit, now: opts.now, holdWrites: () => ctx.writer.hold(), faults: ctx.faults });
  // Without a backup target nobody else checkpoints: a worker does, off the request path.
  const checkpoints = backup ? undefined : new WalCheckpoints({ db: ctx.db, dbFile, key: ctx.keyring.active('db').key, log, frames: cfg.walCheckpointFrames, faults: ctx.faults });
  if (checkpoints) {
    checkpoints.start();
    ctx.metrics.observeCheckpoints(() => ({ ...checkpoints.stats, frames: checkpoints.walFrames().frames, last: checkpoints.last }));
  } else if (backup) {
    ctx.metrics.observeCheckpoints(() => backup.walStats());
  }
  const restoreTester = new RestoreTester({ ctx, dbFile, backup });
  const logShipping = startLogShipping(ctx, backupTargets);
  if (logShipping.enabled) ctx.metrics.observeLogShipping(() => logShipping.status().destinations);
  if (backup) {
    ctx.metrics.observeBackup(() => {
      const s = restoreTester.summary();
      return s.configured ? { lagSeconds: s.lagSeconds, lastSuccessAt: s.lastSuccessAt, lastOk: s.lastRestoreTest?.ok, lastRunAt: s.lastRestoreTest?.at } : { lagSeconds: 0, lastSuccessAt: undefined, lastOk: undefined, lastRunAt: undefined };
    });
    // A target that keeps failing or stays behind is a failure the owners hear about (at most every 6 hours).
    jobs.push(new Cron('*/10 * * * *', { timezone: 'UTC', protect: true, unref: true }, () => ctx.alertRules.backupChecked(backup.status())));
    // The daily restore test (also on demand from /admin/backups); never two at once.
    jobs.push(new Cron(cfg.backupRestoreTestCron, { timezone: 'UTC', protect: true, unref: true }, job('backup_restore_test', () => restoreTester.run('schedule'))));
  }

  const { app, routes } = createApp(ctx, { tls, restoreTester, logShipping });
  opts.extendApp?.(app);
  let server: NodeServer | undefined;
  let acceptors: Acceptors | undefined;
  try {
    const adaptor = tlsFiles
      ? createAdaptorServer({ fetch: app.fetch, createServer: https.createServer, serverOptions: { ...tlsFiles, minVersion: 'TLSv1.2' } })
      : createAdaptorServer({ fetch: app.fetch });
    // A long accept queue: at a registration opening hundreds of people connect within a few
    // milliseconds. With Node's default of 511 the queue overflowed while a batch was being
    // written, the kernel dropped SYNs, and those people waited for the 1 s SYN retransmit (the
    // "slow first seconds"). The kernel caps it at net.core.somaxconn (4096 by default).
    server = (await listen(adaptor.listen({ port: cfg.port, host: cfg.host, backlog: ACCEPT_BACKLOG, reusePort: cfg.acceptSockets > 1 }))) as NodeServer;
    acceptors = await Acceptors.open(server, cfg.host, (server.address() as AddressInfo).port, cfg.acceptSockets - 1, ACCEPT_BACKLOG);
  } catch (e) {
    server?.close();
    for (const j of jobs) j.stop();
    await logShipping.stop(0);
    await backup?.stop(0);
    await ctx.accessLog.close();
    ctx.db.close();
    lock.release();
    throw new StartupError(`cannot listen on ${cfg.host}:${cfg.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const drain = new ConnectionDrain(server);
  const port = (server.address() as AddressInfo).port;
  const scheme = tls ? 'https' : 'http';
  const hostForUrl = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host;
  const url = `${scheme}://${hostForUrl}:${port}`;
  if (!baseUrl) baseUrl = url;
  ctx.mailer.start();
  ctx.sms.start();
  // The targets' copies of the ledger: entries only they hold are applied, and entries they
  // miss are shipped; then the first retention pass.
  const ledgerSync = ctx.erasure
    .replayFromTargets()
    .catch((e: unknown) => log.warn({ err: (e as Error).message }, 'erasure ledger: backup targets not checked'))
    .finally(retention);
  // The writer syncs the WAL anyway: the anchor waits for the batches it names to be on disk.
  const auditAnchor = new AuditAnchor({ dataDir: cfg.dataDir, audit: ctx.audit, keyring: ctx.keyring, now: ctx.now, log, syncDatabaseAsync: () => ctx.writer.settled() });
  auditAnchor.start();

  let redirect: http.Server | undefined;
  if (tls && cfg.redirectPort !== undefined) {
    redirect = http.createServer((req, res) => {
      // Only pages people open get redirected (ASVS V4.1.2). An API or metrics client that spoke
      // plaintext has already sent its token in the clear; following a redirect would hide that.
      if (/^\/(?:api|metrics)(?:[/?]|$)/i.test(req.url ?? '/')) {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end('This server only speaks HTTPS. API and metrics clients must use https:// (plain HTTP is refused, not redirected).\n');
        return;
      }
      const host = (req.headers.host ?? hostForUrl).replace(/:\d+$/, '');
      const target = new URL(req.url ?? '/', `https://${host}`);
      if (port !== 443) target.port = String(port);
      res.writeHead(308, { Location: target.toString(), 'Content-Type': 'text/plain' });
      res.end('This server only speaks HTTPS.\n');
    });
    await listen(redirect.listen(cfg.redirectPort, cfg.host));
  }
  log.info({ url, tls, redirectPort: redirect ? (redirect.address() as AddressInfo).port : undefined }, 'Tessera is listening');

  let setupUrl: string | undefined;
  if (!ctx.auth.instanceHasOwner()) {
    const issued = ctx.setup.issue(systemContext());
    setupUrl = `${baseUrl}/setup?token=${issued.token}`;
    // Printed on the console, not into the structured log: the link is a one-time secret.
    (opts.announce ?? ((l: string) => process.stdout.write(`${l}\n`)))(
      `\n  Tessera has no owner yet. Open this one-time link within 24 hours to create the first account:\n\n    ${setupUrl}\n`,
    );
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const j of jobs) j.stop();
      redirect?.close();
      acceptors.close();
      const queued = ctx.registrationQueue.close();
      const cut = await drain.close(cfg.shutdownTimeoutMs);
      await queued;
      if (cut) log.warn({ connections: cut, timeoutMs: cfg.shutdownTimeoutMs }, 'shutdown timeout: cut connections with requests still running');
      await ctx.retention.stop();
      // The first look at the targets' ledger copies: bounded, since a target may not answer.
      await Promise.race([ledgerSync, new Promise((r) => setTimeout(r, cfg.shutdownTimeoutMs).unref())]);
      await ctx.erasure.settled();
      await ctx.mailer.stop();
      await ctx.sms.stop();
      await ctx.accessLog.close();
      // After the access log's last lines are on disk, before the database closes.
      await logShipping.stop(cfg.shutdownTimeoutMs);
      await restoreTester.settled(cfg.shutdownTimeoutMs);
      await ctx.chainStatus.settled();
      // Ships every committed change (bounded by the shutdown timeout) before the DB closes.
      await backup?.stop(cfg.shutdownTimeoutMs);
      await checkpoints?.close();
      auditAnchor.stop();
      try {
        ctx.db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        ctx.db.close();
        lock.release();
      }
      log.info('Tessera stopped');
      log.flush();
    })());

  return { url, port, redirectPort: redirect ? (redirect.address() as AddressInfo).port : undefined, ctx, setupUrl, backup, restoreTester, logShipping, routes, close };
}

/** Before an upgrade's migrations: a snapshot on every backup target, or no upgrade (one line why). */
async function upgradeSnapshot(a: { cfg: Config; targets: BackupTarget[]; db: Opened['db']; keyring: Opened['keyring']; log: ReturnType<typeof createLogger>; pending: Migration[] }): Promise<UpgradeSnapshot> {
  const migrations = a.pending.map((m) => `${m.version}_${m.name}`);
  a.log.info({ migrations, targets: a.targets.map((t) => t.label) }, 'upgrade: taking a snapshot to the backup targets before applying migrations');
  try {
    const snap = await snapshotBeforeUpgrade({ cfg: a.cfg, targets: a.targets, db: a.db, dbFile: databasePath(a.cfg.dataDir), keyring: a.keyring, log: a.log, timeoutMs: UPGRADE_SNAPSHOT_TIMEOUT_MS });
    a.log.info({ snapshot: snap.key, generation: snap.generation }, `upgrade: snapshot stored; to go back, restore it with \`tessera restore --generation ${snap.generation}\` and the previous release`);
    return snap;
  } catch (e) {
    throw new StartupError(`not upgrading: no snapshot before the migrations (${e instanceof Error ? e.message : String(e)}); nothing was changed. Start again once the backup target is reachable, or run \`tessera migrate\` to upgrade without that snapshot.`);
  }
}

const UPGRADE_SNAPSHOT_TIMEOUT_MS = 120_000;

/** Connections the kernel may hold for us while the event loop is busy (see the listen call). */
const ACCEPT_BACKLOG = 4096;

function listen<T extends http.Server | https.Server | ReturnType<typeof createAdaptorServer>>(server: T): Promise<T> {
  return new Promise((resolve, reject) => {
    if (server.listening) return resolve(server);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

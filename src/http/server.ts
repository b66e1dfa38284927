import { verifyAuditLog } from '../audit/verify.ts';
import { serve } from '@hono/node-server';
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
import type { BackupService } from '../backup/service.ts';
import { RestoreTester } from '../backup/restore-test.ts';
import { configuredTargets, startBackupJob } from '../backup/server-job.ts';
import { WalCheckpoints } from '../backup/checkpointer.ts';
import { type Opened, StartupError, openInstance } from '../bootstrap.ts';
import type { Config } from '../config/config.ts';
import { plaintextTransports } from '../config/transport.ts';
import { acquireInstanceLock } from '../db/instance-lock.ts';
import { FAULT_KINDS } from '../db/faults.ts';
import type { SyncFn } from '../db/writer.ts';
import { databasePath } from '../db/open.ts';
import { createLogger } from '../log.ts';
import { buildContext } from '../services.ts';
import { createApp } from './app.tsx';
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
  const backupTargets = configuredTargets(cfg);
  const opened: Opened = await openInstance(cfg, { allowCreate: true, migrate: true, env: opts.env, masterKeyFlagGiven: opts.masterKeyFlagGiven });
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
      metrics: new Metrics(() => fileSize(dbFile) + fileSize(`${dbFile}-wal`)),
      accessLog: new AccessLogWriter(cfg.dataDir),
      now: opts.now ?? Date.now,
    },
    () => baseUrl,
    opts.walSync ? { walSync: opts.walSync } : {},
  );
  ctx.metrics.observeFaults(() => ctx.faults.list(), FAULT_KINDS);
  if (opened.created) log.info({ dataDir: cfg.dataDir, keySource: opened.source.kind }, 'initialised a new data directory');
  if (opened.migrated.length) log.info({ migrations: opened.migrated }, 'applied migrations');

  const pruneAccessLog = () => {
    const removed = ctx.accessLog.prune(cfg.accessLogRetentionDays, new Date(ctx.now()));
    if (removed.length) log.info({ removed: removed.length, retentionDays: cfg.accessLogRetentionDays }, 'pruned access logs');
  };
  pruneAccessLog();
  const jobs = [
    new Cron('17 3 * * *', { timezone: 'UTC', protect: true }, pruneAccessLog),
    new Cron('*/10 * * * *', { timezone: 'UTC', protect: true }, () => {
      ctx.sessions.purgeExpired();
    }),
    // The audit chain is verified daily in the server too: a break is a security alert, not only a CLI exit code.
    new Cron('41 3 * * *', { timezone: 'UTC', protect: true, unref: true }, () => ctx.alertRules.auditChainChecked(verifyAuditLog(ctx.audit, ctx.keyring, cfg.dataDir))),
  ];

  // Before the first request: the first snapshot of the new backup generation is taken here.
  const backup = startBackupJob({ cfg, targets: backupTargets, db: ctx.db, dbFile, keyring: ctx.keyring, log, audit: ctx.audit, now: opts.now, holdWrites: () => ctx.writer.hold(), faults: ctx.faults });
  // Without a backup target nobody else checkpoints: a worker does, off the request path.
  const checkpoints = backup ? undefined : new WalCheckpoints({ db: ctx.db, dbFile, key: ctx.keyring.active('db').key, log, frames: cfg.walCheckpointFrames, faults: ctx.faults });
  if (checkpoints) {
    checkpoints.start();
    ctx.metrics.observeCheckpoints(() => ({ ...checkpoints.stats, frames: checkpoints.walFrames().frames }));
  } else if (backup) {
    ctx.metrics.observeCheckpoints(() => backup.walStats());
  }
  const restoreTester = new RestoreTester({ ctx, dbFile, backup });
  if (backup) {
    ctx.metrics.observeBackup(() => {
      const s = restoreTester.summary();
      return s.configured ? { lagSeconds: s.lagSeconds, lastSuccessAt: s.lastSuccessAt, lastOk: s.lastRestoreTest?.ok } : { lagSeconds: 0, lastSuccessAt: undefined, lastOk: undefined };
    });
    // A target that stays behind is a failure the owners hear about (at most every 6 hours).
    jobs.push(new Cron('*/10 * * * *', { timezone: 'UTC', protect: true, unref: true }, () => ctx.alertRules.backupChecked(restoreTester.summary())));
    // The daily restore test (also on demand from /admin/backups); never two at once.
    jobs.push(new Cron(cfg.backupRestoreTestCron, { timezone: 'UTC', protect: true, unref: true }, () => void restoreTester.run('schedule')));
  }

  const app = createApp(ctx, { tls, restoreTester });
  opts.extendApp?.(app);
  let server: NodeServer;
  try {
    server = (await listen(
      tlsFiles
        ? serve({ fetch: app.fetch, hostname: cfg.host, port: cfg.port, createServer: https.createServer, serverOptions: { ...tlsFiles, minVersion: 'TLSv1.2' } })
        : serve({ fetch: app.fetch, hostname: cfg.host, port: cfg.port }),
    )) as NodeServer;
  } catch (e) {
    for (const j of jobs) j.stop();
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
  const auditAnchor = new AuditAnchor({ dataDir: cfg.dataDir, audit: ctx.audit, keyring: ctx.keyring, now: ctx.now, log });
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
      const cut = await drain.close(cfg.shutdownTimeoutMs);
      if (cut) log.warn({ connections: cut, timeoutMs: cfg.shutdownTimeoutMs }, 'shutdown timeout: cut connections with requests still running');
      await ctx.mailer.stop();
      await ctx.sms.stop();
      await ctx.accessLog.close();
      await restoreTester.settled(cfg.shutdownTimeoutMs);
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

  return { url, port, redirectPort: redirect ? (redirect.address() as AddressInfo).port : undefined, ctx, setupUrl, backup, restoreTester, close };
}

function listen<T extends http.Server | https.Server | ReturnType<typeof serve>>(server: T): Promise<T> {
  return new Promise((resolve, reject) => {
    if (server.listening) return resolve(server);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

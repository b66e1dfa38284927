import fs from 'node:fs';
import type { AppContext } from '../app-context.ts';
import { systemContext } from '../audit/service.ts';
import type { BackupTarget } from '../backup/targets/target.ts';
import { type Config, ConfigError } from '../config/config.ts';
import { logshipRepo } from './repo.ts';
import { LogShipper } from './service.ts';
import { AccessSource, AuditSource } from './sources.ts';

/**
 * The log shipper of a running server: to the backup targets (when any) and the syslog collector
 * (when set). A gap raises a security alert to the instance owners.
 */
/** Called before anything is opened, so a wrong certificate path stops start-up with one line. */
export function checkSyslogFiles(cfg: Config): void {
  for (const [flag, file] of [['--syslog-ca', cfg.syslogCa], ['--syslog-cert', cfg.syslogCert], ['--syslog-key', cfg.syslogKey]] as const) {
    if (file === undefined) continue;
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (e) {
      throw new ConfigError(`invalid value for ${flag}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
}

export function startLogShipping(ctx: AppContext, targets: BackupTarget[]): LogShipper {
  const { cfg } = ctx;
  const shipper = new LogShipper({
    targets,
    sources: [new AuditSource(logshipRepo(ctx.db)), new AccessSource(ctx.accessLog.dir, ctx.now)],
    syslog: cfg.syslogHost ? { host: cfg.syslogHost, port: cfg.syslogPort, caFile: cfg.syslogCa, certFile: cfg.syslogCert, keyFile: cfg.syslogKey, queueLines: cfg.syslogQueueLines } : undefined,
    keyring: ctx.keyring,
    log: ctx.log,
    now: ctx.now,
    maxLines: cfg.logShipMaxLines,
    intervalMs: cfg.logShipIntervalMs,
    maxLagMs: cfg.logShipMaxLagMinutes * 60_000,
    onGap: (gap) =>
      ctx.writer.tx(() =>
        ctx.alerts.raise(
          {
            key: `log-shipping-gap:${gap.destination}:${gap.stream}`,
            title: 'Log shipping has a gap',
            lines: [`Destination: ${gap.destination} (${gap.stream} log)`, gap.reason, 'Log lines that never leave the host can be erased by whoever takes it over. Check the destination; /readyz and tessera_logship_* metrics show the state.'],
          },
          systemContext(),
        ),
      ),
  });
  shipper.start();
  if (shipper.enabled) ctx.log.info({ targets: targets.map((t) => t.label), syslog: cfg.syslogHost ? `${cfg.syslogHost}:${cfg.syslogPort}` : null }, 'log shipping: on');
  return shipper;
}

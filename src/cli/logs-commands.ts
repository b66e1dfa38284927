import type { Command } from 'commander';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backupSettingNames, sourceTarget } from '../backup/config.ts';
import { isBackupError } from '../backup/errors.ts';
import { resolveKeyring } from '../backup/keyring-source.ts';
import type { Config } from '../config/config.ts';
import { masterKeySource, readMasterKey } from '../keys/master-key.ts';
import { exportLogs } from '../logship/export.ts';
import { STREAMS, type Stream } from '../logship/format.ts';
import { CliError } from './errors.ts';
import { addSettingOptions, flagsFrom, keyOptions } from './options.ts';

type WithConfig = (cmd: Command, fn: (cfg: Config, cmd: Command) => Promise<number | void>) => Command;

/**
 * `tessera logs export`: the audit and access lines shipped to a backup target, verified object by
 * object and link by link, printed as JSON lines on stdout; what was checked goes to stderr.
 * Exit 3 when the chain is broken (an object missing, altered, replaced or reordered).
 */
export async function logsExportCommand(cfg: Config, flagGiven: boolean, f: { from?: string; stream: string }): Promise<number> {
  const streams: Stream[] = f.stream === 'all' ? [...STREAMS] : STREAMS.includes(f.stream as Stream) ? [f.stream as Stream] : [];
  if (streams.length === 0) throw new CliError(`invalid value for --stream: must be ${STREAMS.join(', ')} or all`, 2);
  const source = sourceTarget(cfg, f.from);
  const master = await readMasterKey(masterKeySource(cfg, process.env, flagGiven));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-logs-cli-'));
  try {
    const ring = await resolveKeyring({ dataDir: cfg.dataDir, master, source, workDir: tmp }).catch((e: unknown) => {
      throw isBackupError(e) ? new CliError(e.message) : e;
    });
    let broken = false;
    for (const stream of streams) {
      const r = await exportLogs(source, stream, ring.keyring, (line) => process.stdout.write(`${line}\n`));
      const chains = r.epochs.length === 1 ? '1 chain' : `${r.epochs.length} chains (a chain restarts when the shipper could not read where it stood)`;
      process.stderr.write(`${stream}: ${r.lines} line(s) in ${r.objects} object(s), ${chains} in ${source.label}\n`);
      if (r.dropped > 0) process.stderr.write(`${stream}: the shipper recorded ${r.dropped} line(s) lost before they were shipped\n`);
      for (const p of r.problems) process.stderr.write(`tessera: ${p}\n`);
      if (r.problems.length === 0) process.stderr.write(`${stream}: chain verified\n`);
      broken ||= r.problems.length > 0;
    }
    return broken ? 3 : 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function registerLogsCommands(program: Command, withConfig: WithConfig): void {
  const logs = program.command('logs').description('audit and access logs shipped off the host');
  withConfig(
    addSettingOptions(
      logs
        .command('export')
        .description('print the log lines shipped to a backup target after verifying their hash chain (exit 3 when it is broken)')
        .option('--from <source>', 'a directory path or s3://bucket/prefix; default: the configured backup target')
        .option('--stream <name>', 'audit, access or all', 'all'),
      [...keyOptions, ...backupSettingNames],
    ),
    (cfg, cmd) => logsExportCommand(cfg, flagsFrom(cmd).masterKeyFile !== undefined, cmd.opts<{ from?: string; stream: string }>()),
  );
}

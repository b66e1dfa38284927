import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { readCatalog } from '../backup/catalog.ts';
import { backupSettingNames, configuredTargets, sourceTarget } from '../backup/config.ts';
import { isBackupError } from '../backup/errors.ts';
import { resolveKeyring } from '../backup/keyring-source.ts';
import { humanBytes, progressReporter } from '../backup/progress.ts';
import { restoreBackup } from '../backup/restore.ts';
import { BackupService } from '../backup/service.ts';
import { type BackupStatus, isLive, readStatusFile, requestFile } from '../backup/status-file.ts';
import type { BackupTarget } from '../backup/targets/target.ts';
import { verifyBackups } from '../backup/verify.ts';
import { openInstance } from '../bootstrap.ts';
import type { Config } from '../config/config.ts';
import { acquireInstanceLock, describeHolder, otherLiveHolder } from '../db/instance-lock.ts';
import { databasePath } from '../db/open.ts';
import { masterKeySource, readMasterKey } from '../keys/master-key.ts';
import { keyringPath } from '../keys/keyring.ts';
import { ledgerFilePath } from '../privacy/ledger.ts';
import { createLogger } from '../log.ts';
import { CliError } from './errors.ts';
import { addSettingOptions, flagsFrom, keyOptions } from './options.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);
export type WithConfig = (cmd: Command, fn: (cfg: Config, cmd: Command) => Promise<number | void>) => Command;

/** Backup failures are one line an operator can act on; anything else stays unexpected. */
async function oneLine<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isBackupError(e)) throw new CliError(e.message);
    throw e;
  }
}

const isoTime = z.iso.datetime({ offset: true });

function parseAt(at: string | undefined): Date | undefined {
  if (at === undefined) return undefined;
  if (!isoTime.safeParse(at).success) throw new CliError('invalid value for --at: must be an ISO 8601 time such as 2025-03-01T14:30:00Z', 2);
  return new Date(at);
}

async function masterKey(cfg: Config, flagGiven: boolean): Promise<Buffer> {
  return readMasterKey(masterKeySource(cfg, process.env, flagGiven));
}

function workDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-backup-cli-'));
}

export interface RestoreFlags {
  from?: string;
  to: string;
  at?: string;
  generation?: string;
  force?: boolean;
}

export async function restoreCommand(cfg: Config, flagGiven: boolean, f: RestoreFlags): Promise<number> {
  const at = parseAt(f.at);
  const to = path.resolve(f.to);
  const holder = otherLiveHolder(to);
  if (holder) throw new CliError(`a Tessera process uses ${to} (${describeHolder(holder)}): stop it before restoring into it`);
  const source = sourceTarget(cfg, f.from);
  const master = await masterKey(cfg, flagGiven);
  const tmp = workDir();
  try {
    return await oneLine(async () => {
      const ring = await resolveKeyring({ dataDir: cfg.dataDir, master, source, workDir: tmp });
      const r = await restoreBackup({
        source,
        keyring: ring.keyring,
        keyringFile: ring.file,
        to,
        at,
        generation: f.generation,
        force: f.force,
        progress: progressReporter('restore'),
        fingerprint: false,
        ledgerFiles: [ledgerFilePath(keyringPath(cfg.dataDir))],
        audit: { actor: { type: 'system', id: 'cli:restore' }, userAgent: `tessera-cli (${process.env.USER ?? 'unknown user'})` },
      });
      out(`restored ${r.snapshot} and ${r.segments} segment(s) from ${r.source} (${humanBytes(r.bytes)} in ${(r.durationMs / 1000).toFixed(1)} s)`);
      out(`data is current at ${r.restoredTo.toISOString()} (generation ${r.position.generation}, WAL ${r.position.walIndex}:${r.position.frame})`);
      out(`integrity_check: ok${r.rekeyed ? `; rekeyed from ${r.sourceDbKeyId} to the current database key` : ''}`);
      out(`keyring: ${ring.origin}`);
      out(`erasure ledger: ${r.erasuresReplayed} registration(s) erased again (erased after the restored point)`);
      out(`start it with: tessera serve --data-dir ${r.dir}`);
      return 0;
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function printStatus(s: BackupStatus, live: boolean): void {
  out(live ? `replication: running (pid ${s.pid}, every ${s.syncIntervalMs} ms)` : `replication: not running (last status from ${s.updatedAt})`);
  if (s.generation) out(`generation: ${s.generation}, WAL ${s.position?.walIndex ?? 0}:${s.position?.frame ?? 0}, next segment ${s.position?.nextSegment ?? 0}`);
  if (s.lastSegment) out(`last segment: ${s.lastSegment.key} (${s.lastSegment.time})`);
  if (s.lastSnapshot) out(`last snapshot: ${s.lastSnapshot.key} (${s.lastSnapshot.time})${s.snapshotInProgress ? '; a snapshot is in progress' : ''}`);
  for (const t of s.targets) {
    const state = t.failures > 0 ? `FAILING (${t.failures} attempts): ${t.lastError ?? ''}` : 'ok';
    const rpo = t.rpoMaxSeconds !== undefined ? `; RPO ${(t.rpoSeconds ?? 0).toFixed(2)} s (worst last minute ${t.rpoMaxSeconds.toFixed(2)} s)` : '';
    out(`target ${t.target}: ${state}; lag ${t.lagSeconds.toFixed(1)} s, ${t.pendingSegments} segment(s) / ${humanBytes(t.pendingBytes)} behind${rpo}${t.lastShipped ? `; last shipped ${t.lastShipped.at}` : ''}`);
  }
}

export async function backupStatusCommand(cfg: Config, json: boolean): Promise<number> {
  const s = readStatusFile(cfg.dataDir);
  if (!s) throw new CliError(`no backup status in ${cfg.dataDir}: the server has not run there with a backup target (--backup-dir or --backup-s3-url)`);
  const live = isLive(s);
  if (json) out(JSON.stringify({ live, ...s }, null, 2));
  else printStatus(s, live);
  // Exit 3 when a running replicator is behind by more than a minute: usable in monitoring.
  return live && s.lagSeconds > 60 ? 3 : 0;
}

function targetsFor(cfg: Config, from: string | undefined): BackupTarget[] {
  if (from) return [sourceTarget(cfg, from)];
  const t = configuredTargets(cfg);
  if (t.length === 0) sourceTarget(cfg, undefined);
  return t;
}

export async function backupListCommand(cfg: Config, from: string | undefined): Promise<number> {
  return oneLine(async () => {
    for (const t of targetsFor(cfg, from)) {
      const cat = await readCatalog(t);
      out(`${t.label}: ${cat.generations.length} generation(s), ${cat.keyrings.length} keyring cop${cat.keyrings.length === 1 ? 'y' : 'ies'}`);
      for (const g of cat.generations) {
        const range = g.lastTime >= g.firstTime ? `${new Date(g.firstTime).toISOString()} .. ${new Date(g.lastTime).toISOString()}` : '-';
        out(`  ${g.id}  snapshots ${String(g.snapshots.length).padStart(3)}  segments ${String(g.segments.length).padStart(7)}  ${humanBytes(g.bytes).padStart(10)}  ${range}${g.snapshots.length === 0 ? '  (no snapshot yet: not restorable)' : ''}`);
      }
    }
    return 0;
  });
}

export async function backupVerifyCommand(cfg: Config, flagGiven: boolean, from: string | undefined): Promise<number> {
  const master = await masterKey(cfg, flagGiven);
  const tmp = workDir();
  try {
    return await oneLine(async () => {
      let bad = 0;
      for (const t of targetsFor(cfg, from)) {
        const ring = await resolveKeyring({ dataDir: cfg.dataDir, master, source: t, workDir: tmp });
        const r = await verifyBackups(t, ring.keyring, progressReporter(`verify ${t.label}`));
        for (const w of r.warnings) out(`warning: ${w}`);
        if (r.ok) out(`${t.label}: ${r.objects} objects in ${r.generations} generation(s) authenticated, ${humanBytes(r.bytes)}, no gap`);
        else {
          process.stderr.write(`tessera: ${t.label}: ${r.message}\n`);
          bad++;
        }
      }
      return bad ? 3 : 0;
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * A running server owns the replicator, so `backup now` asks it through a request file in the
 * data directory (whoever may write there may ask) and waits for the status file to report the
 * snapshot stored. With the server stopped it opens the data directory itself, starts a new
 * generation with a snapshot, ships it and exits.
 */
export async function backupNowCommand(cfg: Config, flagGiven: boolean, timeoutSeconds: number): Promise<number> {
  const holder = otherLiveHolder(cfg.dataDir);
  const deadline = Date.now() + timeoutSeconds * 1000;
  if (holder) {
    const s = readStatusFile(cfg.dataDir);
    if (holder.command !== 'serve' || !s || !isLive(s)) {
      throw new CliError(`${describeHolder(holder)} holds ${cfg.dataDir} without running replication; try again when it has finished`);
    }
    const id = randomBytes(8).toString('hex');
    fs.writeFileSync(requestFile(cfg.dataDir), JSON.stringify({ id }), { mode: 0o600 });
    out(`asked the running server (pid ${holder.pid}) for a snapshot`);
    for (;;) {
      const st = readStatusFile(cfg.dataDir);
      if (st?.request?.id === id && st.request.state === 'done') {
        out(`snapshot ${st.request.snapshot} is stored on every target`);
        return 0;
      }
      if (Date.now() > deadline) throw new CliError(`the snapshot was not stored on every target within ${timeoutSeconds} s (see tessera backup status)`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const targets = configuredTargets(cfg);
  if (targets.length === 0) sourceTarget(cfg, undefined);
  const lock = acquireInstanceLock(cfg.dataDir, 'backup now');
  try {
    const opened = await openInstance(cfg, { allowCreate: false, migrate: false, masterKeyFlagGiven: flagGiven });
    const log = createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel);
    const svc = new BackupService({
      dataDir: cfg.dataDir,
      dbFile: databasePath(cfg.dataDir),
      keyring: opened.keyring,
      log,
      targets,
      syncIntervalMs: cfg.backupSyncIntervalMs,
      syncFrames: cfg.backupSyncFrames,
      snapshotIntervalMs: cfg.backupSnapshotHours * 3_600_000,
      retentionDays: cfg.backupRetentionDays,
      appDb: opened.db,
    });
    try {
      opened.db.pragma('wal_autocheckpoint = 0');
      // Starting takes the first snapshot of a new generation; stopping ships it (and waits).
      svc.start();
      await svc.stop(Math.max(1000, deadline - Date.now()));
      const st = svc.status();
      const behind = st.targets.filter((t) => t.pendingObjects > 0);
      if (!st.lastSnapshot || behind.length) {
        throw new CliError(`the snapshot did not reach ${behind.map((t) => `${t.target} (${t.lastError ?? 'timed out'})`).join(', ') || 'every target'} within ${timeoutSeconds} s; it stays in the spool and ships with the next server start`);
      }
      out(`snapshot ${st.lastSnapshot.key} is stored on ${targets.map((t) => t.label).join(' and ')}`);
      return 0;
    } finally {
      opened.db.close();
    }
  } finally {
    lock.release();
  }
}

/** `tessera restore` and `tessera backup status|list|now|verify`. */
export function registerBackupCommands(program: Command, withConfig: WithConfig): void {
  const flagGiven = (cmd: Command) => flagsFrom(cmd).masterKeyFile !== undefined;
  const sourceHelp = 'backup location: a directory path or s3://bucket/prefix (S3 endpoint and keys from the --backup-s3-* settings); default: the configured target';
  withConfig(
    addSettingOptions(
      program
        .command('restore')
        .description('rebuild a data directory from the continuous backup (newest state, or as it was at --at)')
        .requiredOption('--to <dir>', 'data directory to create (must be empty unless --force)')
        .option('--from <source>', sourceHelp)
        .option('--at <time>', 'ISO 8601 time: restore the state as it was then (precision: the sync interval)')
        .option('--generation <id>', 'restore from this generation only')
        .option('--force', 'replace the database and keyring in a non-empty --to directory'),
      [...keyOptions, ...backupSettingNames],
    ),
    (cfg, cmd) => restoreCommand(cfg, flagGiven(cmd), cmd.opts<RestoreFlags>()),
  );
  const backup = program.command('backup').description('continuous encrypted backup: status, list, now, verify');
  withConfig(
    addSettingOptions(backup.command('status').description('lag, last shipped position and targets of the running replicator (exit 3 when over a minute behind)').option('--json', 'machine-readable output'), ['dataDir', 'logLevel']),
    (cfg, cmd) => backupStatusCommand(cfg, cmd.opts<{ json?: boolean }>().json === true),
  );
  withConfig(
    addSettingOptions(backup.command('list').description('generations with snapshot and segment counts, sizes and time ranges').option('--from <source>', sourceHelp), [...backupSettingNames, 'logLevel']),
    (cfg, cmd) => backupListCommand(cfg, cmd.opts<{ from?: string }>().from),
  );
  withConfig(
    addSettingOptions(
      backup.command('now').description('take a snapshot now (through the running server, or directly when it is stopped) and wait until every target has it').option('--timeout-seconds <n>', 'give up after this long', '600'),
      [...keyOptions, ...backupSettingNames, 'backupSyncIntervalMs', 'backupSyncFrames', 'backupSnapshotHours', 'backupRetentionDays'],
    ),
    (cfg, cmd) => {
      const t = z.coerce.number().int().min(1).max(86_400).safeParse(cmd.opts<{ timeoutSeconds: string }>().timeoutSeconds);
      if (!t.success) throw new CliError('invalid value for --timeout-seconds: must be a whole number of seconds (1-86400)', 2);
      return backupNowCommand(cfg, flagGiven(cmd), t.data);
    },
  );
  withConfig(
    addSettingOptions(backup.command('verify').description('download and authenticate every object, check for gaps; names the first bad object (exit 3)').option('--from <source>', sourceHelp), [...keyOptions, ...backupSettingNames]),
    (cfg, cmd) => backupVerifyCommand(cfg, flagGiven(cmd), cmd.opts<{ from?: string }>().from),
  );
}

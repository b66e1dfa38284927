import type { AuditLog } from '../audit/service.ts';
import type { Config } from '../config/config.ts';
import type { Faults } from '../db/faults.ts';
import type { DB } from '../db/open.ts';
import type { Keyring } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import { configuredTargets } from './config.ts';
import { prepareAppConnection } from './checkpointer.ts';
import { BackupService } from './service.ts';
import type { BackupTarget } from './targets/target.ts';

/**
 * Starts continuous backup inside the server when a target is configured. Call
 * configuredTargets(cfg) before opening anything, so a bad setting stops start-up with one line.
 */
export function startBackupJob(args: { cfg: Config; targets: BackupTarget[]; db: DB; dbFile: string; keyring: Keyring; log: Logger; audit?: AuditLog; now?: () => number; holdWrites?: () => () => void; faults?: Faults }): BackupService | undefined {
  const { cfg, targets, log } = args;
  if (targets.length === 0) {
    log.info('backup: no target configured (--backup-dir, --backup-s3-url or /admin/settings): continuous backup is off');
    return undefined;
  }
  prepareAppConnection(args.db);
  const svc = new BackupService({
    dataDir: cfg.dataDir,
    dbFile: args.dbFile,
    keyring: args.keyring,
    log,
    targets,
    now: args.now,
    syncIntervalMs: cfg.backupSyncIntervalMs,
    syncFrames: cfg.backupSyncFrames,
    snapshotIntervalMs: cfg.backupSnapshotHours * 3_600_000,
    retentionDays: cfg.backupRetentionDays,
    checkpointFrames: cfg.walCheckpointFrames,
    appDb: args.db,
    // The app's writes, held back for a moment so a checkpoint can copy the whole WAL back.
    holdWrites: args.holdWrites,
    faults: args.faults,
    audit: args.audit,
  });
  svc.start();
  return svc;
}

export { configuredTargets };

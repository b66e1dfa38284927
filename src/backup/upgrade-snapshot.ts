import type { Config } from '../config/config.ts';
import type { DB } from '../db/open.ts';
import type { Keyring } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import { prepareAppConnection } from './checkpointer.ts';
import { BackupService } from './service.ts';
import type { BackupTarget } from './targets/target.ts';

export interface UpgradeSnapshot {
  key: string;
  generation: string;
}

/**
 * A snapshot of the database as it is before an upgrade's migrations run, stored on every
 * backup target as a generation of its own (restorable with `tessera restore --generation`).
 * Throws when it does not reach every target within `timeoutMs`: the caller then refuses to
 * migrate rather than upgrade without the way back.
 */
export async function snapshotBeforeUpgrade(args: { cfg: Config; targets: BackupTarget[]; db: DB; dbFile: string; keyring: Keyring; log: Logger; timeoutMs: number }): Promise<UpgradeSnapshot> {
  const { cfg, targets, log } = args;
  prepareAppConnection(args.db);
  const svc = new BackupService({
    dataDir: cfg.dataDir,
    dbFile: args.dbFile,
    keyring: args.keyring,
    log,
    targets,
    syncIntervalMs: cfg.backupSyncIntervalMs,
    syncFrames: cfg.backupSyncFrames,
    snapshotIntervalMs: cfg.backupSnapshotHours * 3_600_000,
    retentionDays: cfg.backupRetentionDays,
    appDb: args.db,
  });
  // Starting takes the first snapshot of a new generation; stopping ships it and waits.
  svc.start();
  await svc.stop(args.timeoutMs);
  const st = svc.status();
  const behind = st.targets.filter((t) => t.pendingObjects > 0);
  if (!st.lastSnapshot || !st.generation || behind.length > 0) {
    throw new Error(`the snapshot did not reach ${behind.map((t) => `${t.target} (${t.lastError ?? 'timed out'})`).join(', ') || 'every target'} within ${Math.round(args.timeoutMs / 1000)} s`);
  }
  return { key: st.lastSnapshot.key, generation: st.generation };
}

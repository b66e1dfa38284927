import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * data/backup-status.json: the running server's replicator writes it every sync interval, so
 * `tessera backup status` (another process) can show lag and position without any endpoint.
 */

const targetStatusSchema = z.object({
  target: z.string(),
  pendingObjects: z.number(),
  pendingSegments: z.number(),
  pendingBytes: z.number(),
  lagSeconds: z.number(),
  /** age of the newest stored segment's oldest possible change when it was stored, and the worst of the last minute */
  rpoSeconds: z.number().optional(),
  rpoMaxSeconds: z.number().optional(),
  lastShipped: z.object({ key: z.string(), at: z.string() }).optional(),
  lastError: z.string().optional(),
  failingSince: z.string().optional(),
  failures: z.number(),
  nextRetryAt: z.string().optional(),
});

export const backupStatusSchema = z.object({
  pid: z.number().int(),
  updatedAt: z.string(),
  running: z.boolean(),
  syncIntervalMs: z.number(),
  generation: z.string().optional(),
  position: z.object({ walIndex: z.number(), frame: z.number(), nextSegment: z.number() }).optional(),
  lastSegment: z.object({ key: z.string(), time: z.string() }).optional(),
  lastSnapshot: z.object({ key: z.string(), time: z.string() }).optional(),
  snapshotInProgress: z.boolean(),
  /** WAL checkpoints since start: on the worker thread, or inside the replicator's locked section */
  checkpoints: z.object({ worker: z.number(), locked: z.number(), held: z.number().optional() }).optional(),
  /** captured, still being encrypted into the spool */
  staging: z.number(),
  lastCycleAt: z.string().optional(),
  lagSeconds: z.number(),
  /** how late the capture of waiting changes is beyond the sync interval (a host too busy to keep up); also counted in lagSeconds */
  captureOverdueSeconds: z.number().optional(),
  pendingSegments: z.number(),
  targets: z.array(targetStatusSchema),
  request: z.object({ id: z.string(), snapshot: z.string().optional(), state: z.enum(['pending', 'done']) }).optional(),
});
export type BackupStatus = z.infer<typeof backupStatusSchema>;

export const statusFile = (dataDir: string) => path.join(dataDir, 'backup-status.json');
export const requestFile = (dataDir: string) => path.join(dataDir, 'backup-request.json');

export async function writeStatusFile(file: string, status: BackupStatus): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
  await fs.promises.rename(tmp, file);
}

/**
 * A crash between writing the temp file and renaming it leaves `backup-status.json.<pid>.tmp`
 * behind; the next start removes every such file (the pid that wrote it is gone or is us).
 */
export function removeStaleStatusTemps(dataDir: string): string[] {
  const prefix = `${path.basename(statusFile(dataDir))}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dataDir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => n.startsWith(prefix) && /^\d+\.tmp$/.test(n.slice(prefix.length)));
  for (const n of stale) fs.rmSync(path.join(dataDir, n), { force: true });
  return stale;
}

export function readStatusFile(dataDir: string): BackupStatus | undefined {
  let text: string;
  try {
    text = fs.readFileSync(statusFile(dataDir), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const p = backupStatusSchema.safeParse(JSON.parse(text));
    return p.success ? p.data : undefined;
  } catch {
    return undefined;
  }
}

/** The server that wrote it is alive and wrote it recently. */
export function isLive(s: BackupStatus, nowMs = Date.now()): boolean {
  if (!s.running) return false;
  try {
    process.kill(s.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return nowMs - Date.parse(s.updatedAt) < Math.max(10_000, 5 * s.syncIntervalMs);
}

import fs from 'node:fs';
import path from 'node:path';
import type { BackupStatus } from '../../src/backup/status-file.ts';
import type { DB } from '../../src/db/open.ts';
import { waitFor as waitForCondition } from './wait.ts';

/** The shared wait (./wait.ts) with the condition named first, as the backup tests write it. */
export function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 25): Promise<NonNullable<T>> {
  return waitForCondition(fn, { what, timeoutMs, everyMs });
}

/** Every target holds every captured segment and snapshot. */
export function caughtUp(s: BackupStatus | undefined): boolean {
  return !!s && !s.snapshotInProgress && s.staging === 0 && s.targets.every((t) => t.pendingObjects === 0) && s.lastSnapshot !== undefined;
}

export function createProbeTable(db: DB): void {
  db.exec('CREATE TABLE IF NOT EXISTS backup_probe (id INTEGER PRIMARY KEY, label TEXT NOT NULL, payload BLOB)');
}

export function insertProbe(db: DB, label: string, payloadBytes = 100): number {
  return Number(db.prepare('INSERT INTO backup_probe (label, payload) VALUES (?, randomblob(?))').run(label, payloadBytes).lastInsertRowid);
}

export function probeLabels(db: DB): string[] {
  return (db.prepare('SELECT label FROM backup_probe ORDER BY id').all() as { label: string }[]).map((r) => r.label);
}

/** Every file under dir, relative, for "which objects exist" assertions. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

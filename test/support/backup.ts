import fs from 'node:fs';
import path from 'node:path';
import type { BackupStatus } from '../../src/backup/status-file.ts';
import type { DB } from '../../src/db/open.ts';

/**
 * Polls until fn() is truthy; throws with `what` after timeoutMs. The deadline is a hang guard
 * for a loaded machine, not a speed claim: a passing wait ends as soon as fn() holds.
 */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
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

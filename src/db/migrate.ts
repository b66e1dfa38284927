import path from 'node:path';
import { listAssets, readAsset } from '../assets.ts';
import type { DB } from './open.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export function bundledMigrations(): Migration[] {
  return listAssets('migrations')
    .filter((f) => f.endsWith('.sql'))
    .map((f) => {
      const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(path.posix.basename(f));
      if (!m) throw new MigrationError(`migration file name ${f} is not NNNN_name.sql`);
      return { version: Number(m[1]), name: m[2] as string, sql: readAsset(f).toString('utf8') };
    })
    .sort((a, b) => a.version - b.version);
}

export function currentVersion(db: DB): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** The migrations a database at `db`'s version still needs, in order. */
export function pendingMigrations(db: DB, migrations: Migration[] = bundledMigrations()): Migration[] {
  const from = currentVersion(db);
  return migrations.filter((m) => m.version > from);
}

/**
 * Applies pending migrations, all in one transaction (each in its own savepoint): when one
 * fails, every one applied before it in this run is rolled back too, so an upgrade leaves the
 * database either fully at the new version or exactly as it was. A database written by a newer
 * Tessera is refused, never "downgraded".
 */
export function migrate(db: DB, migrations: Migration[] = bundledMigrations()): { from: number; to: number; applied: string[] } {
  const from = currentVersion(db);
  const latest = migrations.at(-1)?.version ?? 0;
  if (from > latest) {
    throw new MigrationError(
      `database schema version ${from} is newer than this Tessera supports (${latest}); install the newer release`,
    );
  }
  const pending = migrations.filter((m) => m.version > from);
  if (pending.length === 0) return { from, to: from, applied: [] };
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  let current: Migration | undefined;
  try {
    db.transaction(() => {
      for (const m of pending) {
        current = m;
        db.transaction(() => {
          db.exec(m.sql);
          record.run(m.version, m.name, new Date().toISOString());
        })();
      }
    }).immediate();
  } catch (e) {
    const which = current ? `${current.version}_${current.name}` : 'a migration';
    throw new MigrationError(`migration ${which} failed: ${(e as Error).message}; nothing was changed, the database is still at version ${from}`);
  }
  return { from, to: Math.max(from, latest), applied: pending.map((m) => `${m.version}_${m.name}`) };
}

export function latestVersion(migrations: Migration[] = bundledMigrations()): number {
  return migrations.at(-1)?.version ?? 0;
}

export function hasTable(db: DB, name: string): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`).get(name) !== undefined;
}

import type { DB } from '../db/open.ts';

/** Instance-wide key/value settings (JSON text values). */
export function settingsRepo(db: DB) {
  return {
    get: (key: string) => (db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined)?.value,
    put: (key: string, value: string, at: string) =>
      void db.prepare('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at').run(key, value, at),
    delete: (key: string) => void db.prepare('DELETE FROM settings WHERE key = ?').run(key),
  };
}

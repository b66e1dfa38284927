import type { DB } from '../db/open.ts';

export function setupRepo(db: DB) {
  const insert = db.prepare('INSERT INTO setup_tokens (id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)');
  const retireUnused = db.prepare('UPDATE setup_tokens SET used_at = ? WHERE used_at IS NULL');
  const byHash = db.prepare('SELECT id, expires_at, used_at FROM setup_tokens WHERE token_hash = ?');
  const markUsed = db.prepare('UPDATE setup_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL');
  return {
    insert(id: string, hash: Buffer, createdAt: string, expiresAt: string): void {
      insert.run(id, hash, createdAt, expiresAt);
    },
    retireUnused(at: string): void {
      retireUnused.run(at);
    },
    byHash(hash: Buffer): { id: string; expires_at: string; used_at: string | null } | undefined {
      return byHash.get(hash) as { id: string; expires_at: string; used_at: string | null } | undefined;
    },
    /** True when this call consumed it; false when someone else already had. */
    markUsed(id: string, at: string): boolean {
      return markUsed.run(at, id).changes === 1;
    },
  };
}

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import type { DB } from '../db/open.ts';
import type { Writer } from '../db/writer.ts';
import { setupRepo } from './repo.ts';

const VALID_MS = 24 * 3600 * 1000;

const hashToken = (token: string) => createHash('sha256').update(token).digest();

/**
 * The one-time link that lets whoever runs the server create the first instance owner. Only its
 * hash is stored; a new link retires the previous ones so at most one is ever valid.
 */
export class SetupService {
  private readonly repo;
  constructor(
    db: DB,
    private readonly writer: Writer,
    private readonly audit: AuditLog,
    private readonly now: () => number,
  ) {
    this.repo = setupRepo(db);
  }

  issue(ctx: AuditContext): { token: string; expiresAt: string } {
    const token = randomBytes(32).toString('base64url');
    const t = this.now();
    const expiresAt = new Date(t + VALID_MS).toISOString();
    this.writer.tx(() => {
      this.repo.retireUnused(new Date(t).toISOString());
      const id = randomUUID();
      this.repo.insert(id, hashToken(token), new Date(t).toISOString(), expiresAt);
      this.audit.record(ctx, 'setup.link_issued', { type: 'setup_token', id });
    });
    return { token, expiresAt };
  }

  /** Checks a token without using it up (to show the form). */
  check(token: string): { ok: true; id: string } | { ok: false; reason: 'invalid' | 'expired' | 'used' } {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return { ok: false, reason: 'invalid' };
    const row = this.repo.byHash(hashToken(token));
    if (!row) return { ok: false, reason: 'invalid' };
    if (row.used_at) return { ok: false, reason: 'used' };
    if (Date.parse(row.expires_at) <= this.now()) return { ok: false, reason: 'expired' };
    return { ok: true, id: row.id };
  }

  /** Consumes the token inside the caller's transaction; false if it was not valid any more. */
  consume(token: string): boolean {
    const c = this.check(token);
    return c.ok && this.repo.markUsed(c.id, new Date(this.now()).toISOString());
  }
}

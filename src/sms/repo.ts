import type { DB } from '../db/open.ts';

export interface SmsCodeRow {
  id: string;
  user_id: string;
  purpose: string;
  code_hash: Buffer;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  attempts: number;
}

export function smsCodesRepo(db: DB) {
  const insert = db.prepare(`INSERT INTO sms_codes (id, user_id, purpose, code_hash, created_at, expires_at, used_at, attempts)
    VALUES (@id, @user_id, @purpose, @code_hash, @created_at, @expires_at, NULL, 0)`);
  // Retiring deletes: a replaced code has no further use, and one live row per person and purpose
  // keeps verification to a single comparison.
  const retire = db.prepare('DELETE FROM sms_codes WHERE user_id = ? AND purpose = ? AND used_at IS NULL');
  const current = db.prepare(`SELECT * FROM sms_codes WHERE user_id = ? AND purpose = ? AND used_at IS NULL
    ORDER BY created_at DESC, rowid DESC LIMIT 1`);
  const countAttempt = db.prepare('UPDATE sms_codes SET attempts = attempts + 1 WHERE id = ? RETURNING attempts');
  const markUsed = db.prepare('UPDATE sms_codes SET used_at = ? WHERE id = ? AND used_at IS NULL');
  const purge = db.prepare('DELETE FROM sms_codes WHERE expires_at < ?');
  return {
    insert(row: Omit<SmsCodeRow, 'used_at' | 'attempts'>): void {
      insert.run(row);
    },
    /** Deletes the unused codes of this person and purpose; returns how many. */
    retireUnused(userId: string, purpose: string): number {
      return retire.run(userId, purpose).changes;
    },
    current(userId: string, purpose: string): SmsCodeRow | undefined {
      return current.get(userId, purpose) as SmsCodeRow | undefined;
    },
    /** Counts one wrong guess; returns the new total. */
    countAttempt(id: string): number {
      return (countAttempt.get(id) as { attempts: number }).attempts;
    },
    markUsed(id: string, at: number): boolean {
      return markUsed.run(at, id).changes === 1;
    },
    /** Deletes codes (used or not) that expired before `before`; returns how many. */
    purgeExpired(before: number): number {
      return purge.run(before).changes;
    },
  };
}
export type SmsCodesRepo = ReturnType<typeof smsCodesRepo>;

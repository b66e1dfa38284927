import type { DB } from '../db/open.ts';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  instance_role: 'owner' | 'admin' | null;
  email_verified_at: string | null;
  totp_secret: string | null;
  totp_pending_secret: string | null;
  totp_enabled_at: string | null;
  totp_last_step: number | null;
  disabled_at: string | null;
  disabled_by: string | null;
  phone: string | null;
  phone_pending: string | null;
  phone_verified_at: string | null;
  password_changed_at: string;
  created_at: string;
  /** When a session with both factors last began (migration 0040). */
  last_sign_in_at: string | null;
}

export interface SessionRow {
  id: string;
  secret_hash: Buffer;
  user_id: string;
  mfa_pending: number;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  absolute_expires_at: number;
  reauth_at: number | null;
  ip: string | null;
  user_agent: string | null;
}

export interface ThrottleRow {
  key: string;
  failures: number;
  last_failure_at: number;
  next_allowed_at: number;
  locked_until: number | null;
}

export interface EmailTokenRow {
  id: string;
  user_id: string;
  purpose: 'verify_email' | 'password_reset' | 'email_change';
  token_hash: Buffer;
  new_email: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Users are instance-wide (one account, many organizations); tenant data lives in orgs/. */
export function authRepo(db: DB) {
  const s = {
    userById: db.prepare('SELECT * FROM users WHERE id = ?'),
    userByEmail: db.prepare('SELECT * FROM users WHERE email = ?'),
    insertUser: db.prepare(`INSERT INTO users (id, email, name, password_hash, instance_role, email_verified_at, password_changed_at, created_at)
      VALUES (@id, @email, @name, @password_hash, @instance_role, @email_verified_at, @password_changed_at, @created_at)`),
    countOwners: db.prepare(`SELECT count(*) AS n FROM users WHERE instance_role = 'owner' AND disabled_at IS NULL`),
    anyOwner: db.prepare(`SELECT 1 FROM users WHERE instance_role = 'owner' LIMIT 1`),
    activeOwners: db.prepare(`SELECT * FROM users WHERE instance_role = 'owner' AND disabled_at IS NULL ORDER BY created_at`),
    listUsers: db.prepare('SELECT * FROM users ORDER BY created_at LIMIT ? OFFSET ?'),
    searchUsers: db.prepare(`SELECT * FROM users WHERE email LIKE @like ESCAPE '\\' OR name LIKE @like ESCAPE '\\' ORDER BY created_at LIMIT @limit`),
    setLastSignIn: db.prepare('UPDATE users SET last_sign_in_at = ? WHERE id = ?'),
    setPassword: db.prepare('UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?'),
    setName: db.prepare('UPDATE users SET name = ? WHERE id = ?'),
    setEmail: db.prepare('UPDATE users SET email = ?, email_verified_at = ? WHERE id = ?'),
    setEmailVerified: db.prepare('UPDATE users SET email_verified_at = ? WHERE id = ? AND email_verified_at IS NULL'),
    setInstanceRole: db.prepare('UPDATE users SET instance_role = ? WHERE id = ?'),
    setPendingTotp: db.prepare('UPDATE users SET totp_pending_secret = ? WHERE id = ?'),
    enableTotp: db.prepare('UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, totp_enabled_at = ?, totp_last_step = ? WHERE id = ? AND totp_pending_secret IS NOT NULL'),
    disableTotp: db.prepare('UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = ?'),
    // Compare-and-set on the last step makes concurrent replays lose.
    useTotpStep: db.prepare('UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)'),
    setDisabled: db.prepare('UPDATE users SET disabled_at = ?, disabled_by = ? WHERE id = ?'),
    setPhonePending: db.prepare('UPDATE users SET phone_pending = ? WHERE id = ?'),
    confirmPhone: db.prepare('UPDATE users SET phone = phone_pending, phone_pending = NULL, phone_verified_at = ? WHERE id = ? AND phone_pending IS NOT NULL'),
    removePhone: db.prepare('UPDATE users SET phone = NULL, phone_pending = NULL, phone_verified_at = NULL WHERE id = ?'),

    insertSession: db.prepare(`INSERT INTO sessions (id, secret_hash, user_id, mfa_pending, csrf_token, created_at, last_seen_at, expires_at, absolute_expires_at, reauth_at, ip, user_agent)
      VALUES (@id, @secret_hash, @user_id, @mfa_pending, @csrf_token, @created_at, @last_seen_at, @expires_at, @absolute_expires_at, @reauth_at, @ip, @user_agent)`),
    sessionById: db.prepare('SELECT * FROM sessions WHERE id = ?'),
    touchSession: db.prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ?, ip = ? WHERE id = ?'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE id = ?'),
    deleteUserSessions: db.prepare('DELETE FROM sessions WHERE user_id = ?'),
    deleteUserSessionsExcept: db.prepare('DELETE FROM sessions WHERE user_id = ? AND id != ?'),
    deleteAllSessionsExcept: db.prepare('DELETE FROM sessions WHERE id != ?'),
    trimUserSessions: db.prepare(`DELETE FROM sessions WHERE id IN (
      SELECT id FROM sessions WHERE user_id = ? AND mfa_pending = 0 ORDER BY last_seen_at DESC, created_at DESC LIMIT -1 OFFSET ?)`),
    deleteUserSessionById: db.prepare('DELETE FROM sessions WHERE user_id = ? AND id = ?'),
    listUserSessions: db.prepare('SELECT * FROM sessions WHERE user_id = ? AND mfa_pending = 0 ORDER BY last_seen_at DESC'),
    deleteExpiredSessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ? OR absolute_expires_at <= ?'),

    insertRecovery: db.prepare('INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES (?, ?, ?, ?)'),
    deleteRecovery: db.prepare('DELETE FROM recovery_codes WHERE user_id = ?'),
    useRecovery: db.prepare('UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL'),
    countRecovery: db.prepare('SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL'),

    throttleGet: db.prepare('SELECT * FROM auth_throttle WHERE key = ?'),
    throttlePut: db.prepare(`INSERT INTO auth_throttle (key, failures, last_failure_at, next_allowed_at, locked_until) VALUES (@key, @failures, @last_failure_at, @next_allowed_at, @locked_until)
      ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at, next_allowed_at = excluded.next_allowed_at, locked_until = excluded.locked_until`),
    throttleClear: db.prepare('DELETE FROM auth_throttle WHERE key = ?'),
    throttleClearPrefix: db.prepare('DELETE FROM auth_throttle WHERE substr(key, 1, length(@prefix)) = @prefix'),
    throttleLockedPrefix: db.prepare('SELECT 1 FROM auth_throttle WHERE substr(key, 1, length(@prefix)) = @prefix AND locked_until > @now LIMIT 1'),

    insertEmailToken: db.prepare(`INSERT INTO email_tokens (id, user_id, purpose, token_hash, new_email, created_at, expires_at) VALUES (@id, @user_id, @purpose, @token_hash, @new_email, @created_at, @expires_at)`),
    emailTokenByHash: db.prepare('SELECT * FROM email_tokens WHERE token_hash = ? AND purpose = ?'),
    useEmailToken: db.prepare('UPDATE email_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL'),
    retireEmailTokens: db.prepare('UPDATE email_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL'),
  };
  return {
    userById: (id: string) => s.userById.get(id) as UserRow | undefined,
    userByEmail: (email: string) => s.userByEmail.get(email) as UserRow | undefined,
    insertUser: (u: Pick<UserRow, 'id' | 'email' | 'name' | 'password_hash' | 'instance_role' | 'email_verified_at' | 'password_changed_at' | 'created_at'>) => void s.insertUser.run(u),
    countActiveOwners: () => (s.countOwners.get() as { n: number }).n,
    anyOwner: () => s.anyOwner.get() !== undefined,
    activeOwners: () => s.activeOwners.all() as UserRow[],
    listUsers: (limit: number, offset: number) => s.listUsers.all(limit, offset) as UserRow[],
    /** Accounts whose email or name contains `q` (LIKE wildcards in `q` are taken literally). */
    searchUsers: (q: string, limit: number) => s.searchUsers.all({ like: `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`, limit }) as UserRow[],
    setLastSignIn: (id: string, at: string) => void s.setLastSignIn.run(at, id),
    setPassword: (id: string, hash: string, at: string) => void s.setPassword.run(hash, at, id),
    setName: (id: string, name: string) => void s.setName.run(name, id),
    setEmail: (id: string, email: string, verifiedAt: string | null) => void s.setEmail.run(email, verifiedAt, id),
    setEmailVerified: (id: string, at: string) => s.setEmailVerified.run(at, id).changes === 1,
    setInstanceRole: (id: string, role: UserRow['instance_role']) => void s.setInstanceRole.run(role, id),
    setPendingTotp: (id: string, secret: string | null) => void s.setPendingTotp.run(secret, id),
    enableTotp: (id: string, at: string, step: number) => s.enableTotp.run(at, step, id).changes === 1,
    disableTotp: (id: string) => void s.disableTotp.run(id),
    useTotpStep: (id: string, step: number) => s.useTotpStep.run(step, id, step).changes === 1,
    setDisabled: (id: string, at: string | null, by: string | null) => void s.setDisabled.run(at, by, id),
    setPhonePending: (id: string, phone: string | null) => void s.setPhonePending.run(phone, id),
    confirmPhone: (id: string, at: string) => s.confirmPhone.run(at, id).changes === 1,
    removePhone: (id: string) => void s.removePhone.run(id),

    insertSession: (row: SessionRow) => void s.insertSession.run(row),
    sessionById: (id: string) => s.sessionById.get(id) as SessionRow | undefined,
    touchSession: (id: string, lastSeen: number, expires: number, ip: string | null) => void s.touchSession.run(lastSeen, expires, ip, id),
    deleteSession: (id: string) => void s.deleteSession.run(id),
    deleteUserSessions: (userId: string) => s.deleteUserSessions.run(userId).changes,
    deleteUserSessionsExcept: (userId: string, keepId: string) => s.deleteUserSessionsExcept.run(userId, keepId).changes,
    deleteAllSessionsExcept: (keepId: string) => s.deleteAllSessionsExcept.run(keepId).changes,
    trimUserSessions: (userId: string, keep: number) => s.trimUserSessions.run(userId, keep).changes,
    deleteUserSession: (userId: string, id: string) => s.deleteUserSessionById.run(userId, id).changes === 1,
    listUserSessions: (userId: string) => s.listUserSessions.all(userId) as SessionRow[],
    deleteExpiredSessions: (now: number) => s.deleteExpiredSessions.run(now, now).changes,

    replaceRecoveryCodes: (userId: string, rows: { id: string; hash: Buffer }[], at: string) => {
      s.deleteRecovery.run(userId);
      for (const r of rows) s.insertRecovery.run(r.id, userId, r.hash, at);
    },
    deleteRecoveryCodes: (userId: string) => void s.deleteRecovery.run(userId),
    useRecoveryCode: (userId: string, hash: Buffer, at: string) => s.useRecovery.run(at, userId, hash).changes === 1,
    countRecoveryCodes: (userId: string) => (s.countRecovery.get(userId) as { n: number }).n,

    throttleGet: (key: string) => s.throttleGet.get(key) as ThrottleRow | undefined,
    throttlePut: (row: ThrottleRow) => void s.throttlePut.run(row),
    throttleClear: (key: string) => void s.throttleClear.run(key),
    throttleClearPrefix: (prefix: string) => void s.throttleClearPrefix.run({ prefix }),
    throttleLockedWithPrefix: (prefix: string, now: number) => s.throttleLockedPrefix.get({ prefix, now }) !== undefined,

    insertEmailToken: (row: Omit<EmailTokenRow, 'used_at'>) => void s.insertEmailToken.run(row),
    emailTokenByHash: (hash: Buffer, purpose: EmailTokenRow['purpose']) => s.emailTokenByHash.get(hash, purpose) as EmailTokenRow | undefined,
    useEmailToken: (id: string, at: number) => s.useEmailToken.run(at, id).changes === 1,
    retireEmailTokens: (userId: string, purpose: EmailTokenRow['purpose'], at: number) => void s.retireEmailTokens.run(at, userId, purpose),
  };
}
export type AuthRepo = ReturnType<typeof authRepo>;

/** The one-time setup links printed at start until the instance has an owner. */
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

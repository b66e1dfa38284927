import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { AuditContext, AuditLog } from '../audit/service.ts';
import { auditRepo } from '../audit/repo.ts';
import { type DB, DatabaseOpenError, openDatabase, rekeyPragma } from '../db/open.ts';
import { settingsRepo } from '../config/repo.ts';
import { type DataKey, type KeyPurpose, type Keyring, fsyncDir, kekId, keyringBackupPath, peekKekId, purposes } from './keyring.ts';
import { KeyError, type MasterKeySource, parseMasterKey } from './master-key.ts';

/**
 * Key rotation. Each rotation is a small state machine whose every intermediate state is on disk
 * and recognisable, so openInstance can finish or undo it after a crash (finishInterrupted):
 *
 *   data key (backup/audit/token): keyring gets a *pending* key → audit row `keys.rotated`
 *     (the commit point) → pending becomes active, the old one retired.
 *   db key: keyring gets a pending db key → the database is rekeyed to it (atomic in SQLite) →
 *     audit row + new-generation marker in the database → pending becomes active.
 *     Which key opens the database tells, after a crash, whether the rekey happened.
 *   master key: keyring.json.bak keeps the old version → (with --generate, new key file staged as
 *     `<key file>.new`) → keyring rewrapped → key files swapped → audit row → .bak removed.
 */

/** settings key the backup replicator honours: start a new generation (fresh snapshot) first. */
export const NEW_GENERATION_MARKER = 'backup.new_generation_required';
export const newGenerationMarkerSchema = z.object({ required: z.literal(true), dbKeyId: z.string(), at: z.iso.datetime() });
export type NewGenerationMarker = z.infer<typeof newGenerationMarkerSchema>;

export function readNewGenerationMarker(db: DB): NewGenerationMarker | undefined {
  const value = settingsRepo(db).get(NEW_GENERATION_MARKER);
  if (value === undefined) return undefined;
  const parsed = newGenerationMarkerSchema.safeParse(JSON.parse(value));
  return parsed.success ? parsed.data : undefined;
}

/** For the replicator, once the new generation's first snapshot is safely stored. */
export function clearNewGenerationMarker(db: DB): void {
  settingsRepo(db).delete(NEW_GENERATION_MARKER);
}

export interface RotationContext {
  db: DB;
  keyring: Keyring;
  audit: AuditLog;
  /** The master key the keyring is wrapped with now. */
  master: Buffer;
  actor: AuditContext;
}

export interface Rotated {
  purpose: KeyPurpose | 'master';
  oldId: string;
  newId: string;
}

// ---------------------------------------------------------------------------------------------
// Steps (exported so tests can stop between them, as a crash would)

/** Step 1 of every data-key rotation: the previous keyring is kept and a pending key saved. */
export function stageKey(ctx: RotationContext, purpose: KeyPurpose): DataKey {
  ctx.keyring.keepBackup();
  const key = ctx.keyring.addPending(purpose);
  ctx.keyring.save(ctx.master);
  return key;
}

/**
 * Rekeys the open database. It leaves WAL mode first: switching to DELETE needs the only
 * connection to the file, so a forgotten second process makes this fail before anything changes
 * (in WAL mode SQLite3MC 2.4 would rekey anyway and the other connection would be left with the
 * old key), and it is safe on SQLite3MC ≤ 2.3.6 too, where rekeying in WAL mode corrupts the file.
 * The rekey itself is one SQLite transaction: killed midway, the file still opens with the old key.
 */
export function rekeyDatabase(db: DB, key: Buffer): void {
  const mode = db.pragma('journal_mode = DELETE', { simple: true });
  if (mode !== 'delete') throw new KeyError(`cannot leave WAL mode (journal_mode is ${String(mode)}): is another process using the database?`);
  let failure: unknown;
  try {
    db.pragma(rekeyPragma(key));
  } catch (e) {
    failure = e;
  }
  db.pragma('journal_mode = WAL');
  if (failure !== undefined) throw failure;
}

/** Which of two keys the database file is under now, checked on a fresh connection. */
function fileOpensWith(file: string, key: Buffer): boolean {
  try {
    openDatabase(file, { key, readonly: true }).close();
    return true;
  } catch {
    return false;
  }
}

function rotationRecorded(db: DB, purpose: string, newId: string): boolean {
  return auditRepo(db).rotationRecorded(purpose, newId);
}

/**
 * The commit record of a data-key rotation, in the database: the audit row and, for the db key,
 * the replicator's new-generation marker, in one transaction. Idempotent, so recovery may repeat it.
 */
export function recordRotation(ctx: RotationContext, purpose: KeyPurpose, oldId: string, newId: string, extra: Record<string, unknown> = {}): void {
  ctx.db
    .transaction(() => {
      if (purpose === 'db') {
        const marker: NewGenerationMarker = { required: true, dbKeyId: newId, at: new Date().toISOString() };
        settingsRepo(ctx.db).put(NEW_GENERATION_MARKER, JSON.stringify(marker), marker.at);
      }
      if (!rotationRecorded(ctx.db, purpose, newId)) {
        ctx.audit.record(ctx.actor, 'keys.rotated', { type: 'key', id: newId }, 'success', { purpose, oldId, newId, ...extra });
      }
    })
    .immediate();
}

/** Last step: the pending key becomes active, the old one is retired (kept), the .bak goes. */
export function activateStaged(ctx: RotationContext, purpose: KeyPurpose): void {
  ctx.keyring.activatePending(purpose);
  ctx.keyring.save(ctx.master);
  ctx.keyring.dropBackup();
}

// ---------------------------------------------------------------------------------------------
// Rotations

/** backup, audit or token key. Rotating 'token' invalidates every attendee link, so the CLI does not offer it. */
export function rotateDataKey(ctx: RotationContext, purpose: Exclude<KeyPurpose, 'db'>): Rotated {
  const oldId = ctx.keyring.active(purpose).id;
  const next = stageKey(ctx, purpose);
  recordRotation(ctx, purpose, oldId, next.id);
  activateStaged(ctx, purpose);
  return { purpose, oldId, newId: next.id };
}

export interface DbRotated extends Rotated {
  rekeyMs: number;
  integrity: string;
}

export function rotateDbKey(ctx: RotationContext): DbRotated {
  const before = ctx.db.pragma('integrity_check', { simple: true });
  if (before !== 'ok') throw new KeyError(`integrity_check fails before rotation (${String(before)}); nothing was changed: run \`tessera doctor\``);
  const oldId = ctx.keyring.active('db').id;
  const next = stageKey(ctx, 'db');
  const t0 = performance.now();
  try {
    rekeyDatabase(ctx.db, next.key);
  } catch (e) {
    // The rekey is one transaction, so it failed as a whole, unless the error came after it
    // (leaving DELETE mode again): only undo the staging when the file provably has the old key.
    if (fileOpensWith(ctx.db.name, ctx.keyring.active('db').key)) {
      ctx.keyring.dropPending('db');
      ctx.keyring.restoreBackup();
      throw new KeyError(`rekey failed, nothing was changed: ${(e as Error).message}`);
    }
    throw new KeyError(`rekey stopped with an error (${(e as Error).message}); the next start or \`tessera keys status\` finishes or undoes the rotation`);
  }
  const rekeyMs = Math.round(performance.now() - t0);
  const integrity = String(ctx.db.pragma('integrity_check', { simple: true }));
  recordRotation(ctx, 'db', oldId, next.id, { rekeyMs, integrity });
  activateStaged(ctx, 'db');
  return { purpose: 'db', oldId, newId: next.id, rekeyMs, integrity };
}

/** Where --generate stages the new key before the keyring depends on it. */
export const stagedMasterKeyPath = (keyFile: string) => `${keyFile}.new`;

export function retiredMasterKeyPath(keyFile: string, now = new Date()): string {
  return `${keyFile}.old-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/** Writes a fresh key to `<key file>.new` (0600), durably; a stale one from a crash is replaced. */
export function stageNewMasterKeyFile(keyFile: string): Buffer {
  const staged = stagedMasterKeyPath(keyFile);
  fs.rmSync(staged, { force: true });
  const key = randomBytes(32);
  const fd = fs.openSync(staged, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, key.toString('hex') + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fsyncDir(path.dirname(keyFile));
  return key;
}

/** Moves the current key file aside (`.old-<time>`) and the staged one into its place. */
export function promoteStagedMasterKeyFile(keyFile: string, now = new Date()): string {
  const old = retiredMasterKeyPath(keyFile, now);
  if (fs.existsSync(keyFile)) fs.renameSync(keyFile, old);
  fs.renameSync(stagedMasterKeyPath(keyFile), keyFile);
  fsyncDir(path.dirname(keyFile));
  return old;
}

export interface MasterRotated extends Rotated {
  /** With --generate: where the previous key file went. */
  oldKeyFile?: string;
}

/**
 * Rewraps every data key under a new master key. With `generateInto` the new key is generated
 * and replaces that key file (the old one is renamed `.old-<time>`); otherwise the caller read
 * newMaster from the file the operator gave. Afterwards the old master key opens nothing.
 */
export function rotateMasterKey(ctx: RotationContext, opts: { newMaster: Buffer } | { generateInto: string }): MasterRotated {
  const oldId = kekId(ctx.master);
  ctx.keyring.keepBackup();
  let newMaster: Buffer;
  try {
    newMaster = 'newMaster' in opts ? opts.newMaster : stageNewMasterKeyFile(opts.generateInto);
    if (kekId(newMaster) === oldId) throw new KeyError('the new master key is the same as the current one');
  } catch (e) {
    ctx.keyring.dropBackup();
    throw e;
  }
  ctx.keyring.rewrap(newMaster);
  const oldKeyFile = 'generateInto' in opts ? promoteStagedMasterKeyFile(opts.generateInto) : undefined;
  ctx.master = newMaster;
  const newId = kekId(newMaster);
  ctx.audit.record(ctx.actor, 'keys.rotated', { type: 'master-key', id: newId }, 'success', { purpose: 'master', oldId, newId, generated: 'generateInto' in opts });
  ctx.keyring.dropBackup();
  return { purpose: 'master', oldId, newId, ...(oldKeyFile ? { oldKeyFile } : {}) };
}

/**
 * Drops retired keys of one purpose that nothing needs any more (Keyring.forgetRetired) and
 * audits it. Needs no master key, so backup retention runs it inside the server.
 */
export function pruneRetiredKeys(ctx: Pick<RotationContext, 'keyring' | 'audit' | 'actor'>, purpose: KeyPurpose, olderThan: Date, stillNeeded?: (id: string) => boolean): string[] {
  const removed = ctx.keyring.forgetRetired(purpose, olderThan, stillNeeded);
  if (removed.length === 0) return removed;
  ctx.audit.record(ctx.actor, 'keys.pruned', { type: 'keyring' }, 'success', { purpose, removed, olderThan: olderThan.toISOString() });
  return removed;
}

// ---------------------------------------------------------------------------------------------
// Recovery, run by openInstance when nobody else holds the data directory

/** Anything an interrupted rotation left that the next open must look at. */
export function needsRecovery(keyring: Keyring): boolean {
  return purposes.some((p) => keyring.pending(p) !== undefined) || fs.existsSync(keyringBackupPath(keyring.file));
}

/**
 * Before the master key is read: if `<key file>.new` is the key the keyring is already wrapped
 * with, a `rotate-master --generate` stopped between rewrapping and swapping the files; finish
 * the swap. A staged key the keyring does not use is left alone (the next --generate replaces it).
 */
export function recoverStagedMasterKeyFile(source: MasterKeySource, ringFile: string): string | undefined {
  if (source.kind !== 'file') return undefined;
  const staged = stagedMasterKeyPath(source.path);
  let key: Buffer;
  try {
    key = parseMasterKey(fs.readFileSync(staged, 'utf8'), staged);
  } catch {
    return undefined;
  }
  if (peekKekId(ringFile) !== kekId(key)) return undefined;
  const old = promoteStagedMasterKeyFile(source.path);
  return `finished an interrupted master key rotation: ${source.path} is the new key, the old one is ${old}`;
}

/**
 * Opens the database with the active db key or, while a db rotation is pending, with whichever
 * of the two keys the file is under (the rekey is atomic, so it is exactly one of them).
 */
export function openDatabaseForKeyring(dbFile: string, keyring: Keyring): { db: DB; underPendingKey: boolean } {
  const pending = keyring.pending('db');
  try {
    return { db: openDatabase(dbFile, { key: keyring.active('db').key }), underPendingKey: false };
  } catch (e) {
    if (!pending || !(e instanceof DatabaseOpenError)) throw e;
    try {
      return { db: openDatabase(dbFile, { key: pending.key }), underPendingKey: true };
    } catch {
      throw e;
    }
  }
}

/**
 * Finishes or undoes what an interrupted rotation left, and says what it did (one line each).
 * The database is open and migrated; ctx.master is the key the keyring loaded with.
 */
export function finishInterrupted(ctx: RotationContext, opts: { dbUnderPendingKey: boolean }): string[] {
  const done: string[] = [];
  let changed = false;
  for (const purpose of purposes) {
    const pending = ctx.keyring.pending(purpose);
    if (!pending) continue;
    const oldId = ctx.keyring.active(purpose).id;
    const completed = purpose === 'db' ? opts.dbUnderPendingKey : rotationRecorded(ctx.db, purpose, pending.id);
    if (completed) {
      // For the db key the rekey already happened; make sure its commit record exists too.
      if (purpose === 'db') recordRotation(ctx, 'db', oldId, pending.id, { recovered: true });
      ctx.keyring.activatePending(purpose);
      ctx.audit.record(ctx.actor, 'keys.rotation_recovered', { type: 'key', id: pending.id }, 'success', { purpose, oldId, newId: pending.id, outcome: 'completed' });
      done.push(`finished an interrupted ${purpose} key rotation: ${pending.id} is now active, ${oldId} retired`);
    } else {
      ctx.keyring.dropPending(purpose);
      ctx.audit.record(ctx.actor, 'keys.rotation_recovered', { type: 'key', id: pending.id }, 'success', { purpose, oldId, newId: pending.id, outcome: 'rolled back' });
      done.push(`rolled back an interrupted ${purpose} key rotation: ${oldId} stays active, ${pending.id} was discarded`);
    }
    changed = true;
  }
  if (changed) ctx.keyring.save(ctx.master);

  const bak = keyringBackupPath(ctx.keyring.file);
  if (fs.existsSync(bak)) {
    const bakKek = peekKekId(bak);
    const newId = kekId(ctx.master);
    if (bakKek !== undefined && bakKek !== newId) {
      // The keyring was rewrapped under this master key but the rotation stopped before its audit row.
      if (auditRepo(ctx.db).lastMasterRotation() !== newId) {
        ctx.audit.record(ctx.actor, 'keys.rotated', { type: 'master-key', id: newId }, 'success', { purpose: 'master', oldId: bakKek, newId, recovered: true });
        done.push(`recorded an interrupted master key rotation (${bakKek} → ${newId})`);
      }
    }
    // keyring.json loaded and everything above is settled: the old copy only weakens the rotation.
    ctx.keyring.dropBackup();
  }
  return done;
}


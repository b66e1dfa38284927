import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config/config.ts';
import { AuditLog, systemContext } from './audit/service.ts';
import type { UpgradeSnapshot } from './backup/upgrade-snapshot.ts';
import { type Migration, hasTable, migrate, pendingMigrations } from './db/migrate.ts';
import { describeHolder, otherLiveHolder } from './db/instance-lock.ts';
import { type DB, databasePath, openDatabase } from './db/open.ts';
import { Keyring, keyringPath } from './keys/keyring.ts';
import { KeyError, type MasterKeySource, describeSource, generateMasterKeyFile, masterKeySource, readMasterKey } from './keys/master-key.ts';
import { finishInterrupted, needsRecovery, openDatabaseForKeyring, recoverStagedMasterKeyFile, stagedMasterKeyPath } from './keys/rotation.ts';

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface Opened {
  db: DB;
  keyring: Keyring;
  audit: AuditLog;
  master: Buffer;
  source: MasterKeySource;
  created: boolean;
  migrated: string[];
  /** What openInstance finished or undid of an interrupted key rotation (one line each). */
  recovered: string[];
  /** The snapshot taken before this start's migrations (when there were any and a backup target). */
  upgradeSnapshot?: UpgradeSnapshot;
}

export interface OpenFlags {
  /** Create data dir, keys and database when the data dir holds none (serve, init). */
  allowCreate: boolean;
  /** Apply pending migrations (serve, migrate, init). */
  migrate: boolean;
  masterKeyFlagGiven?: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * `tessera init`: the operator asked for a new instance, so a key file they named that does not
   * exist yet is created there. `serve` leaves it unset: there a missing named key is more likely
   * a typo or an unmounted volume than a wish for a new key.
   */
  createKey?: boolean;
  /**
   * Runs before pending migrations are applied to an existing database (serve: a snapshot to the
   * backup targets). Throwing stops start-up with nothing changed.
   */
  beforeMigrate?: (db: DB, keyring: Keyring, pending: Migration[]) => Promise<UpgradeSnapshot | undefined>;
}

/**
 * Every check that can fail runs before the first write: a wrong master key, a missing key, a
 * damaged keyring or a foreign database file stop here with one line and leave every file as it was.
 */
export async function openInstance(cfg: Config, flags: OpenFlags): Promise<Opened> {
  const dbFile = databasePath(cfg.dataDir);
  const ringFile = keyringPath(cfg.dataDir);
  const hasDb = fs.existsSync(dbFile);
  const hasRing = fs.existsSync(ringFile);
  const source = masterKeySource(cfg, flags.env ?? process.env, flags.masterKeyFlagGiven ?? false);

  if (hasDb && !hasRing) throw new StartupError(`${ringFile} is missing: the database cannot be unlocked without its keyring (restore it from your key backup)`);
  if (hasRing && !hasDb) throw new StartupError(`${dbFile} is missing but a keyring exists: restore the database with \`tessera restore\` or move the keyring away`);

  if (!hasRing) {
    if (!flags.allowCreate) throw new StartupError(`no Tessera data in ${cfg.dataDir}: run \`tessera init\` first`);
    return createInstance(cfg, source, dbFile, ringFile, flags.createKey ?? false);
  }

  // A rotation running in another process leaves intermediate states on purpose: never "recover"
  // them under its feet. The data dir's pid file names that process (db/instance-lock.ts).
  const busy = otherLiveHolder(cfg.dataDir);
  const recovered: string[] = [];
  if (source.kind === 'file' && fs.existsSync(stagedMasterKeyPath(source.path)) && !busy) {
    const line = recoverStagedMasterKeyFile(source, ringFile);
    if (line) recovered.push(line);
  }
  const master = await readMasterKey(source);
  const keyring = Keyring.load(ringFile, master);
  const recover = needsRecovery(keyring);
  if (recover && busy && keyring.list().some((k) => k.status === 'pending')) {
    throw new StartupError(`a key rotation is in progress (${describeHolder(busy)}); try again when it has finished`);
  }
  const { db, underPendingKey } = openDatabaseForKeyring(dbFile, keyring);
  try {
    const pending = flags.migrate && hasTable(db, 'audit_log') && !recover ? pendingMigrations(db) : [];
    const upgradeSnapshot = pending.length > 0 ? await flags.beforeMigrate?.(db, keyring, pending) : undefined;
    const migration = flags.migrate ? migrate(db) : undefined;
    const applied = migration?.applied ?? [];
    if (!hasTable(db, 'audit_log')) throw new StartupError('the database has no schema yet: run `tessera migrate`');
    const audit = new AuditLog(db, keyring);
    if (migration && applied.length > 0 && pending.length > 0) {
      audit.record(systemContext(), 'instance.upgraded', { type: 'instance' }, 'success', { from: migration.from, to: migration.to, applied, snapshot: upgradeSnapshot?.key ?? null });
    }
    if (recover && !busy) recovered.push(...finishInterrupted({ db, keyring, audit, master, actor: systemContext() }, { dbUnderPendingKey: underPendingKey }));
    // Every unwrap of the data keys is recorded (DESIGN §1), whichever command did it.
    audit.record(systemContext(), 'keys.unwrap', { type: 'keyring' }, 'success', { keys: keyring.list().map((k) => k.id), source: describeKind(source) });
    return { db, keyring, audit, master, source, created: false, migrated: applied, recovered, ...(upgradeSnapshot ? { upgradeSnapshot } : {}) };
  } catch (e) {
    db.close();
    throw e;
  }
}

/** A fresh data dir: on any failure everything this call created is removed again. */
async function createInstance(cfg: Config, source: MasterKeySource, dbFile: string, ringFile: string, createKey: boolean): Promise<Opened> {
  const createdFiles: string[] = [];
  let createdKeyDir: string | undefined;
  let db: DB | undefined;
  try {
    let master: Buffer;
    if (source.kind === 'file' && !fs.existsSync(source.path)) {
      if (source.origin !== 'default key file' && !createKey) {
        throw new KeyError(`master key not found: ${describeSource(source)} does not exist; to start a new instance with a new key there, run \`tessera init --master-key-file ${source.path}\``);
      }
      if (isInside(path.resolve(source.path), path.resolve(cfg.dataDir))) throw new StartupError('the master key file must not be inside the data directory');
      const made = generateMasterKeyFile(source.path);
      master = made.key;
      createdKeyDir = made.createdDir;
      createdFiles.push(source.path);
    } else {
      master = await readMasterKey(source);
    }
    fs.mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
    const keyring = Keyring.create(ringFile, master);
    createdFiles.push(ringFile);
    // SQLite gives -wal and -shm the main file's mode, so creating it 0600 covers all three.
    fs.writeFileSync(dbFile, '', { mode: 0o600, flag: 'wx' });
    createdFiles.push(dbFile, `${dbFile}-wal`, `${dbFile}-shm`);
    db = openDatabase(dbFile, { key: keyring.active('db').key, create: true });
    const applied = migrate(db).applied;
    const audit = new AuditLog(db, keyring);
    audit.record(systemContext(), 'instance.created', { type: 'instance' }, 'success', { keySource: describeKind(source) });
    return { db, keyring, audit, master, source, created: true, migrated: applied, recovered: [] };
  } catch (e) {
    db?.close();
    for (const f of createdFiles.reverse()) fs.rmSync(f, { force: true });
    // Only directories this call made, now empty again: rmdir refuses anything else.
    if (createdKeyDir) removeEmptyDirs(path.dirname(source.kind === 'file' ? source.path : ''), createdKeyDir);
    throw e;
  }
}

function describeKind(src: MasterKeySource): string {
  return src.kind === 'file' ? src.origin : 'command';
}

function removeEmptyDirs(from: string, upTo: string): void {
  for (let d = from; d.startsWith(upTo); d = path.dirname(d)) {
    try {
      fs.rmdirSync(d);
    } catch {
      return;
    }
  }
}

function isInside(file: string, dir: string): boolean {
  return file === dir || file.startsWith(dir + '/');
}

export function isKnownStartupError(e: unknown): e is Error {
  return e instanceof StartupError || e instanceof KeyError || (e instanceof Error && ['DatabaseOpenError', 'MigrationError', 'ConfigError', 'InstanceLockedError'].includes(e.name));
}

export { describeSource };

import Database from 'better-sqlite3-multiple-ciphers';
import fs from 'node:fs';
import path from 'node:path';

export type DB = Database.Database;

export class DatabaseOpenError extends Error {
  override name = 'DatabaseOpenError';
}

export function databasePath(dataDir: string): string {
  return path.join(dataDir, 'tessera.db');
}

let nativeBinding: object | undefined;
let nativeBindingFile: string | undefined;
/** The single binary loads the addon itself (see build.mjs) and hands it over here. */
export function setNativeBinding(addon: object, file?: string): void {
  nativeBinding = addon;
  nativeBindingFile = file;
}

/** The name the single binary's addon was loaded under (worker threads load it by that name). */
export function nativeAddonFile(): string | undefined {
  return nativeBindingFile;
}

/**
 * SQLCipher's raw-key form `x'<64 hex>'`: the 256-bit key is used as is. (`hexkey` would still
 * run the passphrase KDF, about 100 ms on every open.)
 */
export function keyPragma(key: Buffer): string {
  return `key="x'${key.toString('hex')}'"`;
}

export function rekeyPragma(key: Buffer): string {
  return `rekey="x'${key.toString('hex')}'"`;
}

export interface OpenOptions {
  /** Raw 256-bit key. A raw key skips SQLCipher's KDF (~115 ms) on every open. */
  key: Buffer;
  create?: boolean;
  readonly?: boolean;
}

/**
 * Opens the SQLCipher-4-format database. Keying never fails by itself, so one read runs right
 * after it: a wrong key or a foreign file is refused there, before anything can be written.
 */
export function openDatabase(file: string, opts: OpenOptions): DB {
  if (!opts.create && !fs.existsSync(file)) {
    throw new DatabaseOpenError(`database ${file} does not exist`);
  }
  const options: Database.Options = { fileMustExist: !opts.create, readonly: opts.readonly ?? false };
  // The .d.ts types nativeBinding as a path only; the loader accepts the addon object too.
  if (nativeBinding) (options as { nativeBinding?: unknown }).nativeBinding = nativeBinding;
  const db = new Database(file, options);
  try {
    db.pragma(`cipher='sqlcipher'`);
    db.pragma('legacy=4');
    db.pragma(keyPragma(opts.key));
    try {
      db.prepare('SELECT count(*) FROM sqlite_schema').get();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new DatabaseOpenError(`wrong master key or not a Tessera database: ${file}`);
      }
      throw e;
    }
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    connectionPragmas(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Per-connection settings every Tessera connection runs with (also used on test databases). */
export function connectionPragmas(db: DB): void {
  db.pragma('foreign_keys = ON');
  db.pragma('temp_store = MEMORY');
  db.pragma('busy_timeout = 5000');
  // In WAL mode NORMAL loses at most the last transactions on power loss, never consistency;
  // FULL makes every commit durable, which is what acknowledged registrations need.
  db.pragma('synchronous = FULL');
  // Deleted and overwritten content is zeroed, so erased personal data does not linger in free
  // space inside pages or on the freelist (issue 21: erasure must leave no trace in the file).
  db.pragma('secure_delete = ON');
}

/** Runs fn in one write transaction (BEGIN IMMEDIATE): it commits whole or not at all. */
export function transaction<T>(db: DB, fn: () => T): T {
  return db.transaction(fn).immediate();
}

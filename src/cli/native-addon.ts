import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { settings } from '../config/config.ts';

/**
 * The single binary carries the SQLite addon as an SEA asset; dlopen needs a real file, so it is
 * written to a private directory, loaded and deleted at once. /tmp is often mounted noexec, hence
 * the default beside the data directory (or $XDG_RUNTIME_DIR) and the TESSERA_RUNTIME_DIR override.
 */
export class AddonLoadError extends Error {
  override name = 'AddonLoadError';
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** The data dir as loadConfig would resolve it: last --data-dir flag, then env, then the default. */
export function dataDirFrom(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  const flag = `--${settings.dataDir.flag}`;
  let fromFlag: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (a === flag && i + 1 < argv.length) fromFlag = argv[++i];
    else if (a.startsWith(`${flag}=`)) fromFlag = a.slice(flag.length + 1);
  }
  const raw = nonEmpty(fromFlag) ?? nonEmpty(env[settings.dataDir.env]) ?? settings.dataDir.schema.parse(undefined);
  return path.resolve(raw);
}

export function runtimeDir(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  const explicit = nonEmpty(env.TESSERA_RUNTIME_DIR);
  if (explicit) return path.resolve(explicit);
  const xdg = nonEmpty(env.XDG_RUNTIME_DIR);
  if (xdg) return path.join(path.resolve(xdg), 'tessera');
  return path.join(path.dirname(dataDirFrom(argv, env)), '.tessera-runtime');
}

/**
 * Another user who can write into the directory could swap the file between write and dlopen,
 * so an existing directory must be ours and closed to everyone else; we never loosen or take
 * over one the operator pointed us at.
 */
function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new AddonLoadError(`runtime directory ${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) throw new AddonLoadError(`runtime directory ${dir} belongs to another user (uid ${st.uid})`);
  const mode = st.mode & 0o777;
  if (mode & 0o077) throw new AddonLoadError(`runtime directory ${dir} is open to other users (mode ${mode.toString(8)}); run chmod 700 on it`);
}

const hint = 'set TESSERA_RUNTIME_DIR to a private directory on a filesystem that allows executables (not a noexec mount)';

/**
 * Writes the addon bytes to a private file in dir, loads it and removes the file; returns its
 * exports and the name it was loaded under (a worker thread's dlopen of that name gets the
 * library already mapped, without touching the file system).
 */
export function loadAddon(bytes: Uint8Array, dir: string): { exports: object; file: string } {
  let file: string | undefined;
  try {
    ensurePrivateDir(dir);
    file = path.join(dir, `better_sqlite3-${process.pid}-${randomBytes(6).toString('hex')}.node`);
    // 'wx' refuses an existing file or a planted symlink at this name.
    fs.writeFileSync(file, bytes, { mode: 0o700, flag: 'wx' });
    const mod = { exports: {} as object };
    process.dlopen(mod, file);
    return { exports: mod.exports, file };
  } catch (e) {
    if (e instanceof AddonLoadError) throw new AddonLoadError(`cannot load the SQLite addon: ${e.message}; or ${hint}`);
    const reason = ((e as Error).message ?? String(e)).split('\n')[0];
    throw new AddonLoadError(`cannot load the SQLite addon from ${dir} (${reason}); ${hint}`);
  } finally {
    // Once mapped, the file is no longer needed; leaving it would only invite tampering.
    if (file) fs.rmSync(file, { force: true });
  }
}

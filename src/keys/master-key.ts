import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../config/config.ts';

export class KeyError extends Error {
  override name = 'KeyError';
}

export type MasterKeySource =
  | { kind: 'file'; path: string; origin: '--master-key-file' | 'TESSERA_MASTER_KEY_FILE' | 'systemd credential' | 'default key file' }
  | { kind: 'command'; command: string };

/** Resolution order is documented in the README; the first configured source wins. */
export function masterKeySource(cfg: Config, env: NodeJS.ProcessEnv = process.env, flagGiven = false): MasterKeySource {
  if (cfg.masterKeyFile) {
    return { kind: 'file', path: path.resolve(cfg.masterKeyFile), origin: flagGiven ? '--master-key-file' : 'TESSERA_MASTER_KEY_FILE' };
  }
  const credDir = env.CREDENTIALS_DIRECTORY;
  if (credDir) {
    const p = path.join(credDir, 'tessera-master-key');
    if (fs.existsSync(p)) return { kind: 'file', path: p, origin: 'systemd credential' };
  }
  if (cfg.masterKeyCommand) return { kind: 'command', command: cfg.masterKeyCommand };
  return { kind: 'file', path: cfg.masterKeyFileDefault, origin: 'default key file' };
}

export function describeSource(src: MasterKeySource): string {
  return src.kind === 'file' ? `${src.origin} ${src.path}` : `--master-key-command`;
}

export function parseMasterKey(text: string, where: string): Buffer {
  const t = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(t)) {
    throw new KeyError(`master key from ${where} is not 64 hexadecimal characters (a 256-bit key)`);
  }
  return Buffer.from(t, 'hex');
}

const run = promisify(execFile);

export async function readMasterKey(src: MasterKeySource): Promise<Buffer> {
  if (src.kind === 'command') {
    try {
      // Run without a shell so the configured string cannot be reinterpreted; split on spaces only.
      const [cmd, ...args] = src.command.split(/\s+/).filter(Boolean);
      if (!cmd) throw new KeyError('--master-key-command is empty');
      const { stdout } = await run(cmd, args, { timeout: 30_000, maxBuffer: 64 * 1024 });
      return parseMasterKey(stdout, '--master-key-command');
    } catch (e) {
      if (e instanceof KeyError) throw e;
      throw new KeyError(`--master-key-command failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  let text: string;
  try {
    text = fs.readFileSync(src.path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KeyError(`master key not found: ${describeSource(src)} does not exist`);
    throw new KeyError(`cannot read master key (${describeSource(src)}): ${code ?? (e as Error).message}`);
  }
  return parseMasterKey(text, describeSource(src));
}

/**
 * Creates a new key file (0600; the directories it has to create 0700, an existing one keeps its
 * mode); refuses to overwrite. `createdDir` is the first directory it made, for an undo.
 */
export function generateMasterKeyFile(file: string): { key: Buffer; createdDir: string | undefined } {
  const key = randomBytes(32);
  const createdDir = fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, createdDir };
}

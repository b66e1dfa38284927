import fs from 'node:fs';
import path from 'node:path';
import { Keyring, keyringPath } from '../keys/keyring.ts';
import { BackupKeyError } from './errors.ts';
import type { BackupTarget } from './targets/target.ts';

export interface ResolvedKeyring {
  keyring: Keyring;
  /** the file it was loaded from: copied as is into a restored data directory */
  file: string;
  origin: string;
}

/**
 * The keyring that opens a backup: the data directory's own when there is one, otherwise the
 * newest copy the replicator stored beside the backups (keyrings/…json) that this master key
 * unwraps. Those copies hold only wrapped keys, useless without the master key, which is what
 * lets "server lost: put the master key, tessera restore" work with nothing else saved.
 */
export async function resolveKeyring(opts: { dataDir?: string; master: Buffer; source: BackupTarget; workDir: string }): Promise<ResolvedKeyring> {
  if (opts.dataDir) {
    const file = keyringPath(opts.dataDir);
    if (fs.existsSync(file)) return { keyring: Keyring.load(file, opts.master), file, origin: file };
  }
  const rings = (await opts.source.list('keyrings/')).filter((o) => /^keyrings\/[^/]+\.json$/.test(o.key)).reverse();
  if (rings.length === 0) {
    throw new BackupKeyError(`no keyring found: ${opts.source.label} holds none and ${opts.dataDir ? keyringPath(opts.dataDir) : 'no data directory'} does not exist`);
  }
  fs.mkdirSync(opts.workDir, { recursive: true, mode: 0o700 });
  for (const r of rings) {
    const file = path.join(opts.workDir, path.basename(r.key));
    const parts: Buffer[] = [];
    for await (const c of await opts.source.get(r.key)) parts.push(Buffer.from(c));
    fs.writeFileSync(file, Buffer.concat(parts), { mode: 0o600 });
    try {
      return { keyring: Keyring.load(file, opts.master), file, origin: `${opts.source.label}/${r.key}` };
    } catch {
      // Made under another master key (before a rotation) or damaged: try the next older one.
    }
  }
  throw new BackupKeyError(`none of the ${rings.length} keyrings in ${opts.source.label} opens with this master key (wrong master key?)`);
}

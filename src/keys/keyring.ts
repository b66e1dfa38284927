import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KeyError } from './master-key.ts';

export const purposes = ['db', 'backup', 'audit', 'token'] as const;
export type KeyPurpose = (typeof purposes)[number];

const wrappedKeySchema = z.object({
  id: z.string().regex(/^[a-z]+-[0-9]+$/),
  purpose: z.enum(purposes),
  status: z.enum(['active', 'retired']),
  created: z.iso.datetime(),
  iv: z.base64(),
  ct: z.base64(),
  tag: z.base64(),
});
const keyringSchema = z.object({
  format: z.literal('tessera-keyring'),
  version: z.literal(1),
  kekId: z.string().regex(/^[0-9a-f]{16}$/),
  keys: z.array(wrappedKeySchema).min(1),
});
export type KeyringFile = z.infer<typeof keyringSchema>;
type WrappedKey = z.infer<typeof wrappedKeySchema>;

export interface DataKey {
  id: string;
  purpose: KeyPurpose;
  status: 'active' | 'retired';
  key: Buffer;
}

/** Identifies a master key without revealing it, so a wrong key is told apart from damage. */
export function kekId(master: Buffer): string {
  return createHmac('sha256', master).update('tessera kek id v1').digest('hex').slice(0, 16);
}

const aad = (k: { purpose: string; id: string }) => Buffer.from(`tessera-key:${k.purpose}:${k.id}`);

function wrap(master: Buffer, k: Omit<DataKey, 'key'> & { key: Buffer; created: string }): WrappedKey {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', master, iv);
  c.setAAD(aad(k));
  const ct = Buffer.concat([c.update(k.key), c.final()]);
  return { id: k.id, purpose: k.purpose, status: k.status, created: k.created, iv: iv.toString('base64'), ct: ct.toString('base64'), tag: c.getAuthTag().toString('base64') };
}

function unwrap(master: Buffer, w: WrappedKey): Buffer {
  const d = createDecipheriv('aes-256-gcm', master, Buffer.from(w.iv, 'base64'));
  d.setAAD(aad(w));
  d.setAuthTag(Buffer.from(w.tag, 'base64'));
  return Buffer.concat([d.update(Buffer.from(w.ct, 'base64')), d.final()]);
}

export function keyringPath(dataDir: string): string {
  return path.join(dataDir, 'keyring.json');
}

export class Keyring {
  private constructor(
    readonly file: string,
    private readonly keys: DataKey[],
    private readonly created: Map<string, string>,
  ) {}

  static create(file: string, master: Buffer): Keyring {
    const now = new Date().toISOString();
    const keys = purposes.map((purpose) => ({ id: `${purpose}-1`, purpose, status: 'active' as const, key: randomBytes(32) }));
    const ring = new Keyring(file, keys, new Map(keys.map((k) => [k.id, now])));
    ring.save(master, 'wx');
    return ring;
  }

  static load(file: string, master: Buffer): Keyring {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new KeyError(`cannot read keyring ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new KeyError(`keyring ${file} is damaged (not valid JSON); restore it from your key backup`);
    }
    const parsed = keyringSchema.safeParse(json);
    if (!parsed.success) throw new KeyError(`keyring ${file} is damaged (${parsed.error.issues[0]?.path.join('.') || 'format'}); restore it from your key backup`);
    if (parsed.data.kekId !== kekId(master)) throw new KeyError('wrong master key: it does not match the one this keyring was made with');
    const keys: DataKey[] = [];
    for (const w of parsed.data.keys) {
      try {
        keys.push({ id: w.id, purpose: w.purpose, status: w.status, key: unwrap(master, w) });
      } catch {
        throw new KeyError(`keyring ${file} is damaged: key ${w.id} fails its integrity check`);
      }
    }
    for (const p of purposes) {
      if (keys.filter((k) => k.purpose === p && k.status === 'active').length !== 1) {
        throw new KeyError(`keyring ${file} is damaged: it needs exactly one active ${p} key`);
      }
    }
    return new Keyring(file, keys, new Map(parsed.data.keys.map((k) => [k.id, k.created])));
  }

  active(purpose: KeyPurpose): DataKey {
    const k = this.keys.find((x) => x.purpose === purpose && x.status === 'active');
    if (!k) throw new KeyError(`no active ${purpose} key`);
    return k;
  }

  byId(id: string): DataKey | undefined {
    return this.keys.find((k) => k.id === id);
  }

  list(): ReadonlyArray<Omit<DataKey, 'key'> & { created: string }> {
    return this.keys.map(({ id, purpose, status }) => ({ id, purpose, status, created: this.created.get(id) ?? '' }));
  }

  /** Writes atomically (temp file, fsync, rename) so a crash never leaves a half keyring. */
  save(master: Buffer, flag: 'w' | 'wx' = 'w'): void {
    const body: KeyringFile = {
      format: 'tessera-keyring',
      version: 1,
      kekId: kekId(master),
      keys: this.keys.map((k) => wrap(master, { ...k, created: this.created.get(k.id) ?? new Date().toISOString() })),
    };
    if (flag === 'wx' && fs.existsSync(this.file)) throw new KeyError(`keyring ${this.file} already exists`);
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(body, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}

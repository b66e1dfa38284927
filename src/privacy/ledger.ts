import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DataKey, Keyring } from '../keys/keyring.ts';
import type { ErasureReason } from './erasure-port.ts';

/**
 * One erasure ledger entry: what was erased, when and why, with no personal data. Subjects are
 * HMAC pseudonyms of (org id, normalized email); the rest are ids and field keys.
 *
 * The ledger must outlive a restore to an earlier point, so besides the database copy it is kept
 * as sealed records (AES-256-GCM) in a file beside the keyring and as one small object per entry
 * on every backup target. Both keys are derived (HKDF) from the audit-chain key: audit keys are
 * never pruned, so every record ever written stays readable and every pseudonym recomputable.
 */
export const ledgerEntrySchema = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(64),
  org: z.string().min(1).max(64),
  event: z.string().max(64).nullable(),
  /** ms since epoch */
  at: z.number().int().nonnegative(),
  reason: z.enum(['retention', 'attendee-request', 'organizer-request']),
  /** the audit key the pseudonyms were made under */
  keyId: z.string().max(64),
  subjects: z.array(z.string().regex(/^[0-9a-f]{32}$/)),
  registrations: z.array(z.string().min(1).max(64)),
  /** field keys, or ['*'] for all personal data */
  fields: z.array(z.string().min(1).max(100)).min(1),
  request: z.string().max(64).nullable(),
});
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

export interface LedgerEntryInput {
  org: string;
  event: string | null;
  reason: ErasureReason;
  subjects: string[];
  registrations: string[];
  fields: string[];
  request: string | null;
}

const sealedSchema = z.object({ k: z.string().max(64), id: z.string().max(64), iv: z.base64(), ct: z.base64(), tag: z.base64() });

const derive = (key: DataKey, info: string) => Buffer.from(hkdfSync('sha256', key.key, Buffer.alloc(0), info, 32));
const aad = (id: string) => Buffer.from(`tessera-erasure-ledger:v1:${id}`);

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The file beside the keyring: outside the database, so a restore never rolls it back. */
export function ledgerFilePath(keyringFile: string): string {
  return path.join(path.dirname(keyringFile), 'erasure-ledger.log');
}

/** Object name of one entry on a backup target (time first, so listings sort by time). */
export function ledgerObjectKey(e: Pick<LedgerEntry, 'id' | 'at'>): string {
  const t = new Date(e.at).toISOString().replace(/[-:.]/g, '');
  return `erasures/${t}-${e.id}.led`;
}

/** Pseudonyms, sealing and the durable file; holds derived keys only. */
export class LedgerCrypto {
  private readonly derived = new Map<string, Buffer>();
  constructor(private readonly keyring: Keyring) {}

  private keyFor(keyId: string, info: string): Buffer {
    const cacheKey = `${keyId}|${info}`;
    let k = this.derived.get(cacheKey);
    if (!k) {
      const dk = this.keyring.byId(keyId);
      if (!dk || dk.purpose !== 'audit') throw new Error(`erasure ledger key ${keyId} is not in the keyring`);
      k = derive(dk, info);
      this.derived.set(cacheKey, k);
    }
    return k;
  }

  get activeKeyId(): string {
    return this.keyring.active('audit').id;
  }

  /** HMAC(org id + normalized email), 128 bits: the same person in the same org, the same pseudonym. */
  pseudonym(orgId: string, email: string, keyId = this.activeKeyId): string {
    return createHmac('sha256', this.keyFor(keyId, 'tessera erasure subject v1'))
      .update(`${orgId}\n${normalizeEmail(email)}`)
      .digest('hex')
      .slice(0, 32);
  }

  seal(entry: LedgerEntry): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.keyFor(entry.keyId, 'tessera erasure ledger v1'), iv);
    c.setAAD(aad(entry.id));
    const ct = Buffer.concat([c.update(JSON.stringify(entry)), c.final()]);
    return JSON.stringify({ k: entry.keyId, id: entry.id, iv: iv.toString('base64'), ct: ct.toString('base64'), tag: c.getAuthTag().toString('base64') });
  }

  /** undefined when the record is damaged, altered or under an unknown key. */
  open(line: string): LedgerEntry | undefined {
    try {
      const s = sealedSchema.parse(JSON.parse(line));
      const d = createDecipheriv('aes-256-gcm', this.keyFor(s.k, 'tessera erasure ledger v1'), Buffer.from(s.iv, 'base64'));
      d.setAAD(aad(s.id));
      d.setAuthTag(Buffer.from(s.tag, 'base64'));
      const entry = ledgerEntrySchema.parse(JSON.parse(Buffer.concat([d.update(Buffer.from(s.ct, 'base64')), d.final()]).toString('utf8')));
      return entry.id === s.id && entry.keyId === s.k ? entry : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Appends sealed records durably (fsync) and reads them back. */
export class LedgerFile {
  constructor(
    readonly file: string,
    private readonly crypto: LedgerCrypto,
  ) {}

  append(entries: LedgerEntry[]): void {
    if (entries.length === 0) return;
    const fd = fs.openSync(this.file, 'a', 0o600);
    try {
      fs.writeSync(fd, entries.map((e) => `${this.crypto.seal(e)}\n`).join(''));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The same, off the event loop: for the retention job, which must not hold up requests. */
  async appendAsync(entries: LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const fh = await fs.promises.open(this.file, 'a', 0o600);
    try {
      await fh.writeFile(entries.map((e) => `${this.crypto.seal(e)}\n`).join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Every readable entry; a torn last line (crash mid-append) or an altered record counts as rejected. */
  read(): { entries: LedgerEntry[]; rejected: number } {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], rejected: 0 };
      throw e;
    }
    const entries: LedgerEntry[] = [];
    let rejected = 0;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const e = this.crypto.open(line);
      if (e) entries.push(e);
      else rejected++;
    }
    return { entries, rejected };
  }
}

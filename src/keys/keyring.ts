import { type KeyObject, createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KeyError } from './master-key.ts';

export const purposes = ['db', 'backup', 'audit', 'token'] as const;
export type KeyPurpose = (typeof purposes)[number];

/**
 * active: the one key of its purpose used for new work. retired: kept (still wrapped) to read what
 * it protected before. pending: made by a rotation that has not finished yet; never used for new
 * work, and on the next open it is either promoted or dropped (see keys/rotation.ts).
 */
export const keyStatuses = ['active', 'retired', 'pending'] as const;
export type KeyStatus = (typeof keyStatuses)[number];

const wrappedKeySchema = z
  .object({
    id: z.string().regex(/^[a-z]+-[0-9]+$/),
    purpose: z.enum(purposes),
    status: z.enum(keyStatuses),
    created: z.iso.datetime(),
    // Absent in keyrings written before rotation existed; set when a key stops being active.
    retired: z.iso.datetime().optional(),
    iv: z.base64(),
    ct: z.base64(),
    tag: z.base64(),
  })
  .refine((k) => k.id.startsWith(`${k.purpose}-`), { message: 'key id does not match its purpose', path: ['id'] });
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
  status: KeyStatus;
  key: Buffer;
}

export interface KeyInfo {
  id: string;
  purpose: KeyPurpose;
  status: KeyStatus;
  created: string;
  retired?: string;
}

interface Entry extends DataKey {
  created: string;
  retired?: string;
}

/** Identifies a master key without revealing it, so a wrong key is told apart from damage. */
export function kekId(master: Buffer): string {
  return createHmac('sha256', master).update('tessera kek id v1').digest('hex').slice(0, 16);
}

const aad = (k: { purpose: string; id: string }) => Buffer.from(`tessera-key:${k.purpose}:${k.id}`);

function wrap(master: Buffer, k: Entry): WrappedKey {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', master, iv);
  c.setAAD(aad(k));
  const ct = Buffer.concat([c.update(k.key), c.final()]);
  return {
    id: k.id,
    purpose: k.purpose,
    status: k.status,
    created: k.created,
    ...(k.retired ? { retired: k.retired } : {}),
    iv: iv.toString('base64'),
    ct: ct.toString('base64'),
    tag: c.getAuthTag().toString('base64'),
  };
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

/** The previous keyring, kept only while a rotation runs (see Keyring.keepBackup). */
export function keyringBackupPath(ringFile: string): string {
  return `${ringFile}.bak`;
}

/** The kekId a keyring file claims, without unwrapping anything; undefined if unreadable. */
export function peekKekId(file: string): string | undefined {
  try {
    const parsed = z.object({ kekId: z.string() }).safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data.kekId : undefined;
  } catch {
    return undefined;
  }
}

/** Makes a rename durable: without it a power cut can bring back the old directory entry. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes a file completely and durably under a temp name, then renames it into place. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** keyring.json read and checked against its schema; `verb` and `advice` finish the error messages. */
function readKeyringFile(file: string, verb: string, advice: string): KeyringFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeyError(`cannot ${verb} keyring ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeyError(`keyring ${file} is damaged (not valid JSON); ${advice}`);
  }
  const parsed = keyringSchema.safeParse(json);
  if (!parsed.success) throw new KeyError(`keyring ${file} is damaged (${parsed.error.issues[0]?.path.join('.') || 'format'}); ${advice}`);
  return parsed.data;
}

/**
 * Purposes whose retired keys may be dropped once nothing needs them. Audit keys never: every row
 * of the chain names its key and is verified forever. Token keys never: retired ones still verify
 * ticket and manage links mailed before a rotation (events/tokens.ts), which live as long as the
 * registrations, not as long as anything retention can see.
 */
function assertPrunable(purpose: KeyPurpose): asserts purpose is 'db' | 'backup' {
  if (purpose === 'audit') throw new KeyError('audit keys are never pruned: the audit chain needs every one of them to verify');
  if (purpose === 'token') throw new KeyError('token keys are never pruned: retired ones still verify ticket and manage links sent before the rotation');
}

function prunable(k: { purpose: KeyPurpose; status: KeyStatus; created: string; retired?: string }, purpose: KeyPurpose, olderThan: Date): boolean {
  return k.purpose === purpose && k.status === 'retired' && Date.parse(k.retired ?? k.created) < olderThan.getTime();
}

export class Keyring {
  private constructor(
    readonly file: string,
    private keys: Entry[],
    /** kekId of the master key the file is wrapped with: forgetRetired refuses any other file */
    private wrappedWith: string,
  ) {}

  private readonly macKeys = new Map<string, { raw: Buffer; obj: KeyObject }>();

  static create(file: string, master: Buffer): Keyring {
    const now = new Date().toISOString();
    const keys = purposes.map((purpose) => ({ id: `${purpose}-1`, purpose, status: 'active' as const, key: randomBytes(32), created: now }));
    const ring = new Keyring(file, keys, kekId(master));
    ring.save(master, 'wx');
    return ring;
  }

  static load(file: string, master: Buffer): Keyring {
    const data = readKeyringFile(file, 'read', 'restore it from your key backup');
    if (data.kekId !== kekId(master)) throw new KeyError(wrongMasterMessage(file, master, data.kekId));
    const keys: Entry[] = [];
    for (const w of data.keys) {
      try {
        keys.push({ id: w.id, purpose: w.purpose, status: w.status, key: unwrap(master, w), created: w.created, ...(w.retired ? { retired: w.retired } : {}) });
      } catch {
        throw new KeyError(`keyring ${file} is damaged: key ${w.id} fails its integrity check`);
      }
    }
    if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new KeyError(`keyring ${file} is damaged: a key id appears twice`);
    for (const p of purposes) {
      if (keys.filter((k) => k.purpose === p && k.status === 'active').length !== 1) {
        throw new KeyError(`keyring ${file} is damaged: it needs exactly one active ${p} key`);
      }
      if (keys.filter((k) => k.purpose === p && k.status === 'pending').length > 1) {
        throw new KeyError(`keyring ${file} is damaged: more than one pending ${p} key`);
      }
    }
    return new Keyring(file, keys, data.kekId);
  }

  /** Which master key (its kekId) this keyring was loaded or last saved with. */
  get masterKeyId(): string {
    return this.wrappedWith;
  }

  active(purpose: KeyPurpose): DataKey {
    const k = this.keys.find((x) => x.purpose === purpose && x.status === 'active');
    if (!k) throw new KeyError(`no active ${purpose} key`);
    return k;
  }

  /**
   * The key as a KeyObject for createHmac. Passing the raw Buffer makes Node build one per call,
   * which measured 11 µs against 5 µs per audit-row MAC here; keys live as long as the keyring.
   * Checked by Buffer identity, so a dropped pending key whose id is reused never serves stale bytes.
   */
  hmacKey(k: DataKey): KeyObject {
    const hit = this.macKeys.get(k.id);
    if (hit?.raw === k.key) return hit.obj;
    const obj = createSecretKey(k.key);
    this.macKeys.set(k.id, { raw: k.key, obj });
    return obj;
  }

  /** Any key by id, retired ones included: old backups and old audit rows name the key they used. */
  byId(id: string): DataKey | undefined {
    return this.keys.find((k) => k.id === id);
  }

  pending(purpose: KeyPurpose): DataKey | undefined {
    return this.keys.find((k) => k.purpose === purpose && k.status === 'pending');
  }

  list(): ReadonlyArray<KeyInfo> {
    return this.keys.map(({ id, purpose, status, created, retired }) => ({ id, purpose, status, created, ...(retired ? { retired } : {}) }));
  }

  /** Ids only grow, even after pruning, so an id never names two different keys. */
  private nextId(purpose: KeyPurpose): string {
    const n = Math.max(0, ...this.keys.filter((k) => k.purpose === purpose).map((k) => Number(k.id.slice(purpose.length + 1))));
    return `${purpose}-${n + 1}`;
  }

  /**
   * One-step rotation in memory: a new active key, the previous one retired and kept. Callers
   * that must survive a crash between "key made" and "key in use" stage it instead (addPending).
   */
  rotate(purpose: KeyPurpose, now = new Date()): { old: DataKey; new: DataKey } {
    const staged = this.addPending(purpose, now);
    const old = this.activatePending(purpose, now);
    return { old, new: staged };
  }

  /** Adds a pending key (first step of a two-phase rotation); refuses if one is already pending. */
  addPending(purpose: KeyPurpose, now = new Date()): DataKey {
    const existing = this.pending(purpose);
    if (existing) throw new KeyError(`a ${purpose} key rotation is already in progress (${existing.id} is pending)`);
    const entry: Entry = { id: this.nextId(purpose), purpose, status: 'pending', key: randomBytes(32), created: now.toISOString() };
    this.keys.push(entry);
    return entry;
  }

  /** The pending key becomes active; the previously active one is retired. Returns the retired key. */
  activatePending(purpose: KeyPurpose, now = new Date()): DataKey {
    const next = this.keys.find((k) => k.purpose === purpose && k.status === 'pending');
    if (!next) throw new KeyError(`no pending ${purpose} key to activate`);
    const prev = this.keys.find((k) => k.purpose === purpose && k.status === 'active');
    if (prev) {
      prev.status = 'retired';
      prev.retired = now.toISOString();
    }
    next.status = 'active';
    return prev ?? next;
  }

  dropPending(purpose: KeyPurpose): DataKey | undefined {
    const i = this.keys.findIndex((k) => k.purpose === purpose && k.status === 'pending');
    if (i < 0) return undefined;
    return this.keys.splice(i, 1)[0];
  }

  /**
   * Forgets, in memory only, retired keys of a purpose that were retired before `olderThan` and
   * that `stillNeeded` does not claim; the caller saves with the master key. Returns their ids.
   */
  pruneRetired(purpose: KeyPurpose, olderThan: Date, stillNeeded: (id: string) => boolean = () => false): string[] {
    assertPrunable(purpose);
    const removed = this.keys.filter((k) => prunable(k, purpose, olderThan) && !stillNeeded(k.id)).map((k) => k.id);
    this.keys = this.keys.filter((k) => !removed.includes(k.id));
    return removed;
  }

  /**
   * pruneRetired for a running server, which does not keep the master key: every key is wrapped
   * on its own (the AAD binds purpose and id, not status or position), so dropping entries from
   * the file needs no unwrapping. The file is re-read and must still be the keyring this one was
   * loaded from (same master key); only entries that are retired there *and* here go, so a file
   * that changed underneath (a restored keyring.json) is refused rather than merged. Backup
   * retention calls this once nothing it keeps was written under those keys.
   */
  forgetRetired(purpose: KeyPurpose, olderThan: Date, stillNeeded: (id: string) => boolean = () => false): string[] {
    assertPrunable(purpose);
    const data = readKeyringFile(this.file, 're-read', 'not pruning');
    if (data.kekId !== this.wrappedWith) {
      throw new KeyError(`keyring ${this.file} was replaced by one wrapped with another master key (${data.kekId}, loaded with ${this.wrappedWith}); not pruning`);
    }
    const inMemory = new Map(this.keys.map((k) => [k.id, k]));
    const removed = data.keys
      .filter((w) => prunable(w, purpose, olderThan) && inMemory.get(w.id)?.status === 'retired' && !stillNeeded(w.id))
      .map((w) => w.id);
    if (removed.length === 0) return removed;
    const body: KeyringFile = { ...data, keys: data.keys.filter((w) => !removed.includes(w.id)) };
    writeFileAtomic(this.file, JSON.stringify(body, null, 2) + '\n');
    this.keys = this.keys.filter((k) => !removed.includes(k.id));
    return removed;
  }

  /** Wraps every data key under a new master key and writes the keyring (rotate-master). */
  rewrap(newMaster: Buffer): void {
    this.save(newMaster);
  }

  /**
   * Copies the keyring as it is on disk to keyring.json.bak before an operation changes it, so a
   * crash mid-rotation leaves the previous version at hand; dropBackup() removes it at the end
   * (after a master rotation it still opens with the old master key, so it must not linger).
   */
  keepBackup(): void {
    writeFileAtomic(keyringBackupPath(this.file), fs.readFileSync(this.file));
  }

  /** Puts the kept previous version back, byte for byte (a rotation that changed nothing). */
  restoreBackup(): void {
    fs.renameSync(keyringBackupPath(this.file), this.file);
    fsyncDir(path.dirname(this.file));
  }

  dropBackup(): void {
    fs.rmSync(keyringBackupPath(this.file), { force: true });
    fsyncDir(path.dirname(this.file));
  }

  /** Writes atomically (temp file, fsync, rename, fsync dir) so a crash never leaves a half keyring. */
  save(master: Buffer, flag: 'w' | 'wx' = 'w'): void {
    const body: KeyringFile = {
      format: 'tessera-keyring',
      version: 1,
      kekId: kekId(master),
      keys: this.keys.map((k) => wrap(master, k)),
    };
    if (flag === 'wx' && fs.existsSync(this.file)) throw new KeyError(`keyring ${this.file} already exists`);
    writeFileAtomic(this.file, JSON.stringify(body, null, 2) + '\n');
    this.wrappedWith = body.kekId;
  }
}

function wrongMasterMessage(file: string, master: Buffer, ringKekId: string): string {
  const base = 'wrong master key: it does not match the one this keyring was made with';
  // A leftover backup that this key opens means a master-key rotation replaced it: say so.
  if (peekKekId(keyringBackupPath(file)) === kekId(master)) {
    return `${base} (the keyring was rewrapped with master key ${ringKekId} by \`tessera keys rotate-master\`; use that key)`;
  }
  return base;
}

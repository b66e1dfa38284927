import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { databasePath } from '../db/open.ts';
import { type Keyring, writeFileAtomic } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import type { AuditLog, ChainHead } from './service.ts';

/**
 * The chain's MACs prove every row that is there, not that nothing is missing after the last
 * one: deleting the newest rows leaves a valid, shorter chain. The anchor is a signed copy of the
 * head kept outside the rows it protects (beside the keyring), so `tessera audit verify` can tell
 * a truncated or rolled-back chain from a complete one. The signature uses the audit-chain key,
 * which never sits unwrapped on disk: whoever can edit the database cannot forge an anchor.
 *
 * What it cannot catch: the whole data directory (database and anchor together) replaced by an
 * older copy of both. A copy of the anchor in the backup stream closes that (see writeNow).
 */

const FORMAT = 'tessera-audit-head';
const VERSION = 1;

const anchorSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(VERSION),
  seq: z.number().int().nonnegative(),
  mac: z.base64(),
  at: z.iso.datetime(),
  keyId: z.string().regex(/^audit-[0-9]+$/),
  sig: z.base64(),
});
export type AnchorRecord = z.infer<typeof anchorSchema>;

export function anchorPath(dataDir: string): string {
  return path.join(dataDir, 'audit-head.json');
}

function signature(keyring: Keyring, rec: Omit<AnchorRecord, 'sig'>): Buffer | undefined {
  const key = keyring.byId(rec.keyId);
  if (!key || key.purpose !== 'audit') return undefined;
  // The prefix keeps an anchor signature from ever meaning the same as a chain-row MAC.
  return createHmac('sha256', keyring.hmacKey(key))
    .update('tessera audit head v1\u0000')
    .update(JSON.stringify([rec.format, rec.version, rec.seq, rec.mac, rec.at, rec.keyId]))
    .digest();
}

export function signAnchor(keyring: Keyring, head: ChainHead, at: Date): AnchorRecord {
  const key = keyring.active('audit');
  const rec = { format: FORMAT, version: VERSION, seq: head.seq, mac: head.mac.toString('base64'), at: at.toISOString(), keyId: key.id } as const;
  return { ...rec, sig: (signature(keyring, rec) as Buffer).toString('base64') };
}

export type AnchorRead =
  | { state: 'missing' }
  | { state: 'invalid'; reason: string }
  | { state: 'ok'; anchor: AnchorRecord; head: ChainHead };

/** Reads and authenticates the anchor; any doubt about the file is `invalid`, never a pass. */
export function readAnchor(file: string, keyring: Keyring): AnchorRead {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    return { state: 'invalid', reason: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { state: 'invalid', reason: `${file} is not valid JSON` };
  }
  const parsed = anchorSchema.safeParse(json);
  if (!parsed.success) return { state: 'invalid', reason: `${file} is not an audit head record (${parsed.error.issues[0]?.path.join('.') || 'format'})` };
  const { sig, ...rest } = parsed.data;
  const expected = signature(keyring, rest);
  if (!expected) return { state: 'invalid', reason: `${file} is signed with ${rest.keyId}, which is not an audit key of this keyring` };
  const got = Buffer.from(sig, 'base64');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) return { state: 'invalid', reason: `${file} has a bad signature (the file was edited or forged)` };
  return { state: 'ok', anchor: parsed.data, head: { seq: rest.seq, mac: Buffer.from(rest.mac, 'base64') } };
}

export type AnchorMismatch =
  | { kind: 'truncation'; anchoredSeq: number; endsAt: number; lastSeq: number }
  | { kind: 'rollback'; anchoredSeq: number };

/**
 * Whether the chain in the database still contains the anchored head. Rows written after a cut
 * (the server, or this very CLI run, appends) do not hide it: seq is AUTOINCREMENT, so the
 * anchored row stays missing and the chain it belonged to still ends below it.
 */
export function checkAnchor(audit: AuditLog, anchored: ChainHead): AnchorMismatch | undefined {
  // A head that retention has pruned since is vouched for by the signed checkpoint instead.
  const cp = audit.checkpoint();
  if (cp.state === 'ok' && anchored.seq <= cp.head.seq) {
    if (anchored.seq === cp.head.seq && !(cp.head.mac.length === anchored.mac.length && timingSafeEqual(cp.head.mac, anchored.mac))) return { kind: 'rollback', anchoredSeq: anchored.seq };
    return undefined;
  }
  const endsAt = audit.lastSeqAtOrBelow(anchored.seq);
  if (endsAt < anchored.seq) return { kind: 'truncation', anchoredSeq: anchored.seq, endsAt, lastSeq: audit.head()?.seq ?? 0 };
  const mac = audit.macAt(anchored.seq) as Buffer;
  if (mac.length !== anchored.mac.length || !timingSafeEqual(mac, anchored.mac)) return { kind: 'rollback', anchoredSeq: anchored.seq };
  return undefined;
}

export function describeMismatch(m: AnchorMismatch): string {
  if (m.kind === 'rollback') return `rollback: row ${m.anchoredSeq} differs from the anchored one (the log was replaced by an older or rewritten chain)`;
  const later = m.lastSeq > m.anchoredSeq ? `; rows up to ${m.lastSeq} were appended after the cut` : '';
  return `truncation: the anchor vouches for row ${m.anchoredSeq} but the anchored chain ends at row ${m.endsAt} (${m.anchoredSeq - m.endsAt} newest rows deleted)${later}`;
}

export interface AuditAnchorOptions {
  dataDir: string;
  audit: AuditLog;
  keyring: Keyring;
  now: () => number;
  log: Logger;
  /** How often to look whether the head moved; 5 s by default. */
  intervalMs?: number;
  /** Makes rows up to the head durable before the anchor names them; the WAL fsync by default. */
  syncDatabase?: () => void;
  /** The same for the timer, off the event loop; the WAL fdatasync on the thread pool by default. */
  syncDatabaseAsync?: () => Promise<void>;
}

/**
 * Keeps data/audit-head.json current: at start, every `intervalMs` while the head moves, and at
 * stop. It only ever moves the anchor forward along the same chain: if the rows it anchored are
 * gone or different, it keeps the old file as evidence for `audit verify` and logs an error.
 */
export class AuditAnchor {
  private readonly file: string;
  private timer: NodeJS.Timeout | undefined;
  private anchored: ChainHead | undefined;
  private refused = false;
  private ticking = false;

  constructor(private readonly opts: AuditAnchorOptions) {
    this.file = anchorPath(opts.dataDir);
  }

  start(): void {
    const read = readAnchor(this.file, this.opts.keyring);
    if (read.state === 'invalid') {
      this.refuse(`the audit anchor is not trustworthy: ${read.reason}`);
    } else if (read.state === 'ok') {
      const mismatch = checkAnchor(this.opts.audit, read.head);
      if (mismatch) this.refuse(`the audit log no longer contains its anchored head: ${describeMismatch(mismatch)}`);
      else this.anchored = read.head;
    }
    this.writeNow();
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs ?? 5000);
    this.timer.unref();
  }

  /**
   * Anchors the current head if it moved. Also the seam for the backup status writer, so the
   * backup stream carries a copy of the anchor that outlives the data directory.
   */
  writeNow(): AnchorRecord | undefined {
    const head = this.movedHead();
    if (!head) return undefined;
    try {
      // Group commit syncs the WAL after COMMIT: never vouch for a row a power cut could still take.
      (this.opts.syncDatabase ?? (() => syncWal(this.opts.dataDir)))();
      const rec = signAnchor(this.opts.keyring, head, new Date(this.opts.now()));
      writeFileAtomic(this.file, `${JSON.stringify(rec)}\n`, 0o600);
      this.anchored = head;
      return rec;
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message, file: this.file }, 'could not write the audit anchor; will retry');
      return undefined;
    }
  }

  /**
   * The timer's version of writeNow: the syncs run on the thread pool, because an fdatasync on
   * the event loop during a registration rush held every request back for as long as the disk took.
   */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    const head = this.movedHead();
    if (!head) return;
    this.ticking = true;
    try {
      await (this.opts.syncDatabaseAsync ?? (() => syncWalAsync(this.opts.dataDir)))();
      const rec = signAnchor(this.opts.keyring, head, new Date(this.opts.now()));
      await writeFileAtomicAsync(this.file, `${JSON.stringify(rec)}\n`);
      this.anchored = head;
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message, file: this.file }, 'could not write the audit anchor; will retry');
    } finally {
      this.ticking = false;
    }
  }

  /** The head when it moved past the anchored one along the same chain; undefined otherwise. */
  private movedHead(): ChainHead | undefined {
    if (this.refused) return undefined;
    // Runs from a timer too: any failure is logged and retried at the next tick, never thrown.
    try {
      const head = this.opts.audit.head();
      if (!head || (this.anchored?.seq === head.seq && this.anchored.mac.equals(head.mac))) return undefined;
      const mismatch = this.anchored && checkAnchor(this.opts.audit, this.anchored);
      if (mismatch) {
        this.refuse(`the audit log lost rows it had while running: ${describeMismatch(mismatch)}`);
        return undefined;
      }
      return head;
    } catch (e) {
      this.opts.log.error({ err: (e as Error).message, file: this.file }, 'could not read the audit head; will retry');
      return undefined;
    }
  }

  /** Stops the timer and anchors the final head; call before the database closes. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.writeNow();
  }

  private refuse(message: string): void {
    this.refused = true;
    this.opts.log.error({ file: this.file }, `${message}; the anchor is left as it is for \`tessera audit verify\``);
  }
}

function syncWal(dataDir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(`${databasePath(dataDir)}-wal`, 'r');
  } catch (e) {
    // No WAL file: every committed row is in the main file, which a checkpoint has synced.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function syncWalAsync(dataDir: string): Promise<void> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(`${databasePath(dataDir)}-wal`, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** writeFileAtomic with its syncs on the thread pool. */
async function writeFileAtomicAsync(file: string, data: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await fs.promises.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  const dir = await fs.promises.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

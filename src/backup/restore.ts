import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { AuditLog, type AuditContext } from '../audit/service.ts';
import { type DB, DatabaseOpenError, openDatabase, rekeyPragma } from '../db/open.ts';
import type { Keyring } from '../keys/keyring.ts';
import { WalApplier } from './apply.ts';
import { type Catalog, type SegmentEntry, type SnapshotEntry, readCatalog } from './catalog.ts';
import { completeLedgerFile, replayErasureLedger } from './erasure-ledger.ts';
import { ledgerFilePath } from '../privacy/ledger.ts';
import { BackupError, BackupGapError, BackupKeyError, NoSnapshotError, TamperedObjectError, TargetError } from './errors.ts';
import { type Fingerprint, fingerprint } from './fingerprint.ts';
import { type ObjectHeader, type SegmentHeader, type SnapshotHeader, decodeBuffer, readObject } from './object-format.ts';
import { type Progress, silentProgress } from './progress.ts';
import type { BackupTarget } from './targets/target.ts';

export interface RestoreOptions {
  source: BackupTarget;
  /** the current keyring: its active db key is the one the restored database ends up under */
  keyring: Keyring;
  /** copied into <to>/keyring.json so the directory opens with the same master key */
  keyringFile: string;
  to: string;
  /** newest state at or before this time; the newest available when absent */
  at?: Date;
  generation?: string;
  /** replace the database and keyring of a non-empty directory */
  force?: boolean;
  progress?: Progress;
  /** parallel downloads of segments (applied in order regardless) */
  concurrency?: number;
  /** record `backup.restored` in the restored database's audit log (after the fingerprint) */
  audit?: AuditContext;
  /** compute the per-table fingerprint (default true; it reads every row once more) */
  fingerprint?: boolean;
  /** more erasure ledger files to replay (the instance's own, when the keyring came from elsewhere) */
  ledgerFiles?: string[];
}

export interface RestorePosition {
  generation: string;
  snapshotIndex: number;
  /** last segment applied; -1 when only the snapshot was */
  segmentIndex: number;
  walIndex: number;
  frame: number;
}

export interface RestoreResult {
  dir: string;
  dbFile: string;
  source: string;
  snapshot: string;
  segments: number;
  position: RestorePosition;
  /** the point in time the restored data is current at (last object applied) */
  restoredTo: Date;
  bytes: number;
  objects: number;
  durationMs: number;
  /** key id the backup's pages were under; rekeyed to the active db key when different */
  sourceDbKeyId: string;
  rekeyed: boolean;
  /** of the restored data, before the erasure ledger replay and the audit entry (unless disabled) */
  fingerprint?: Fingerprint;
  erasuresReplayed: number;
}

const DATA_FILES = ['tessera.db', 'tessera.db-wal', 'tessera.db-shm', 'keyring.json'];

/** Newest snapshot at or before `at` (across generations unless one is named). */
export function chooseSnapshot(cat: Catalog, label: string, at?: Date, generation?: string): { snap: SnapshotEntry; segments: SegmentEntry[] } {
  const gens = generation ? cat.generations.filter((g) => g.id === generation) : cat.generations;
  if (generation && gens.length === 0) throw new NoSnapshotError(`generation ${generation} is not in ${label}`);
  const snaps = gens.flatMap((g) => g.snapshots);
  if (snaps.length === 0) throw new NoSnapshotError(`no snapshot in ${label}${generation ? ` for generation ${generation}` : ''}: nothing to restore`);
  const limit = at?.getTime() ?? Infinity;
  let best: SnapshotEntry | undefined;
  for (const s of snaps) {
    if (s.time > limit) continue;
    if (!best || s.time > best.time || (s.time === best.time && (s.generation > best.generation || (s.generation === best.generation && s.index > best.index)))) best = s;
  }
  if (!best) {
    const oldest = snaps.reduce((a, b) => (b.time < a.time ? b : a));
    throw new NoSnapshotError(`no snapshot at or before ${at?.toISOString()} in ${label} (the oldest is from ${new Date(oldest.time).toISOString()})`);
  }
  const gen = cat.generations.find((g) => g.id === best.generation);
  const segments = (gen?.segments ?? []).filter((s) => s.index >= best.nextSegment && s.time <= limit);
  let expected = best.nextSegment;
  for (const s of segments) {
    if (s.index !== expected) {
      throw new BackupGapError(`segment ${expected} of generation ${best.generation} is missing from ${label} (the next one present is ${s.key}); restore to an earlier --at or choose another generation`);
    }
    expected++;
  }
  return { snap: best, segments };
}

/**
 * A restore should survive a dropped connection: network trouble is retried with back-off
 * (0.5 s, then 1 s); a missing object, a refused key or a missing bucket is final at once.
 */
async function withRetries<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const retryable = e instanceof TargetError && (e.kind === 'unreachable' || e.kind === 'other');
      if (!retryable || i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 500 * 2 ** (i - 1)));
    }
  }
}

async function readAll(src: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of src) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

function isEmptyDir(dir: string): boolean {
  return !fs.existsSync(dir) || fs.readdirSync(dir).length === 0;
}

/**
 * Rebuilds a data directory from a backup: newest snapshot at or before the time, its segments in
 * order up to that time, PRAGMA integrity_check, rekey to the current database key when the backup
 * was made under an older one, then the keyring beside it. Everything is built in a temp folder
 * inside `to` and moved into place only when it all held; on failure `to` is left as it was.
 */
export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const progress = opts.progress ?? silentProgress;
  const to = path.resolve(opts.to);
  if (!isEmptyDir(to) && !opts.force) throw new BackupError(`${to} is not empty: use --force to replace its database and keyring`);
  const cat = await withRetries(() => readCatalog(opts.source));
  const { snap, segments } = chooseSnapshot(cat, opts.source.label, opts.at, opts.generation);

  fs.mkdirSync(to, { recursive: true, mode: 0o700 });
  const work = fs.mkdtempSync(path.join(to, '.restore-'));
  const dbFile = path.join(work, 'tessera.db');
  let db: DB | undefined;
  try {
    const totalBytes = snap.size + segments.reduce((n, s) => n + s.size, 0);
    progress.start(totalBytes, 1 + segments.length);

    const fd = fs.openSync(dbFile, 'w+', 0o600);
    const applier = new WalApplier(fd);
    let snapHeader: SnapshotHeader;
    try {
      snapHeader = await restoreSnapshot(opts, snap, fd, applier, progress);
      const conc = Math.max(1, opts.concurrency ?? 8);
      const downloads: Promise<Buffer>[] = [];
      const fetchOne = (i: number) => {
        const s = segments[i] as SegmentEntry;
        downloads[i] = withRetries(() => opts.source.get(s.key).then(readAll));
        // Settled later in order; a rejection must not count as unhandled meanwhile.
        downloads[i].catch(() => undefined);
      };
      for (let i = 0; i < Math.min(conc, segments.length); i++) fetchOne(i);
      for (let i = 0; i < segments.length; i++) {
        const s = segments[i] as SegmentEntry;
        const bytes = await (downloads[i] as Promise<Buffer>);
        if (i + conc < segments.length) fetchOne(i + conc);
        const { header, payload } = await decodeBuffer(bytes, { name: s.key, keys: opts.keyring });
        if (header.kind !== 'segment') throw new TamperedObjectError(s.key, 'not a segment');
        checkKey(s.key, header, snapHeader);
        applier.segment(s.key, header as SegmentHeader, payload);
        progress.advance(bytes.length, 1);
      }
      applier.finish();
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    progress.done();

    const srcKey = opts.keyring.byId(snapHeader.dbKeyId);
    if (!srcKey) throw new BackupKeyError(`database key ${snapHeader.dbKeyId} needed by ${snap.key} is not in the keyring`);
    try {
      db = openDatabase(dbFile, { key: srcKey.key });
    } catch (e) {
      if (e instanceof DatabaseOpenError) throw new BackupKeyError(`the restored database does not open with ${snapHeader.dbKeyId}: the keyring does not match this backup`);
      throw e;
    }
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new BackupError(`integrity_check failed on the restored database: ${String(integrity)}`);
    const active = opts.keyring.active('db');
    let rekeyed = false;
    if (active.id !== snapHeader.dbKeyId) {
      // SQLite3MC cannot rekey in WAL mode without risk: leave it first (DESIGN §1).
      db.pragma('journal_mode = DELETE');
      db.pragma(rekeyPragma(active.key));
      db.close();
      db = openDatabase(dbFile, { key: active.key });
      rekeyed = true;
    }
    const fp = opts.fingerprint === false ? undefined : fingerprint(db);
    const toLedger = ledgerFilePath(path.join(to, 'keyring.json'));
    const ledger = await replayErasureLedger(db, {
      keyring: opts.keyring,
      files: [...new Set([ledgerFilePath(opts.keyringFile), toLedger, ...(opts.ledgerFiles ?? [])])],
      source: opts.source,
      audit: opts.audit ? { log: new AuditLog(db, opts.keyring), ctx: opts.audit } : undefined,
    });
    const pos = applier.position();
    const lastSeg = segments.at(-1);
    const restoredTo = new Date(lastSeg ? lastSeg.time : snap.time);
    if (opts.audit) {
      new AuditLog(db, opts.keyring).record(opts.audit, 'backup.restored', { type: 'backup', id: snap.key }, 'success', {
        source: opts.source.label,
        generation: snap.generation,
        segments: segments.length,
        restoredTo: restoredTo.toISOString(),
        rekeyed,
      });
    }
    db.close();
    db = undefined;

    for (const f of DATA_FILES) fs.rmSync(path.join(to, f), { force: true });
    fs.renameSync(dbFile, path.join(to, 'tessera.db'));
    const ring = fs.readFileSync(opts.keyringFile);
    const ringTmp = path.join(work, 'keyring.json');
    fs.writeFileSync(ringTmp, ring, { mode: 0o600 });
    fs.renameSync(ringTmp, path.join(to, 'keyring.json'));
    // The restored directory carries the whole ledger, so its next start replays it too.
    completeLedgerFile(toLedger, opts.keyring, ledger.entries);
    return {
      dir: to,
      dbFile: path.join(to, 'tessera.db'),
      source: opts.source.label,
      snapshot: snap.key,
      segments: segments.length,
      position: { generation: snap.generation, snapshotIndex: snap.index, segmentIndex: pos.lastSegment, walIndex: pos.walIndex, frame: pos.frame },
      restoredTo,
      bytes: totalBytes,
      objects: 1 + segments.length,
      durationMs: Date.now() - started,
      sourceDbKeyId: snapHeader.dbKeyId,
      rekeyed,
      fingerprint: fp,
      erasuresReplayed: ledger.replayed,
    };
  } finally {
    if (db?.open) db.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A generation never changes database key; a segment claiming another one is not ours. */
function checkKey(name: string, h: ObjectHeader, snap: SnapshotHeader): void {
  if (h.generation !== snap.generation || h.dbKeyId !== snap.dbKeyId || h.pageSize !== snap.pageSize) {
    throw new TamperedObjectError(name, 'does not belong to the same generation and database key as its snapshot');
  }
}

/** Streams the snapshot: the database image straight into the file, the WAL part into memory. */
async function restoreSnapshot(opts: RestoreOptions, snap: SnapshotEntry, fd: number, applier: WalApplier, progress: Progress): Promise<SnapshotHeader> {
  let header: SnapshotHeader | undefined;
  let written = 0;
  const wal: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      try {
        const h = header as SnapshotHeader;
        let c = chunk;
        if (written < h.dbBytes) {
          const n = Math.min(c.length, h.dbBytes - written);
          fs.writeSync(fd, c, 0, n, written);
          written += n;
          c = c.subarray(n);
        }
        if (c.length) wal.push(Buffer.from(c));
        done();
      } catch (e) {
        done(e as Error);
      }
    },
  });
  async function* counting(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const c of src) {
      progress.advance(c.length);
      yield c;
    }
  }
  const h = await readObject(counting(await opts.source.get(snap.key)), sink, {
    name: snap.key,
    keys: opts.keyring,
    onHeader: (hd) => {
      if (hd.kind !== 'snapshot') throw new TamperedObjectError(snap.key, 'not a snapshot');
      header = hd;
    },
  });
  if (h.kind !== 'snapshot') throw new TamperedObjectError(snap.key, 'not a snapshot');
  if (written !== h.dbBytes) throw new TamperedObjectError(snap.key, 'database image is short');
  applier.snapshot(snap.key, h, Buffer.concat(wal));
  progress.advance(0, 1);
  return h;
}

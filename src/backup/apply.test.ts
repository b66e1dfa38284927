import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp.ts';
import { openDatabase } from '../db/open.ts';
import { WalApplier } from './apply.ts';
import { TamperedObjectError } from './errors.ts';
import type { SegmentHeader, SnapshotHeader } from './object-format.ts';
import { WAL_HEADER_SIZE, checkFrames, compactFrames, frameOffset, frameSize, parseWalHeader, readShmHeader } from './wal.ts';

const dir = tempDir('tessera-apply-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A database whose WAL rewrites the same pages over many commits, and a copy of its file before them. */
function busyWal() {
  const file = path.join(dir, `${randomBytes(4).toString('hex')}.db`);
  const key = randomBytes(32);
  const db = openDatabase(file, { key, create: true });
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  db.pragma('wal_checkpoint(TRUNCATE)');
  const base = path.join(dir, `${path.basename(file)}.base`);
  fs.copyFileSync(file, base);
  for (let i = 0; i < 40; i++) db.prepare('INSERT INTO t (v) VALUES (?)').run(randomBytes(300).toString('hex'));
  db.prepare('UPDATE t SET v = ? WHERE id % 3 = 0').run('changed');
  const shm = readShmHeader(`${file}-shm`);
  const wal = fs.readFileSync(`${file}-wal`);
  const hdr = parseWalHeader(wal);
  if (typeof hdr === 'string') throw new Error(hdr);
  const frames = wal.subarray(WAL_HEADER_SIZE, frameOffset(hdr.pageSize, shm.mxFrame + 1));
  const chain = checkFrames(frames, hdr, hdr.checksum);
  const rows = db.prepare('SELECT id, v FROM t ORDER BY id').all();
  return { db, key, base, hdr, wal, frames, mxFrame: shm.mxFrame, chainEnd: chain.checksum, rows };
}

function headers(w: ReturnType<typeof busyWal>, frames: number) {
  const common = { generation: 'g', time: 0, dbKeyId: 'db-1', pageSize: w.hdr.pageSize, walIndex: 0, walSalt: w.hdr.salt.toString('hex') };
  const snap = { ...common, kind: 'snapshot', index: 0, nextSegment: 0, frameEnd: 0 } as unknown as SnapshotHeader;
  const seg = { ...common, kind: 'segment', index: 0, frameStart: 1, frameEnd: w.mxFrame, checksumBefore: [...w.hdr.checksum], compacted: true, checksumAfter: [...w.chainEnd], plainBytes: WAL_HEADER_SIZE + frames } as unknown as SegmentHeader;
  return { snap, seg };
}

describe('compacted segments', () => {
  it('keep only the last image of each page, and restore the same rows as every frame would', () => {
    const w = busyWal();
    const { pieces, frames } = compactFrames([w.frames.subarray(0, frameSize(w.hdr.pageSize) * 7), w.frames.subarray(frameSize(w.hdr.pageSize) * 7)], w.hdr.pageSize);
    expect(frames).toBeLessThan(w.mxFrame / 2);
    // Views of the captured buffers, nothing copied.
    for (const p of pieces) expect(p.buffer).toBe(w.frames.buffer);
    const payload = Buffer.concat([w.hdr.raw, ...pieces]);
    const out = path.join(dir, 'restored.db');
    fs.copyFileSync(w.base, out);
    const fd = fs.openSync(out, 'r+');
    const a = new WalApplier(fd);
    const { snap, seg } = headers(w, payload.length - WAL_HEADER_SIZE);
    a.snapshot('snap', snap, Buffer.alloc(0));
    a.segment('seg', seg, payload);
    a.finish();
    fs.closeSync(fd);
    expect(a.position()).toMatchObject({ frame: w.mxFrame, lastSegment: 0 });
    const restored = openDatabase(out, { key: w.key });
    expect(restored.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(restored.prepare('SELECT id, v FROM t ORDER BY id').all()).toEqual(w.rows);
    restored.close();
    w.db.close();
  });

  it('refuse a page twice, a run that does not end on a commit, or more frames than the range', () => {
    const w = busyWal();
    const size = frameSize(w.hdr.pageSize);
    const { pieces } = compactFrames([w.frames], w.hdr.pageSize);
    const kept = Buffer.concat(pieces);
    const check = (frames: Buffer, patch: Partial<SegmentHeader> = {}) => {
      const { seg } = headers(w, frames.length);
      return () => WalApplier.checkAlone('seg', { ...seg, ...patch }, Buffer.concat([w.hdr.raw, frames]));
    };
    expect(check(kept)).not.toThrow();
    expect(check(Buffer.concat([kept.subarray(0, size), kept]))).toThrow(TamperedObjectError);
    const noCommit = Buffer.from(kept);
    noCommit.writeUInt32BE(0, noCommit.length - size + 4);
    expect(check(noCommit)).toThrow(/does not end on a commit/);
    expect(check(kept, { frameEnd: 1 })).toThrow(/not a compacted run/);
    expect(check(kept, { checksumAfter: undefined })).toThrow(/not a compacted run/);
    w.db.close();
  });
});

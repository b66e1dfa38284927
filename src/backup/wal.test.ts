import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp.ts';
import { openDatabase } from '../db/open.ts';
import { WAL_HEADER_SIZE, checkFrames, committedFrames, frameOffset, parseWalHeader, readShmHeader, salt1 } from './wal.ts';

const dir = tempDir('tessera-wal-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('WAL and WAL-index of an encrypted database', () => {
  it('reads the committed end from the WAL-index and verifies the frames without the key', () => {
    const file = path.join(dir, 'a.db');
    const db = openDatabase(file, { key: randomBytes(32), create: true });
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (x)');
    for (let i = 0; i < 5; i++) db.prepare('INSERT INTO t VALUES (?)').run(randomBytes(50));
    const shm = readShmHeader(`${file}-shm`);
    const wal = fs.readFileSync(`${file}-wal`);
    const hdr = parseWalHeader(wal);
    if (typeof hdr === 'string') throw new Error(hdr);
    expect(hdr.salt.equals(shm.salt)).toBe(true);
    expect(shm.pageSize).toBe(hdr.pageSize);
    const frames = wal.subarray(WAL_HEADER_SIZE, frameOffset(hdr.pageSize, shm.mxFrame + 1));
    const check = checkFrames(frames, hdr, hdr.checksum);
    expect(check.frames).toBe(shm.mxFrame);
    expect(check.lastCommit).toBe(shm.mxFrame);
    expect(check.commitPages).toBe(shm.nPage);

    // What the WAL-index counts as committed is taken on its word: the running checksum comes
    // from the last frame's header and must be the one the full chain computes.
    expect(committedFrames(frames, hdr)).toEqual({ checksum: check.checksum, commitPages: shm.nPage });
    const lastTwo = frames.subarray(frameOffset(hdr.pageSize, shm.mxFrame - 1) - WAL_HEADER_SIZE);
    expect(committedFrames(lastTwo, hdr)).toEqual({ checksum: check.checksum, commitPages: shm.nPage });
    // A frame of another WAL incarnation, a run that does not end on a commit, a torn frame.
    const otherSalt = Buffer.from(frames);
    const saltAt = frameOffset(hdr.pageSize, 2) - WAL_HEADER_SIZE + 8;
    otherSalt[saltAt] = (otherSalt[saltAt] as number) ^ 1;
    expect(committedFrames(otherSalt, hdr)).toMatch(/carries another salt/);
    const noCommit = Buffer.from(frames);
    noCommit.writeUInt32BE(0, frameOffset(hdr.pageSize, shm.mxFrame) - WAL_HEADER_SIZE + 4);
    expect(committedFrames(noCommit, hdr)).toBe('the last frame is not a commit');
    expect(committedFrames(frames.subarray(0, frames.length - 10), hdr)).toBe('not a whole number of frames');

    // One flipped bit in a page image breaks the chain from that frame on.
    const bad = Buffer.from(frames);
    const f = Math.floor(shm.mxFrame / 2);
    const at = f * (24 + hdr.pageSize) + 24 + 100;
    bad[at] = (bad[at] as number) ^ 1;
    expect(checkFrames(bad, hdr, hdr.checksum).frames).toBe(f);

    // A checkpoint followed by a write restarts the WAL: salt-1 grows by exactly one.
    db.pragma('wal_checkpoint(PASSIVE)');
    db.prepare('INSERT INTO t VALUES (1)').run();
    const after = readShmHeader(`${file}-shm`);
    expect(salt1(after.salt)).toBe((salt1(shm.salt) + 1) >>> 0);
    expect(after.mxFrame).toBeGreaterThan(0);
    expect(after.mxFrame).toBeLessThan(shm.mxFrame);
    db.close();
  });

  it('rejects a damaged WAL header', () => {
    const h = Buffer.alloc(32);
    expect(parseWalHeader(h)).toBe('bad WAL magic');
    h.writeUInt32BE(0x377f0682, 0);
    h.writeUInt32BE(3007000, 4);
    h.writeUInt32BE(4096, 8);
    expect(parseWalHeader(h)).toBe('WAL header checksum mismatch');
  });
});

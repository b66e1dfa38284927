import fs from 'node:fs';
import { BackupGapError, TamperedObjectError } from './errors.ts';
import type { SegmentHeader, SnapshotHeader } from './object-format.ts';
import { type Checksum, type WalHeader, WAL_HEADER_SIZE, checkFrames, frameAt, parseWalHeader, salt1 } from './wal.ts';

/**
 * Replays WAL frames from a snapshot and its segments onto a database file, in order, the way a
 * checkpoint would: each frame's page image goes to its page's place in the file, and the file
 * ends at the size the last commit recorded. Page images are SQLCipher-encrypted and carry their
 * own IV and MAC, so the bytes from the WAL are exactly what belongs in the database file.
 *
 * Before any page is written, the frames are checked like SQLite's recovery does (salt, checksum
 * chain, ending on a commit) and the segment must continue exactly where the previous one ended:
 * same WAL incarnation and next frame, or the next incarnation (salt-1 + 1) from frame 1.
 * Without a file descriptor it only checks (used by `tessera backup verify`).
 */
export class WalApplier {
  private walIndex = 0;
  private hdr: WalHeader | undefined;
  private nextFrame = 1;
  private checksum: Checksum = [0, 0];
  private pages = 0;
  private lastSegment = -1;
  private nextSegment = 0;

  constructor(private readonly fd: number | undefined) {}

  /** Where the restored database stands: incarnation and last frame applied. */
  position(): { walIndex: number; frame: number; lastSegment: number } {
    return { walIndex: this.walIndex, frame: this.nextFrame - 1, lastSegment: this.lastSegment };
  }

  snapshot(name: string, h: SnapshotHeader, wal: Buffer): void {
    this.walIndex = h.walIndex;
    this.nextSegment = h.nextSegment;
    if (h.frameEnd === 0) {
      if (wal.length !== 0) throw new TamperedObjectError(name, 'WAL bytes present for an empty WAL');
      return;
    }
    const hdr = this.header(name, wal, h.walSalt, h.pageSize);
    this.hdr = hdr;
    this.checksum = hdr.checksum;
    this.applyFrames(name, wal.subarray(WAL_HEADER_SIZE), 1, h.frameEnd);
  }

  segment(name: string, h: SegmentHeader, payload: Buffer): void {
    if (h.index !== this.nextSegment) throw new BackupGapError(`missing segment: expected segment ${this.nextSegment} of generation ${h.generation}, found ${name}`);
    const hdr = this.header(name, payload, h.walSalt, h.pageSize);
    const continues = h.walIndex === this.walIndex && h.frameStart === this.nextFrame && (this.hdr === undefined || this.hdr.salt.equals(hdr.salt));
    const nextIncarnation =
      h.walIndex === this.walIndex + 1 && h.frameStart === 1 && this.hdr !== undefined && salt1(hdr.salt) === ((salt1(this.hdr.salt) + 1) >>> 0);
    if (!continues && !nextIncarnation) {
      throw new BackupGapError(`${name} does not continue the WAL where the previous object ended (incarnation ${this.walIndex}, frame ${this.nextFrame}): a segment is missing`);
    }
    if (nextIncarnation) {
      this.walIndex = h.walIndex;
      this.nextFrame = 1;
    }
    if (this.hdr === undefined || nextIncarnation) this.hdr = hdr;
    const before: Checksum = h.frameStart === 1 ? hdr.checksum : this.checksum;
    if (before[0] !== h.checksumBefore[0] || before[1] !== h.checksumBefore[1]) {
      throw new BackupGapError(`${name} does not continue the WAL checksum chain: a segment is missing or from another database`);
    }
    this.checksum = before;
    if (h.compacted) this.applyCompacted(name, h, payload.subarray(WAL_HEADER_SIZE));
    else this.applyFrames(name, payload.subarray(WAL_HEADER_SIZE), h.frameStart, h.frameEnd);
    this.lastSegment = h.index;
    this.nextSegment = h.index + 1;
  }

  /** A segment with nothing before it to chain from: its own WAL header and frames must still verify. */
  static checkAlone(name: string, h: SegmentHeader, payload: Buffer): void {
    const a = new WalApplier(undefined);
    a.hdr = a.header(name, payload, h.walSalt, h.pageSize);
    a.checksum = h.frameStart === 1 ? a.hdr.checksum : h.checksumBefore;
    if (h.compacted) a.applyCompacted(name, h, payload.subarray(WAL_HEADER_SIZE));
    else a.applyFrames(name, payload.subarray(WAL_HEADER_SIZE), h.frameStart, h.frameEnd);
  }

  /**
   * The last image of each page of frameStart..frameEnd (see compactFrames). Their checksums do
   * not chain, so each frame is checked for the incarnation's salt, no page twice, the commit
   * last; the chunks' authentication vouches for the bytes, and checksumAfter carries the chain
   * on to the next segment.
   */
  private applyCompacted(name: string, h: SegmentHeader, frames: Buffer): void {
    const hdr = this.hdr as WalHeader;
    const size = 24 + hdr.pageSize;
    const count = frames.length / size;
    const range = h.frameEnd - h.frameStart + 1;
    if (!h.checksumAfter || !Number.isInteger(count) || count < 1 || count > range) throw new TamperedObjectError(name, `frames ${h.frameStart}..${h.frameEnd} are not a compacted run`);
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) {
      const off = i * size;
      const pgno = frames.readUInt32BE(off);
      if (!frames.subarray(off + 8, off + 16).equals(hdr.salt) || pgno === 0 || seen.has(pgno)) throw new TamperedObjectError(name, `frame ${i + 1} of the compacted run does not belong to it`);
      seen.add(pgno);
    }
    const commitPages = frames.readUInt32BE((count - 1) * size + 4);
    if (commitPages === 0) throw new TamperedObjectError(name, 'the compacted run does not end on a commit');
    if (this.fd !== undefined) {
      for (let i = 0; i < count; i++) {
        const { pgno, page } = frameAt(frames, hdr.pageSize, i);
        fs.writeSync(this.fd, page, 0, page.length, (pgno - 1) * hdr.pageSize);
      }
    }
    this.checksum = [h.checksumAfter[0], h.checksumAfter[1]];
    this.pages = commitPages;
    this.nextFrame = h.frameEnd + 1;
  }

  private header(name: string, buf: Buffer, walSalt: string, pageSize: number): WalHeader {
    const hdr = parseWalHeader(buf);
    if (typeof hdr === 'string') throw new TamperedObjectError(name, hdr);
    if (hdr.salt.toString('hex') !== walSalt || hdr.pageSize !== pageSize) throw new TamperedObjectError(name, 'WAL header does not match the object header');
    return hdr;
  }

  private applyFrames(name: string, frames: Buffer, first: number, last: number): void {
    const hdr = this.hdr as WalHeader;
    const want = last - first + 1;
    const check = checkFrames(frames, hdr, this.checksum);
    if (frames.length !== want * (24 + hdr.pageSize) || check.frames !== want || check.lastCommit !== want) {
      throw new TamperedObjectError(name, `frames ${first}..${last} do not verify against the WAL checksum chain`);
    }
    if (this.fd !== undefined) {
      for (let i = 0; i < want; i++) {
        const { pgno, page } = frameAt(frames, hdr.pageSize, i);
        fs.writeSync(this.fd, page, 0, page.length, (pgno - 1) * hdr.pageSize);
      }
    }
    this.checksum = check.checksum;
    this.pages = check.commitPages;
    this.nextFrame = last + 1;
  }

  /** Cuts the file to the size of the last commit applied (a VACUUM may have shrunk it). */
  finish(): void {
    if (this.fd !== undefined && this.pages > 0 && this.hdr) fs.ftruncateSync(this.fd, this.pages * this.hdr.pageSize);
  }
}

import { segmentKey, snapshotKey } from './layout.ts';
import type { HeaderInput } from './object-format.ts';
import type { CapturedSegment, SnapshotJob } from './replicator.ts';
import { WAL_HEADER_SIZE, frameOffset } from './wal.ts';

/** Name and header of the object a captured segment becomes (FORMAT.md lists the fields). */
export function segmentObject(s: CapturedSegment): { key: string; header: HeaderInput } {
  return {
    key: segmentKey(s.generation, s.index, s.time),
    header: {
      kind: 'segment',
      generation: s.generation,
      index: s.index,
      time: s.time,
      dbKeyId: s.dbKeyId,
      pageSize: s.pageSize,
      walIndex: s.walIndex,
      walSalt: s.salt.toString('hex'),
      frameStart: s.frameStart,
      frameEnd: s.frameEnd,
      walOffsetStart: frameOffset(s.pageSize, s.frameStart),
      walOffsetEnd: frameOffset(s.pageSize, s.frameEnd + 1),
      checksumBefore: [s.checksumBefore[0], s.checksumBefore[1]],
      compacted: true,
      checksumAfter: [s.checksumAfter[0], s.checksumAfter[1]],
      plainBytes: s.frames.reduce((n, f) => n + f.length, WAL_HEADER_SIZE),
    },
  };
}

/** Name and header of a snapshot: database image, then WAL header + frames 1..frameEnd. */
export function snapshotObject(job: SnapshotJob): { key: string; header: HeaderInput } {
  const hdr = job.frameEnd > 0 ? job.wal.subarray(0, WAL_HEADER_SIZE) : undefined;
  return {
    key: snapshotKey(job.generation, job.index, job.time, job.nextSegment),
    header: {
      kind: 'snapshot',
      generation: job.generation,
      index: job.index,
      time: job.time,
      dbKeyId: job.dbKeyId,
      pageSize: job.pageSize,
      walIndex: job.walIndex,
      walSalt: job.salt.toString('hex'),
      frameStart: 1,
      frameEnd: job.frameEnd,
      walOffsetStart: WAL_HEADER_SIZE,
      walOffsetEnd: job.frameEnd > 0 ? frameOffset(job.pageSize, job.frameEnd + 1) : WAL_HEADER_SIZE,
      // The chain starts at the WAL header's own checksum (bytes 24..32).
      checksumBefore: hdr ? [hdr.readUInt32BE(24), hdr.readUInt32BE(28)] : [0, 0],
      plainBytes: job.dbBytes + job.wal.length,
      nextSegment: job.nextSegment,
      dbBytes: job.dbBytes,
      walBytes: job.wal.length,
    },
  };
}

import type { Checksum } from './wal.ts';

/**
 * What the replicator hands the backup service: WAL frames captured for a segment, and the
 * start of a snapshot. The service seals them into objects (objects.ts, object-format.ts).
 */

export interface CapturedSegment {
  generation: string;
  index: number;
  time: number;
  dbKeyId: string;
  pageSize: number;
  walIndex: number;
  salt: Buffer;
  walHeader: Buffer;
  frameStart: number;
  frameEnd: number;
  checksumBefore: Checksum;
  /** the WAL checksum chain value after frameEnd */
  checksumAfter: Checksum;
  /**
   * The last image of each page in frameStart..frameEnd (compactFrames), as views into the
   * captured buffers: joined only by the compressor reading them.
   */
  frames: Buffer[];
}

/** What one capture read: frames (g.frame, mxFrame] of the current incarnation. */
type CapturedRun = Pick<CapturedSegment, 'walHeader' | 'frameStart' | 'frameEnd' | 'checksumBefore'> & { frames: Buffer };

export interface SnapshotJob {
  generation: string;
  index: number;
  time: number;
  nextSegment: number;
  dbKeyId: string;
  pageSize: number;
  walIndex: number;
  salt: Buffer;
  frameEnd: number;
  /** WAL header + frames 1..frameEnd of the current incarnation (empty when frameEnd is 0) */
  wal: Buffer;
  dbFile: string;
  /** bytes of the database file to copy; checkpoints are held off until release() */
  dbBytes: number;
  reason: string;
  /** Call once the database file has been read: our read lock ends and checkpoints resume. */
  release(): void;
}

export interface ReplicatorSink {
  generationStarted(g: { id: string; reason: string; dbKeyId: string; time: number }): void;
  segment(s: CapturedSegment): void;
  snapshot(job: SnapshotJob): void;
}

export interface ReplicatorPosition {
  generation: string;
  walIndex: number;
  frame: number;
  nextSegment: number;
  dbKeyId: string;
}


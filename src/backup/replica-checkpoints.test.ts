import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Faults } from '../db/faults.ts';
import type { DB } from '../db/open.ts';
import { type CapturePosition, type CheckpointHost, ReplicaCheckpoints } from './replica-checkpoints.ts';

const host: CheckpointHost = { position: () => undefined, capturing: () => false, captureMore: () => undefined, readDatabaseFileOnly: () => undefined, closed: () => false };
const position = (): CapturePosition => ({ id: 'g', walIndex: 0, frame: 120, salt: Buffer.alloc(8), complete: false });
/** The replicator's aux connection, as far as the locked checkpoint uses it. */
const aux = (pragma: () => unknown) => ({ pragma }) as unknown as DB;

describe('ReplicaCheckpoints in the locked section', () => {
  it('a checkpoint that finds the disk full raises disk-full and leaves the WAL alone; the next good one clears it', () => {
    const faults = new Faults(Date.now);
    const cp = new ReplicaCheckpoints({ dbFile: '/nonexistent', dbKey: () => Buffer.alloc(32), log: pino({ level: 'silent' }), faults, checkpointWorker: false }, host);
    const g = position();
    const full = aux(() => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    });
    expect(() => cp.runLocked(full, g)).not.toThrow();
    expect(faults.has('disk-full')).toBe(true);
    expect(g.complete).toBe(false);
    expect(cp.counts.locked).toBe(0);
    cp.runLocked(aux(() => [{ busy: 0, log: 120, checkpointed: 120 }]), g);
    expect(faults.has('disk-full')).toBe(false);
    expect(g.complete).toBe(true);
    expect(cp.counts.locked).toBe(1);
  });

  it('without a worker the locked section checkpoints at the normal length', () => {
    const log = pino({ level: 'silent' });
    const without = new ReplicaCheckpoints({ dbFile: '/nonexistent', dbKey: () => Buffer.alloc(32), log, checkpointFrames: 100, checkpointWorker: false }, host);
    expect(without.lockedThreshold()).toBe(100);
    const withHolds = new ReplicaCheckpoints({ dbFile: '/nonexistent', dbKey: () => Buffer.alloc(32), log, checkpointFrames: 100, holdWrites: () => () => undefined }, host);
    expect(withHolds.lockedThreshold()).toBe(3200);
  });
});

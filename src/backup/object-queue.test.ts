import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/support/temp.ts';
import { Faults } from '../db/faults.ts';
import { newGenerationId, segmentKey } from './layout.ts';
import { ObjectQueue } from './object-queue.ts';
import { Spool } from './spool.ts';

const root = tempDir('tessera-object-queue-');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const generation = newGenerationId(Date.UTC(2026, 0, 1));
const key = (i: number) => segmentKey(generation, i, Date.UTC(2026, 0, 1) + i);
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe('ObjectQueue on a full disk', () => {
  it('raises disk-full when the spool cannot be written, and clears it when a spool write succeeds', async () => {
    const spool = new Spool(path.join(root, 'spool'));
    spool.init();
    const faults = new Faults(Date.now);
    // A budget of 0: every object goes to the spool.
    const queue = new ObjectQueue({ spool, shippers: [], log: pino({ level: 'silent' }), faults, memoryBudgetBytes: 0, stored: () => undefined });
    const write = vi.spyOn(spool, 'writeBuffers').mockRejectedValueOnce(enospc());
    await expect(queue.hold(key(0), 'segment', 1, [Buffer.from('x')])).rejects.toThrow('ENOSPC');
    expect(faults.has('disk-full')).toBe(true);
    expect(faults.first()?.message).toMatch(/^the disk is full: the backup spool/);
    // Space again: the next write goes through and the fault clears by itself.
    const item = await queue.hold(key(1), 'segment', 1, [Buffer.from('y')]);
    expect(item.file && fs.readFileSync(item.file, 'utf8')).toBe('y');
    expect(faults.has('disk-full')).toBe(false);
    expect(write).toHaveBeenCalledTimes(2);
  });

  it('another spool error is passed on without raising disk-full', async () => {
    const spool = new Spool(path.join(root, 'spool2'));
    spool.init();
    const faults = new Faults(Date.now);
    const queue = new ObjectQueue({ spool, shippers: [], log: pino({ level: 'silent' }), faults, memoryBudgetBytes: 0, stored: () => undefined });
    vi.spyOn(spool, 'writeBuffers').mockRejectedValueOnce(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }));
    await expect(queue.hold(key(0), 'segment', 1, [Buffer.from('x')])).rejects.toThrow('EACCES');
    expect(faults.has('disk-full')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { CaptureBuffers } from './capture-buffers.ts';

const MiB = 1 << 20;

describe('CaptureBuffers', () => {
  it('hands out shared memory of the asked length, rounded up underneath', () => {
    const pool = new CaptureBuffers(64 * MiB, 4 * MiB);
    const b = pool.take(5 * MiB + 3);
    expect(b.length).toBe(5 * MiB + 3);
    expect(b.byteOffset).toBe(0);
    expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(b.buffer.byteLength).toBe(8 * MiB);
    // Nothing given back yet: a second take is other memory.
    expect(pool.take(1).buffer).not.toBe(b.buffer);
  });

  it('reuses the smallest buffer that fits, and each one once until it comes back', () => {
    const pool = new CaptureBuffers(64 * MiB, MiB);
    const small = pool.take(MiB);
    const big = pool.take(6 * MiB);
    pool.give([big.buffer, small.buffer]);
    expect(pool.kept).toBe(7 * MiB);
    expect(pool.take(MiB / 2).buffer).toBe(small.buffer);
    expect(pool.take(2 * MiB).buffer).toBe(big.buffer);
    expect(pool.kept).toBe(0);
    // Too big for anything kept: new memory.
    pool.give([small.buffer]);
    expect(pool.take(3 * MiB).buffer).not.toBe(small.buffer);
  });

  it('keeps at most keepBytes, ignores memory it did not hand out, and never keeps one buffer twice', () => {
    const pool = new CaptureBuffers(5 * MiB, MiB);
    const a = pool.take(3 * MiB);
    const b = pool.take(3 * MiB);
    pool.give([a.buffer, a.buffer, b.buffer, new ArrayBuffer(16)]);
    expect(pool.kept).toBe(3 * MiB);
    expect(pool.take(MiB).buffer).toBe(a.buffer);
    expect(pool.take(MiB).buffer).not.toBe(b.buffer);
  });
});

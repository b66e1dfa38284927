import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DataKey } from '../keys/keyring.ts';
import { BackupKeyError, TamperedObjectError } from './errors.ts';
import { segmentKey, snapshotKey } from './layout.ts';
import { type HeaderInput, decodeBuffer, encodeBuffer } from './object-format.ts';
import { SegmentSealer } from './segment-sealer.ts';

const key: DataKey = { id: 'backup-1', purpose: 'backup', status: 'active', key: randomBytes(32) };
const keys = { byId: (id: string) => (id === key.id ? key : undefined) };
const T = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

function segmentInput(payloadBytes: number, index = 7): HeaderInput {
  return {
    kind: 'segment', generation: '20250102T030405678Z-0a0b0c0d', index, time: T, dbKeyId: 'db-1', pageSize: 4096, walIndex: 2,
    walSalt: 'aabbccdd00112233', frameStart: 3, frameEnd: 4, walOffsetStart: 32 + 2 * 4120, walOffsetEnd: 32 + 4 * 4120,
    checksumBefore: [1, 2], plainBytes: payloadBytes,
  };
}
const name = segmentKey('20250102T030405678Z-0a0b0c0d', 7, T);

describe('backup object format', () => {
  it('round-trips small and multi-chunk payloads and returns the header', async () => {
    for (const size of [0, 10, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 17]) {
      const payload = randomBytes(size);
      const { bytes } = await encodeBuffer(segmentInput(size), [payload], key);
      const out = await decodeBuffer(bytes, { name, keys });
      expect(out.payload.equals(payload), `size ${size}`).toBe(true);
      expect(out.header).toMatchObject({ kind: 'segment', index: 7, backupKeyId: 'backup-1', dbKeyId: 'db-1', frameStart: 3 });
    }
  });

  it('the seal worker produces the format the stream writer produces, from many pieces', async () => {
    const sealer = new SegmentSealer();
    try {
      for (const size of [0, 5, 1 << 20, 2 * (1 << 20) + 3]) {
        const payload = randomBytes(size);
        const parts = await sealer.seal(segmentInput(size), [payload.subarray(0, 3), payload.subarray(3)], key);
        expect(parts).toHaveLength(1);
        const out = await decodeBuffer(Buffer.concat(parts), { name, keys });
        expect(out.payload.equals(payload), `size ${size}`).toBe(true);
      }
    } finally {
      await sealer.close();
    }
  });

  it('a seal worker that fails takes its segment with it; the next segment gets a fresh worker', async () => {
    const sealer = new SegmentSealer();
    try {
      const payload = randomBytes(5000);
      // Not a backup key: refused before any worker is asked.
      await expect(sealer.seal(segmentInput(5000), [payload], { ...key, purpose: 'db' })).rejects.toThrow(BackupKeyError);
      // A key of the wrong length fails inside the worker.
      await expect(sealer.seal(segmentInput(5000), [payload], { ...key, key: randomBytes(5) })).rejects.toThrow(/key/i);
      const parts = await sealer.seal(segmentInput(5000), [payload], key);
      expect((await decodeBuffer(Buffer.concat(parts), { name, keys })).payload.equals(payload)).toBe(true);
    } finally {
      await sealer.close();
    }
  });

  it('compresses before encrypting (a repetitive payload shrinks)', async () => {
    const payload = Buffer.alloc(512 * 1024, 7);
    const { bytes } = await encodeBuffer(segmentInput(payload.length), [payload], key);
    expect(bytes.length).toBeLessThan(payload.length / 10);
    // Nothing of the plaintext shows: the body is ciphertext.
    expect(bytes.includes(Buffer.alloc(64, 7))).toBe(false);
  });

  it('names the object when any single byte is flipped', async () => {
    const payload = randomBytes(2 * (1 << 20) + 100);
    const { bytes } = await encodeBuffer(segmentInput(payload.length), [payload], key);
    // Header JSON, first chunk's length/nonce/body/tag, the second chunk, the last byte.
    for (const pos of [9, 20, 60, 200, 300, 5000, (1 << 20) + 100, bytes.length - 1]) {
      const bad = Buffer.from(bytes);
      bad[pos] = (bad[pos] as number) ^ 0x01;
      const err = await decodeBuffer(bad, { name, keys }).catch((e: unknown) => e);
      expect(err, `byte ${pos}`).toBeInstanceOf(Error);
      expect((err as Error).message, `byte ${pos}`).toContain(name);
      // A flip in the key-check field reads as a key problem; everything else as damage.
      expect(err instanceof TamperedObjectError || err instanceof BackupKeyError, `byte ${pos}`).toBe(true);
    }
  });

  it('detects truncation, appended bytes and a dropped chunk', async () => {
    const payload = randomBytes(2 * (1 << 20) + 5);
    const { bytes } = await encodeBuffer(segmentInput(payload.length), [payload], key);
    await expect(decodeBuffer(bytes.subarray(0, bytes.length - 40), { name, keys })).rejects.toThrow(TamperedObjectError);
    await expect(decodeBuffer(Buffer.concat([bytes, Buffer.from('x')]), { name, keys })).rejects.toThrow(/after the final chunk/);
    const headerEnd = 14 + bytes.readUInt32BE(10);
    const firstChunk = 5 + 12 + bytes.readUInt32BE(headerEnd) + 16;
    const dropped = Buffer.concat([bytes.subarray(0, headerEnd), bytes.subarray(headerEnd + firstChunk)]);
    await expect(decodeBuffer(dropped, { name, keys })).rejects.toThrow(/fails authentication/);
  });

  it('detects an object stored under another name (swapped or renamed)', async () => {
    const { bytes } = await encodeBuffer(segmentInput(10), [randomBytes(10)], key);
    const other = segmentKey('20250102T030405678Z-0a0b0c0d', 8, T);
    await expect(decodeBuffer(bytes, { name: other, keys })).rejects.toThrow(new RegExp(`${other}.*renamed or swapped`));
    const asSnapshot = snapshotKey('20250102T030405678Z-0a0b0c0d', 7, T, 8);
    await expect(decodeBuffer(bytes, { name: asSnapshot, keys })).rejects.toThrow(/renamed or swapped/);
  });

  it('tells a wrong or missing backup key apart from damage', async () => {
    const { bytes } = await encodeBuffer(segmentInput(10), [randomBytes(10)], key);
    const other: DataKey = { ...key, key: randomBytes(32) };
    await expect(decodeBuffer(bytes, { name, keys: { byId: () => other } })).rejects.toThrow(/^wrong backup key: .* different backup-1/);
    await expect(decodeBuffer(bytes, { name, keys: { byId: () => undefined } })).rejects.toThrow(/backup key backup-1 needed by .* is not in the keyring/);
  });
});

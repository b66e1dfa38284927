import { createCipheriv, randomBytes } from 'node:crypto';

/**
 * The sealed-chunk layer of the backup object format (FORMAT.md): shared by object-format.ts and
 * the seal worker, so it is erasable TypeScript importing only Node.
 */

export const CHUNK = 1 << 20;
export const NONCE = 12;
export const TAG = 16;
/** length (u32) + flags (u8) + nonce, before the ciphertext */
const HEAD = 5 + NONCE;

export function chunkAad(preambleHash: Buffer, index: number, final: boolean): Buffer {
  const aad = Buffer.alloc(32 + 8 + 1);
  preambleHash.copy(aad, 0);
  aad.writeBigUInt64BE(BigInt(index), 32);
  aad[40] = final ? 1 : 0;
  return aad;
}

export const sealedSize = (plainBytes: number) => HEAD + plainBytes + TAG;

/** Seals one chunk into `out` at `at`; returns the offset after it. */
export function sealChunkInto(out: Buffer, at: number, key: Buffer, preambleHash: Buffer, index: number, final: boolean, plain: Buffer): number {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(chunkAad(preambleHash, index, final));
  out.writeUInt32BE(plain.length, at);
  out[at + 4] = final ? 1 : 0;
  nonce.copy(out, at + 5);
  // GCM's ciphertext is as long as the plaintext: it goes straight to its place.
  let p = at + HEAD;
  p += c.update(plain).copy(out, p);
  p += c.final().copy(out, p);
  if (p !== at + HEAD + plain.length) throw new Error('AES-GCM produced an unexpected ciphertext length');
  c.getAuthTag().copy(out, p);
  return p + TAG;
}

export function sealChunk(key: Buffer, preambleHash: Buffer, index: number, final: boolean, plain: Buffer): Buffer {
  const out = Buffer.allocUnsafe(sealedSize(plain.length));
  sealChunkInto(out, 0, key, preambleHash, index, final, plain);
  return out;
}
/** Bytes of a compressed payload of `packedBytes` once sealed as chunks (sealAllInto). */
export function sealedTotal(packedBytes: number): number {
  return packedBytes + Math.max(1, Math.ceil(packedBytes / CHUNK)) * (HEAD + TAG);
}

/** A whole compressed payload as consecutive chunks of at most CHUNK bytes, into `out` from `at`. */
export function sealAllInto(out: Buffer, at: number, key: Buffer, preambleHash: Buffer, packed: Buffer): number {
  const count = Math.max(1, Math.ceil(packed.length / CHUNK));
  for (let i = 0; i < count; i++) {
    const piece = packed.subarray(i * CHUNK, Math.min(packed.length, (i + 1) * CHUNK));
    at = sealChunkInto(out, at, key, preambleHash, i, i === count - 1, piece);
  }
  return at;
}

import { randomBytes, randomInt } from 'node:crypto';

const dashed = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits, so rows written in
 * bursts append to the last page. The creation time can be read back: only for ids that never
 * leave the server (outbox rows), never for ids handed to people (those are UUIDv4).
 */
export function timeOrderedId(nowMs: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = ((b[6] as number) & 0x0f) | 0x70;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  return dashed(b.toString('hex'));
}

/** `length` characters drawn uniformly from `alphabet` by the CSPRNG (randomInt has no modulo bias). */
export function randomCode(alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

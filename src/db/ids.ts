import { randomInt, randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits, so rows written in
 * bursts append to the last page. The creation time can be read back: only for ids that never
 * leave the server (outbox rows), never for ids handed to people (those are UUIDv4).
 *
 * The random part is a UUIDv4's, whose variant bits sit where v7 wants them: randomUUID draws
 * from Node's CSPRNG cache, where randomBytes(16) paid a call into OpenSSL per id (1.4% of a
 * registration's main thread).
 */
export function timeOrderedId(nowMs: number = Date.now()): string {
  const t = nowMs.toString(16).padStart(12, '0');
  // v4: xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx; the time replaces the first 48 bits, 7 the version.
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-7${randomUUID().slice(15)}`;
}

/** `length` characters drawn uniformly from `alphabet` by the CSPRNG (randomInt has no modulo bias). */
export function randomCode(alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

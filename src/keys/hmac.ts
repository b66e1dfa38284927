import { type KeyObject, createSecretKey } from 'node:crypto';

/**
 * HMAC with a raw Buffer key builds a KeyObject on every call; on hot paths (tickets, the audit
 * chain) that showed up as a few per cent of CPU. Keys are long-lived, so build it once per key.
 */
const cache = new WeakMap<Buffer, KeyObject>();

export function hmacKey(key: Buffer): KeyObject {
  let k = cache.get(key);
  if (!k) {
    k = createSecretKey(key);
    cache.set(key, k);
  }
  return k;
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Opaque secrets (session ids, reset and invitation links). The secret goes to the person; only
 * its SHA-256 is stored, so a copy of the database does not hand out live links or sessions.
 * A plain hash is enough because the secrets are random and long (ASVS V7.2.3 wants ≥128 bits).
 */
const MIN_BYTES = 16;

/** `bytes` random bytes from the CSPRNG as unpadded base64url (URL- and cookie-safe). */
export function randomToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < MIN_BYTES || bytes > 1024) {
    throw new RangeError(`token length must be ${MIN_BYTES}..1024 bytes, got ${bytes}`);
  }
  return randomBytes(bytes).toString('base64url');
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Compares without leaking where the first difference is. Lengths are compared openly: the values
 * compared here are fixed-length digests, so the length says nothing secret.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return timingSafeEqual(a, b);
}

import { createHash, randomInt } from 'node:crypto';

/**
 * One-time recovery codes (ASVS "lookup secrets"). Lowercase letters and digits without the ones
 * people confuse when copying from paper: 0/o, 1/l/i.
 */
export const RECOVERY_CODE_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const GROUPS = 6;
const GROUP_LENGTH = 4;

/**
 * ASVS 5.0 V6.5.2 allows a plain hash (no slow, salted password hash) only for lookup secrets of at
 * least 112 bits; 24 characters from 31 symbols give ~118.9 bits. Hence the length: it lets a
 * login compare one SHA-256 per stored code instead of running argon2id ten times.
 */
export const RECOVERY_CODE_BITS = GROUPS * GROUP_LENGTH * Math.log2(RECOVERY_CODE_ALPHABET.length);

function oneCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    // randomInt draws from the CSPRNG without modulo bias.
    for (let i = 0; i < GROUP_LENGTH; i++) group += RECOVERY_CODE_ALPHABET[randomInt(RECOVERY_CODE_ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

/** Codes to show once, like `k7m2-9xqp-4fvd-h3ta-wz8c-n6ry`; distinct within a batch. */
export function generateRecoveryCodes(count = 10): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 100) throw new RangeError(`recovery code count must be 1..100, got ${count}`);
  const codes = new Set<string>();
  while (codes.size < count) codes.add(oneCode());
  return [...codes];
}

/** What a person typed, reduced to the canonical form: lowercase, no spaces or dashes. */
export function normalizeRecoveryCode(input: string): string {
  return input.normalize('NFKC').toLowerCase().replace(/[\s\-\u2010-\u2015\u2212]+/g, '');
}

/** SHA-256 of the normalised code: enough because the codes carry ≥112 bits (see above). */
export function hashRecoveryCode(code: string): Buffer {
  return createHash('sha256').update(normalizeRecoveryCode(code), 'utf8').digest();
}

import { describe, expect, it } from 'vitest';
import {
  generateRecoveryCodes,
  hashRecoveryCode,
  normalizeRecoveryCode,
  RECOVERY_CODE_ALPHABET,
  RECOVERY_CODE_BITS,
} from './recovery-codes.ts';

describe('generateRecoveryCodes', () => {
  it('returns 10 distinct codes in groups of four unambiguous characters', () => {
    const codes = generateRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) {
      expect(code).toMatch(/^[2-9a-hjkmnp-z]{4}(-[2-9a-hjkmnp-z]{4}){5}$/);
      expect(code).not.toMatch(/[01ilo]/);
    }
  });

  it('carries at least 112 bits each, so a plain hash is allowed (ASVS V6.5.2)', () => {
    expect(RECOVERY_CODE_ALPHABET).toHaveLength(31);
    expect(new Set(RECOVERY_CODE_ALPHABET).size).toBe(31);
    expect(RECOVERY_CODE_BITS).toBeGreaterThanOrEqual(112);
    expect(normalizeRecoveryCode(generateRecoveryCodes(1)[0] ?? '')).toHaveLength(24);
  });

  it('uses the whole alphabet, roughly evenly', () => {
    const counts = new Map<string, number>();
    for (const code of generateRecoveryCodes(100)) {
      for (const ch of normalizeRecoveryCode(code)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    // 2,400 characters over 31 symbols: about 77 each; a missing or hugely favoured symbol is a bug.
    expect(counts.size).toBe(31);
    for (const n of counts.values()) expect(n).toBeGreaterThan(30);
    for (const n of counts.values()) expect(n).toBeLessThan(140);
  });

  it('honours the count and refuses nonsense', () => {
    expect(generateRecoveryCodes(3)).toHaveLength(3);
    expect(() => generateRecoveryCodes(0)).toThrow(RangeError);
    expect(() => generateRecoveryCodes(1.5)).toThrow(RangeError);
  });
});

describe('normalizeRecoveryCode / hashRecoveryCode', () => {
  it('lowercases and drops spaces and dashes', () => {
    expect(normalizeRecoveryCode('K7M2 9XQP-4FVD')).toBe('k7m29xqp4fvd');
    expect(normalizeRecoveryCode(' k7m2–9xqp \t4fvd ')).toBe('k7m29xqp4fvd');
  });

  it('makes what a person types match the issued code', () => {
    const [code = ''] = generateRecoveryCodes(1);
    const typed = code.toUpperCase().replaceAll('-', ' ');
    expect(hashRecoveryCode(typed).equals(hashRecoveryCode(code))).toBe(true);
    expect(hashRecoveryCode('K7M2 9XQP-4FVD').equals(hashRecoveryCode('k7m2-9xqp-4fvd'))).toBe(true);
  });

  it('is SHA-256 of the normalised code and tells different codes apart', () => {
    const h = hashRecoveryCode('k7m2-9xqp-4fvd');
    expect(h).toHaveLength(32);
    // printf %s k7m29xqp4fvd | sha256sum
    expect(h.toString('hex')).toBe('a8555f02fbe4a5cbc12be327dedee1e4160871845c698fe4c7afa3e1cf32b8a1');
    expect(hashRecoveryCode('k7m2-9xqp-4fve').equals(h)).toBe(false);
  });
});

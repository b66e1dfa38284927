import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hashToken, randomToken } from './token.ts';

describe('randomToken', () => {
  it('is 32 random bytes as unpadded base64url by default', () => {
    const t = randomToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t, 'base64url')).toHaveLength(32);
  });

  it('honours the length and never repeats', () => {
    expect(Buffer.from(randomToken(16), 'base64url')).toHaveLength(16);
    expect(randomToken(48)).toMatch(/^[A-Za-z0-9_-]{64}$/);
    const seen = new Set(Array.from({ length: 1000 }, () => randomToken()));
    expect(seen.size).toBe(1000);
  });

  it('refuses lengths under 128 bits', () => {
    expect(() => randomToken(15)).toThrow(RangeError);
    expect(() => randomToken(0)).toThrow(RangeError);
    expect(() => randomToken(20.5)).toThrow(RangeError);
  });
});

describe('hashToken', () => {
  it('is the SHA-256 of the token text', () => {
    // printf %s abc | sha256sum
    expect(hashToken('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const t = randomToken();
    expect(hashToken(t).equals(hashToken(t))).toBe(true);
    expect(hashToken(t).equals(hashToken(randomToken()))).toBe(false);
  });
});

describe('constantTimeEqual', () => {
  it('compares contents, including different lengths', () => {
    const a = hashToken('one');
    expect(constantTimeEqual(a, Buffer.from(a))).toBe(true);
    expect(constantTimeEqual(a, hashToken('two'))).toBe(false);
    const flipped = Buffer.from(a);
    flipped[31] = (flipped[31] ?? 0) ^ 1;
    expect(constantTimeEqual(a, flipped)).toBe(false);
    expect(constantTimeEqual(a, a.subarray(0, 31))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
  });
});

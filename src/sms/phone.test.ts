import { describe, expect, it } from 'vitest';
import { normalizePhone } from './phone.ts';

describe('normalizePhone', () => {
  it('accepts international numbers written with spaces, dashes and parentheses', () => {
    expect(normalizePhone('+14155550123')).toBe('+14155550123');
    expect(normalizePhone(' +1 (415) 555-0123 ')).toBe('+14155550123');
    expect(normalizePhone('+44 7700 900456')).toBe('+447700900456');
    expect(normalizePhone('+41\u00a044\u2011668\u201318\u00a000')).toBe('+41446681800');
    // Full-width input from CJK keyboards.
    expect(normalizePhone('＋８１ ３-１２３４-５６７８')).toBe('+81312345678');
  });

  it('does not guess a country: no leading + means no number', () => {
    expect(normalizePhone('4155550123')).toBeNull();
    expect(normalizePhone('0041 44 668 18 00')).toBeNull();
    expect(normalizePhone('011 44 7700 900456')).toBeNull();
  });

  it('refuses a trunk zero in parentheses instead of keeping it', () => {
    expect(normalizePhone('+41 (0)44 668 18 00')).toBeNull();
    expect(normalizePhone('+44 (0) 7700 900456')).toBeNull();
  });

  it('refuses what is not E.164', () => {
    for (const bad of ['', '+', '+0441234567', '+123456', '+1234567890123456', '+1 415 555 0123 ext 2', '+1.415.555.0123', 'tel:+14155550123', '+1415555O123']) {
      expect(normalizePhone(bad), bad).toBeNull();
    }
    expect(normalizePhone('+1234567')).toBe('+1234567');
    expect(normalizePhone('+123456789012345')).toBe('+123456789012345');
  });
});

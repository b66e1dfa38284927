import { describe, expect, it } from 'vitest';
import { randomCode, timeOrderedId } from './ids.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-([0-9a-f])[0-9a-f]{3}-[0-9a-f]{12}$/;

describe('ids', () => {
  it('timeOrderedId is a UUIDv7 that sorts by creation time', () => {
    const a = timeOrderedId(1_700_000_000_000);
    const b = timeOrderedId(1_700_000_000_001);
    expect(a).toMatch(UUID);
    expect(UUID.exec(a)?.[1]).toBe('7');
    expect('89ab').toContain(UUID.exec(a)?.[2]);
    expect(a.slice(0, 13).replace('-', '')).toBe((1_700_000_000_000).toString(16).padStart(12, '0'));
    expect(a < b).toBe(true);
    const many = new Set(Array.from({ length: 2000 }, () => timeOrderedId(1_700_000_000_000)));
    expect(many.size).toBe(2000);
  });

  it('randomCode draws every character independently from the whole alphabet', () => {
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    const codes = Array.from({ length: 2000 }, () => randomCode(alphabet, 8));
    for (const c of codes) expect(c).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    // 40 random bits each: 2000 codes all differ, and consecutive codes share no prefix by design.
    expect(new Set(codes).size).toBe(2000);
    for (let i = 0; i < 8; i++) expect(new Set(codes.map((c) => c[i])).size).toBe(32);
    expect(new Set(codes.map((c) => c.slice(0, 2))).size).toBeGreaterThan(500);
  });
});

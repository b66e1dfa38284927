import { describe, expect, it } from 'vitest';
import { groupedCode, groupedId, timeOrderedId } from './ids.ts';

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

  it('groupedId shares its first 32 bits within one synchronous run, and only there', async () => {
    const run1 = Array.from({ length: 50 }, () => groupedId());
    await Promise.resolve();
    const run2 = Array.from({ length: 50 }, () => groupedId());
    for (const id of [...run1, ...run2]) {
      expect(id).toMatch(UUID);
      expect(UUID.exec(id)?.[1]).toBe('4');
      expect('89ab').toContain(UUID.exec(id)?.[2]);
    }
    expect(new Set(run1.map((id) => id.slice(0, 8))).size).toBe(1);
    expect(new Set(run2.map((id) => id.slice(0, 8))).size).toBe(1);
    expect(run1[0]?.slice(0, 8)).not.toBe(run2[0]?.slice(0, 8));
    expect(new Set([...run1, ...run2]).size).toBe(100);
  });

  it('groupedCode shares its first characters within one synchronous run, and only there', async () => {
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    const run1 = Array.from({ length: 200 }, () => groupedCode(alphabet, 8, 2));
    await Promise.resolve();
    const run2 = Array.from({ length: 200 }, () => groupedCode(alphabet, 8, 2));
    for (const c of [...run1, ...run2]) expect(c).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    expect(new Set(run1.map((c) => c.slice(0, 2))).size).toBe(1);
    expect(new Set(run2.map((c) => c.slice(0, 2))).size).toBe(1);
    // The rest is random per code: 200 codes of 30 bits all differ, and every position varies.
    expect(new Set(run1).size).toBe(200);
    for (let i = 2; i < 8; i++) expect(new Set(run1.map((c) => c[i])).size).toBeGreaterThan(16);
    // Prefixes differ between runs, and over many runs every alphabet letter appears first.
    const firsts = new Set<string>();
    for (let r = 0; r < 1000; r++) {
      firsts.add(groupedCode(alphabet, 8, 2)[0]!);
      await Promise.resolve();
    }
    expect(firsts.size).toBe(32);
    expect(() => groupedCode('ABC', 8, 2)).toThrow(/32-character/);
  });
});

import { describe, expect, it } from 'vitest';
import { isTimeZone, parseLocal, resolveLocal, utcToZoned, zonedToUtc } from './zoned-time.ts';

describe('zonedToUtc / utcToZoned', () => {
  it('converts ordinary times with the offset in force (winter and summer)', () => {
    expect(zonedToUtc('2026-01-15T09:00', 'Europe/Zurich')).toBe('2026-01-15T08:00:00.000Z');
    expect(zonedToUtc('2026-07-15T09:00', 'Europe/Zurich')).toBe('2026-07-15T07:00:00.000Z');
    expect(zonedToUtc('2026-07-15T09:00', 'America/New_York')).toBe('2026-07-15T13:00:00.000Z');
    expect(zonedToUtc('2026-07-15T09:00', 'Asia/Kolkata')).toBe('2026-07-15T03:30:00.000Z');
    expect(zonedToUtc('2026-07-15T09:00:30', 'UTC')).toBe('2026-07-15T09:00:30.000Z');
    expect(resolveLocal('2026-07-15T09:00', 'Europe/Zurich').kind).toBe('exact');
  });

  it('reads a skipped local time (spring forward) with the offset before the jump: 02:30 → 03:30', () => {
    const r = resolveLocal('2026-03-29T02:30', 'Europe/Zurich');
    expect(r).toEqual({ utc: '2026-03-29T01:30:00.000Z', kind: 'skipped' });
    expect(utcToZoned(r.utc, 'Europe/Zurich')).toBe('2026-03-29T03:30');
    // The minutes either side of the gap are exact.
    expect(resolveLocal('2026-03-29T01:59', 'Europe/Zurich')).toEqual({ utc: '2026-03-29T00:59:00.000Z', kind: 'exact' });
    expect(resolveLocal('2026-03-29T03:00', 'Europe/Zurich')).toEqual({ utc: '2026-03-29T01:00:00.000Z', kind: 'exact' });
    // Same rule on the other side of the Atlantic.
    expect(resolveLocal('2026-03-08T02:30', 'America/New_York')).toEqual({ utc: '2026-03-08T07:30:00.000Z', kind: 'skipped' });
  });

  it('reads an ambiguous local time (fall back) as its first occurrence', () => {
    const r = resolveLocal('2026-10-25T02:30', 'Europe/Zurich');
    expect(r).toEqual({ utc: '2026-10-25T00:30:00.000Z', kind: 'ambiguous' });
    expect(utcToZoned(r.utc, 'Europe/Zurich')).toBe('2026-10-25T02:30');
    // The second 02:30 (01:30Z) shows as the same wall time; saving it again keeps the first one.
    expect(utcToZoned('2026-10-25T01:30:00.000Z', 'Europe/Zurich')).toBe('2026-10-25T02:30');
    expect(resolveLocal('2026-11-01T01:30', 'America/New_York')).toEqual({ utc: '2026-11-01T05:30:00.000Z', kind: 'ambiguous' });
  });

  it('round-trips every quarter hour across both 2026 transitions in Zurich', () => {
    for (const day of ['2026-03-29', '2026-10-25']) {
      for (let m = 0; m < 24 * 60; m += 15) {
        const local = `${day}T${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
        const r = resolveLocal(local, 'Europe/Zurich');
        if (r.kind !== 'skipped') expect(utcToZoned(r.utc, 'Europe/Zurich'), local).toBe(local);
      }
    }
  });

  it('refuses malformed or impossible dates and unknown zones', () => {
    expect(parseLocal('2026-02-30T10:00')).toBeUndefined();
    expect(parseLocal('2026-13-01T10:00')).toBeUndefined();
    expect(parseLocal('2026-01-01T24:00')).toBeUndefined();
    expect(parseLocal('2026-01-01 10:00')).toBeUndefined();
    expect(parseLocal('2026-01-01T10:00Z')).toBeUndefined();
    expect(isTimeZone('Europe/Zurich')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(() => zonedToUtc('2026-01-01T10:00', 'Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => zonedToUtc('yesterday', 'UTC')).toThrow(RangeError);
  });
});

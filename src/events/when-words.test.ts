import { describe, expect, it } from 'vitest';
import { dateRangeIn, dateTimeIn, relativeTime } from './when.ts';

describe('dates in words', () => {
  it('writes an instant in the given zone with the zone named', () => {
    expect(dateTimeIn('2027-01-20T08:00:00Z', 'Europe/Zurich')).toBe('Wed 20 Jan 2027, 09:00 CET');
    expect(dateTimeIn('2027-07-20T08:00:00Z', 'Europe/Zurich')).toBe('Tue 20 Jul 2027, 10:00 CEST');
    expect(dateTimeIn(Date.parse('2027-01-20T08:00:00Z'), 'UTC')).toBe('Wed 20 Jan 2027, 08:00 UTC');
    // American zones by their American names, where British English would write an offset.
    expect(dateTimeIn('2026-09-10T13:00:00Z', 'America/New_York')).toBe('Thu 10 Sept 2026, 09:00 EDT');
  });

  it('names the day once for a one-day range, both days across midnight, both zones across a clock change', () => {
    expect(dateRangeIn('2027-01-20T08:00:00Z', '2027-01-20T16:00:00Z', 'Europe/Zurich')).toBe('Wed 20 Jan 2027, 09:00–17:00 CET');
    expect(dateRangeIn('2027-01-20T08:00:00Z', '2027-01-21T16:00:00Z', 'Europe/Zurich')).toBe('Wed 20 Jan 2027, 09:00 – Thu 21 Jan 2027, 17:00 CET');
    expect(dateRangeIn('2026-10-24T08:00:00Z', '2026-10-25T16:00:00Z', 'Europe/Zurich')).toBe('Sat 24 Oct 2026, 10:00 CEST – Sun 25 Oct 2026, 17:00 CET');
    // The same instants read in another zone land on another day.
    expect(dateRangeIn('2027-01-20T08:00:00Z', '2027-01-20T16:00:00Z', 'Pacific/Auckland')).toBe('Wed 20 Jan 2027, 21:00 – Thu 21 Jan 2027, 05:00 GMT+13');
  });

  it('says how long ago or how soon, in whole units', () => {
    const now = Date.parse('2027-01-20T12:00:00Z');
    expect(relativeTime(now - 20_000, now)).toBe('just now');
    expect(relativeTime(now - 3 * 3_600_000 - 5, now)).toBe('3 hours ago');
    expect(relativeTime(now + 2 * 86_400_000 + 5, now)).toBe('in 2 days');
    expect(relativeTime(now - 86_400_000, now)).toBe('yesterday');
    expect(relativeTime(now - 5 * 60_000, now)).toBe('5 minutes ago');
  });
});

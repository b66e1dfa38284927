import { describe, expect, it } from 'vitest';
import { eventIcs } from './ics.ts';
import type { EventRow } from './repo.ts';

const event = {
  id: '0b6f3d7e-1c2a-4e5f-8a9b-0c1d2e3f4a5b',
  title: 'Conference, day one; with a title long enough that the SUMMARY line has to be folded',
  description_md: 'About\nMore',
  starts_at: '2027-03-01T08:00:00.000Z',
  ends_at: '2027-03-01T16:00:00.000Z',
  venue: 'Hall A',
  online_url: '',
  status: 'published',
  updated_at: '2026-01-01T00:00:00.000Z',
} as EventRow;

describe('eventIcs', () => {
  it('stamps each call with its own time and otherwise repeats the same folded text', () => {
    const a = eventIcs(event, 'https://x.example/e/conf', new Date('2026-11-23T10:00:00.000Z'));
    const b = eventIcs(event, 'https://x.example/e/conf', new Date('2026-11-23T10:00:05.500Z'));
    expect(a).toContain('DTSTAMP:20261123T100000Z\r\n');
    expect(b).toContain('DTSTAMP:20261123T100005Z\r\n');
    expect(b.replace('100005Z', '100000Z')).toBe(a);
    expect(a.startsWith('BEGIN:VCALENDAR\r\n') && a.endsWith('END:VCALENDAR\r\n')).toBe(true);
    for (const line of a.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);
    expect(a.replace(/\r\n /g, '')).toContain('SUMMARY:Conference\\, day one\\; with a title long enough that the SUMMARY line has to be folded\r\n');
  });

  it('follows an edit even when updated_at did not move', () => {
    const now = new Date('2026-11-23T10:00:00.000Z');
    eventIcs(event, 'https://x.example/e/conf', now);
    const edited = eventIcs({ ...event, title: 'Renamed', venue: '', online_url: 'https://meet.example/1', status: 'archived' }, 'https://x.example/e/conf', now);
    expect(edited).toContain('SUMMARY:Renamed\r\n');
    expect(edited).toContain('LOCATION:https://meet.example/1\r\n');
    expect(edited).toContain('STATUS:CANCELLED\r\n');
    expect(eventIcs(event, 'https://x.example/e/other', now)).toContain('URL:https://x.example/e/other\r\n');
  });
});

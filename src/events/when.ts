import type { EventRow } from './repo.ts';

/**
 * Building an Intl.DateTimeFormat costs far more than using one (it was a sixth of the public
 * event page's CPU), so formatters are made once per time zone and style.
 */
const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(tz: string, style: 'full' | 'time'): Intl.DateTimeFormat {
  const key = `${tz}|${style}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', style === 'full' ? { dateStyle: 'full', timeStyle: 'short', timeZone: tz } : { timeStyle: 'short', timeZone: tz });
    cache.set(key, f);
  }
  return f;
}

/**
 * Using one still costs microseconds, and every confirmation page and mail of a registration
 * rush formats the same event: the texts are kept per input (they depend on nothing else).
 */
const texts = new Map<string, string>();
function remembered(key: string, make: () => string): string {
  let s = texts.get(key);
  if (s === undefined) {
    if (texts.size > 1000) texts.clear();
    s = make();
    texts.set(key, s);
  }
  return s;
}

/** "Saturday 12 December 2026 at 09:00 – 17:00 (Europe/Zurich)" in the event's own time zone. */
export function eventWhen(e: Pick<EventRow, 'starts_at' | 'ends_at' | 'timezone'>): string {
  return remembered(`when|${e.timezone}|${e.starts_at}|${e.ends_at}`, () => {
    const start = new Date(e.starts_at);
    const end = new Date(e.ends_at);
    const day = (d: Date) => fmt(e.timezone, 'full').format(d).replace(/ at .*$/, '');
    const sameDay = day(start) === day(end);
    return `${fmt(e.timezone, 'full').format(start)} – ${(sameDay ? fmt(e.timezone, 'time') : fmt(e.timezone, 'full')).format(end)} (${e.timezone.replace(/_/g, ' ')})`;
  });
}

export function eventStart(e: Pick<EventRow, 'starts_at' | 'timezone'>): string {
  return remembered(`start|${e.timezone}|${e.starts_at}`, () => `${fmt(e.timezone, 'full').format(new Date(e.starts_at))} (${e.timezone})`);
}

// ---- organizer pages: short, in words, the zone named ------------------------------------------

const shortFmts = new Map<string, Intl.DateTimeFormat>();
function shortFmt(tz: string, part: 'day' | 'time'): Intl.DateTimeFormat {
  const key = `${tz}|${part}`;
  let f = shortFmts.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(
      'en-GB',
      part === 'day'
        ? { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: tz }
        : { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: tz, timeZoneName: 'short' },
    );
    shortFmts.set(key, f);
  }
  return f;
}

/**
 * British English names European zones (CET, BST) but writes American ones as offsets; American
 * English does the reverse. Take the name where either has one, the offset otherwise.
 */
function zoneName(t: Date, tz: string, gb: string): string {
  if (!gb.startsWith('GMT') || gb === 'GMT') return gb;
  let us = shortFmts.get(`${tz}|us`);
  if (!us) {
    us = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'short' });
    shortFmts.set(`${tz}|us`, us);
  }
  const name = us.formatToParts(t).find((x) => x.type === 'timeZoneName')?.value ?? gb;
  return name.startsWith('GMT') ? gb : name;
}

/** "Wed 20 Jan 2027" and "09:00" and "CET" for an instant in a zone. */
function parts(t: Date, tz: string): { day: string; time: string; zone: string } {
  const day = shortFmt(tz, 'day').format(t).replace(',', '');
  const p = shortFmt(tz, 'time').formatToParts(t);
  const get = (type: Intl.DateTimeFormatPartTypes) => p.find((x) => x.type === type)?.value ?? '';
  return { day, time: `${get('hour')}:${get('minute')}`, zone: zoneName(t, tz, get('timeZoneName')) };
}

const toDate = (t: number | string | Date) => (t instanceof Date ? t : new Date(t));

/** "Wed 20 Jan 2027, 09:00 CET": one instant in the given zone, the zone named. */
export function dateTimeIn(t: number | string | Date, tz: string): string {
  const d = toDate(t);
  return remembered(`at|${tz}|${d.getTime()}`, () => {
    const a = parts(d, tz);
    return `${a.day}, ${a.time} ${a.zone}`;
  });
}

/**
 * "Wed 20 Jan 2027, 09:00–17:00 CET" on one day, "Wed 20 Jan 2027, 09:00 – Thu 21 Jan 2027,
 * 17:00 CET" across days; both zones named when daylight saving changes in between.
 */
export function dateRangeIn(start: number | string | Date, end: number | string | Date, tz: string): string {
  const s = toDate(start);
  const e = toDate(end);
  return remembered(`range|${tz}|${s.getTime()}|${e.getTime()}`, () => {
    const a = parts(s, tz);
    const b = parts(e, tz);
    const startText = a.zone === b.zone ? `${a.day}, ${a.time}` : `${a.day}, ${a.time} ${a.zone}`;
    return a.day === b.day ? `${startText}–${b.time} ${b.zone}` : `${startText} – ${b.day}, ${b.time} ${b.zone}`;
  });
}

const relFmt = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const steps: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/** "3 hours ago", "in 2 days", "just now": how far an instant is from now, in the largest whole unit. */
export function relativeTime(t: number | string | Date, now: number): string {
  const diff = toDate(t).getTime() - now;
  if (Math.abs(diff) < 60_000) return 'just now';
  for (const [unit, ms] of steps) {
    if (Math.abs(diff) >= ms) return relFmt.format(Math.trunc(diff / ms), unit);
  }
  return 'just now';
}

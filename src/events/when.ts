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

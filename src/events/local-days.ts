import { resolveLocal, utcToZoned } from './zoned-time.ts';

/** One calendar day in a time zone: its date and the UTC instants it starts and ends at. */
export interface LocalDay {
  day: string;
  from: string;
  to: string;
}

const DAY_MS = 86_400_000;
const nextDate = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);

/** The calendar date in `tz` at instant `t`. */
export function localDate(t: number, tz: string): string {
  return utcToZoned(new Date(t).toISOString(), tz).slice(0, 10);
}

/**
 * The days in `tz` from the one containing `fromMs` to the one containing `toMs`, each as a
 * half-open UTC range. Days are not always 24 hours (23 or 25 around a daylight-saving change,
 * and a zone may skip midnight itself: then the day starts when the clocks jump), so each
 * boundary is worked out from the zone, never by adding 24 hours.
 */
export function localDays(tz: string, fromMs: number, toMs: number): LocalDay[] {
  const out: LocalDay[] = [];
  if (toMs < fromMs) return out;
  const last = localDate(toMs, tz);
  let day = localDate(fromMs, tz);
  let from = resolveLocal(`${day}T00:00`, tz).utc;
  // A few years at most: the callers ask for weeks, this only guards against a runaway loop.
  for (let i = 0; i < 3700; i++) {
    const next = nextDate(day);
    // Most days are 24 hours: check that guess with one lookup, resolve properly only when it is off.
    const guess = new Date(Date.parse(from) + DAY_MS).toISOString();
    const to = utcToZoned(guess, tz) === `${next}T00:00` ? guess : resolveLocal(`${next}T00:00`, tz).utc;
    out.push({ day, from, to });
    if (day >= last) break;
    day = next;
    from = to;
  }
  return out;
}

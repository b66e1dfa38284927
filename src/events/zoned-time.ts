/**
 * Wall-clock times in an IANA time zone (what `<input type="datetime-local">` sends, read in the
 * event's zone) ↔ UTC instants (what the database stores).
 *
 * Daylight-saving rule (RFC 5545 §3.3.5, the same as Temporal's "compatible" disambiguation):
 * - a local time that does not exist (the clocks jump forward over it) is read with the offset in
 *   force before the jump, so it lands the length of the gap later: 02:30 on 2026-03-29 in
 *   Europe/Zurich becomes 03:30 CEST (01:30Z);
 * - a local time that happens twice (the clocks go back) means its first occurrence, the one in
 *   the offset before the change: 02:30 on 2026-10-25 in Europe/Zurich is 02:30 CEST (00:30Z).
 */

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

export type LocalTimeKind = 'exact' | 'skipped' | 'ambiguous';

/** The zones offered and accepted: the runtime's IANA list, plus UTC (not always in that list). */
export const timeZones: readonly string[] = [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])].sort();
const zoneSet = new Set(timeZones);

/** A listed zone, or an alias of one (Asia/Kolkata for the listed Asia/Calcutta, say). */
export function isTimeZone(tz: string): boolean {
  if (zoneSet.has(tz)) return true;
  if (!/^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/.test(tz)) return false;
  try {
    return zoneSet.has(new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone);
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    formatters.set(tz, f);
  }
  return f;
}

/** The wall clock in `tz` at instant `t`, written as if it were a UTC instant (ms). */
function wallAsUtc(t: number, tz: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year ?? 0, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
}

const offsetAt = (t: number, tz: string) => wallAsUtc(t, tz) - t;

/** Parses `YYYY-MM-DDTHH:MM[:SS]` as a calendar value; undefined when malformed or not a real date. */
export function parseLocal(local: string): number | undefined {
  const m = LOCAL.exec(local);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  if (y < 1900 || y > 2999 || h > 23 || mi > 59 || s > 59) return undefined;
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(t);
  return back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? t : undefined;
}

/** The UTC instant for a local time in `tz`, and whether DST made it skipped or ambiguous. */
export function resolveLocal(local: string, tz: string): { utc: string; kind: LocalTimeKind } {
  const wall = parseLocal(local);
  if (wall === undefined) throw new RangeError(`not a local date-time: ${local}`);
  if (!isTimeZone(tz)) throw new RangeError(`unknown time zone: ${tz}`);
  // Offsets a day either side bracket any transition near this time (zones change at most a few times a year).
  const before = offsetAt(wall - 86_400_000, tz);
  const after = offsetAt(wall + 86_400_000, tz);
  const candidates = [...new Set([wall - before, wall - after])].filter((t) => wallAsUtc(t, tz) === wall).sort((a, b) => a - b);
  const iso = (t: number) => new Date(t).toISOString();
  if (candidates.length === 0) return { utc: iso(wall - before), kind: 'skipped' };
  return { utc: iso(candidates[0] as number), kind: candidates.length > 1 ? 'ambiguous' : 'exact' };
}

export function zonedToUtc(local: string, tz: string): string {
  return resolveLocal(local, tz).utc;
}

/** The inverse, for showing a stored instant in a `datetime-local` field: `YYYY-MM-DDTHH:MM`. */
export function utcToZoned(utc: string, tz: string): string {
  const t = Date.parse(utc);
  if (Number.isNaN(t)) throw new RangeError(`not an instant: ${utc}`);
  return new Date(wallAsUtc(t, tz)).toISOString().slice(0, 16);
}

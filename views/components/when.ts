import { dateTimeIn } from '../../src/events/when.ts';

/**
 * An instant in words with its zone named ("Wed 20 Jan 2027, 09:00 CET"): in the event's zone on
 * an event's pages, in UTC where nothing belongs to one zone (tokens, audit, backups).
 * The formatting itself lives in src/events/when.ts, shared with the public pages and mail.
 */
export const when = (t: number | string | null, tz = 'UTC'): string => (t === null ? '–' : dateTimeIn(t, tz));

import type { EventRow } from './repo.ts';

/** RFC 5545 text escaping and 75-octet line folding. */
function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

function fold(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + (start === 0 ? 75 : 74), bytes.length);
    // Never split a UTF-8 sequence.
    while (end < bytes.length && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    parts.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
  }
  return parts.join('\r\n ');
}

const utc = (iso: string) => iso.replace(/[-:]/g, '').replace(/\.\d{3}/, '');

type IcsSource = Pick<EventRow, 'id' | 'starts_at' | 'ends_at' | 'title' | 'description_md' | 'venue' | 'online_url' | 'status'>;

/**
 * The folded text around DTSTAMP, per event content and URL. Every confirmation mail carries
 * the event's .ics: during a registration rush this is the same event thousands of times, and
 * escaping plus folding it cost more than writing the registration row. A hit requires every
 * field the text is built from to be equal, so an edit is picked up without relying on
 * updated_at.
 */
const parts = new Map<string, { src: IcsSource; head: string; tail: string }>();

function sameSource(a: IcsSource, b: IcsSource): boolean {
  return a.starts_at === b.starts_at && a.ends_at === b.ends_at && a.title === b.title && a.description_md === b.description_md && a.venue === b.venue && a.online_url === b.online_url && a.status === b.status;
}

export function eventIcs(e: EventRow, url: string, now: Date = new Date()): string {
  const key = `${e.id} ${url}`;
  let p = parts.get(key);
  if (!p || !sameSource(p.src, e)) {
    if (parts.size > 200) parts.clear();
    const { id, starts_at, ends_at, title, description_md, venue, online_url, status } = e;
    const src = { id, starts_at, ends_at, title, description_md, venue, online_url, status };
    p = { src, ...folded(src, url) };
    parts.set(key, p);
  }
  // The DTSTAMP line is far below 75 octets, so it is never folded and can be spliced in.
  return `${p.head}DTSTAMP:${utc(now.toISOString())}${p.tail}`;
}

/** The calendar's lines before and after DTSTAMP, folded and CRLF-terminated. */
function folded(e: IcsSource, url: string): { head: string; tail: string } {
  const head = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Tessera//Events//EN', 'CALSCALE:GREGORIAN', 'METHOD:PUBLISH', 'BEGIN:VEVENT', `UID:${e.id}@tessera`];
  const tail = [
    `DTSTART:${utc(new Date(e.starts_at).toISOString())}`,
    `DTEND:${utc(new Date(e.ends_at).toISOString())}`,
    `SUMMARY:${esc(e.title)}`,
    `DESCRIPTION:${esc(`${e.description_md.slice(0, 2000)}\n\n${url}`)}`,
    `URL:${url}`,
    ...(e.venue || e.online_url ? [`LOCATION:${esc(e.venue || e.online_url)}`] : []),
    `STATUS:${e.status === 'archived' ? 'CANCELLED' : 'CONFIRMED'}`,
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  return { head: `${head.map(fold).join('\r\n')}\r\n`, tail: `\r\n${tail.map(fold).join('\r\n')}\r\n` };
}

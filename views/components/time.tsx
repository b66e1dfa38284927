/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { dateTimeIn, relativeTime } from '../../src/events/when.ts';

const iso = (t: number | string) => new Date(t).toISOString();

/** An instant in words, machine-readable for assistive tech and scripts. */
export function At({ t, tz = 'UTC', empty = '–' }: { t: number | string | null; tz?: string; empty?: string }) {
  if (t === null) return <>{empty}</>;
  return <time datetime={iso(t)}>{dateTimeIn(t, tz)}</time>;
}

/** "3 hours ago", with the exact time (zone named) as the tooltip and in `datetime`. */
export function Ago({ t, now, tz = 'UTC', empty = '–' }: { t: number | string | null; now: number; tz?: string; empty?: string }) {
  if (t === null) return <>{empty}</>;
  return (
    <time datetime={iso(t)} title={dateTimeIn(t, tz)}>
      {relativeTime(t, now)}
    </time>
  );
}

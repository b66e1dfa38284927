/** @jsxRuntime automatic @jsxImportSource hono/jsx */

/**
 * Small server-rendered SVG charts: no script, no chart library, nothing to load in the browser.
 * Each picture is an `role="img"` with a title and a description that say the numbers in words,
 * uses a hatch pattern and outlines (so it reads without colour, in print and in both colour
 * schemes: everything is drawn in `currentColor`), and is followed by the same numbers as a table.
 * The CSP forbids inline styles, so sizes and colours are SVG attributes, never `style=`.
 */

/** One value of a series: `key` is stable (a date), `label` short for the axis, `full` for the table. */
export interface ChartPoint {
  key: string;
  label: string;
  full?: string;
  value: number;
}

const nf = new Intl.NumberFormat('en-GB');
export const formatNumber = (n: number): string => nf.format(n);

/** A round upper bound for the value axis (1, 2, 5 × 10^n), never below 1. */
export function niceMax(max: number): number {
  if (max <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

const total = (points: readonly ChartPoint[]) => points.reduce((s, p) => s + p.value, 0);

/** The busiest point (the first one on a tie), or undefined for an empty series. */
function peak(points: readonly ChartPoint[]): ChartPoint | undefined {
  return points.reduce<ChartPoint | undefined>((best, p) => (!best || p.value > best.value ? p : best), undefined);
}

/** The series in one sentence: what a screen reader says for the picture. */
export function describeSeries(points: readonly ChartPoint[], unit: string): string {
  if (points.length === 0) return `No ${unit} yet.`;
  const top = peak(points)!;
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const span = points.length === 1 ? `on ${first.full ?? first.label}` : `from ${first.full ?? first.label} to ${last.full ?? last.label}`;
  const most = total(points) === 0 ? '' : `; the most, ${formatNumber(top.value)}, on ${top.full ?? top.label}`;
  return `${formatNumber(total(points))} ${unit} ${span}${most}.`;
}

/** A diagonal hatch: bars read as "filled" without relying on colour. */
function Hatch({ id }: { id: string }) {
  return (
    <defs>
      <pattern id={id} patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">
        <rect width="6" height="6" fill="currentColor" fill-opacity="0.25" />
        <line x1="0" y1="0" x2="0" y2="6" stroke="currentColor" stroke-width="3" />
      </pattern>
    </defs>
  );
}

/** The numbers behind a chart, folded away under a summary. */
export function NumbersTable({ points, caption, header, summary }: { points: readonly ChartPoint[]; caption: string; header: [string, string]; summary?: string }) {
  return (
    <details class="chart-numbers">
      <summary>{summary ?? 'Show the numbers as a table'}</summary>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{header[0]}</th>
            <th scope="col">{header[1]}</th>
          </tr>
        </thead>
        <tbody>
          {points.map((p) => (
            <tr data-key={p.key}>
              <th scope="row">{p.full ?? p.label}</th>
              <td data-value={p.value}>{formatNumber(p.value)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row">Total</th>
            <td data-total={total(points)}>{formatNumber(total(points))}</td>
          </tr>
        </tfoot>
      </table>
    </details>
  );
}

// ---- sparkline ------------------------------------------------------------------------------------

const SPARK = { w: 120, h: 28, pad: 3 };

/** x,y pairs of a sparkline in its viewBox; one point is drawn flat across the width. */
export function sparklinePath(values: readonly number[]): [number, number][] {
  if (values.length === 0) return [];
  const top = niceMax(Math.max(...values));
  const y = (v: number) => SPARK.h - SPARK.pad - ((SPARK.h - 2 * SPARK.pad) * v) / top;
  if (values.length === 1) return [[SPARK.pad, y(values[0]!)], [SPARK.w - SPARK.pad, y(values[0]!)]];
  const step = (SPARK.w - 2 * SPARK.pad) / (values.length - 1);
  return values.map((v, i) => [round(SPARK.pad + i * step), round(y(v))]);
}

const round = (n: number) => Math.round(n * 100) / 100;

/** A word-sized line of a series (a dashboard row's registrations over the last days), with the numbers as a table. */
export function Sparkline({ points, label, unit = 'registrations' }: { points: readonly ChartPoint[]; label: string; unit?: string }) {
  const text = `${label}: ${describeSeries(points, unit)}`;
  const xy = sparklinePath(points.map((p) => p.value));
  const last = xy[xy.length - 1];
  return (
    <span class="sparkline">
      <svg role="img" aria-label={text} viewBox={`0 0 ${SPARK.w} ${SPARK.h}`} width={SPARK.w} height={SPARK.h} class="chart" data-chart="sparkline">
        <title>{text}</title>
        <line x1="0" y1={SPARK.h - 1} x2={SPARK.w} y2={SPARK.h - 1} stroke="currentColor" stroke-opacity="0.35" stroke-width="1" />
        {xy.length ? <polyline points={xy.map(([x, y]) => `${x},${y}`).join(' ')} fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" data-values={points.map((p) => p.value).join(',')} /> : null}
        {last ? <circle cx={last[0]} cy={last[1]} r="2.5" fill="currentColor" /> : null}
      </svg>
      <NumbersTable points={points} caption={label} header={['Day', 'Registrations']} summary="Numbers" />
    </span>
  );
}

// ---- bar chart --------------------------------------------------------------------------------------

const BARS = { w: 640, h: 220, left: 44, right: 8, top: 18, bottom: 34 };

export interface BarGeometry {
  key: string;
  value: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where each bar goes in the chart's viewBox (kept apart from the markup so it can be tested). */
export function barGeometry(points: readonly ChartPoint[]): { bars: BarGeometry[]; max: number } {
  const max = niceMax(Math.max(0, ...points.map((p) => p.value)));
  const plotW = BARS.w - BARS.left - BARS.right;
  const plotH = BARS.h - BARS.top - BARS.bottom;
  const slot = points.length ? plotW / points.length : plotW;
  const width = Math.max(1, round(slot * 0.72));
  const bars = points.map((p, i) => {
    const height = round((plotH * p.value) / max);
    return { key: p.key, value: p.value, x: round(BARS.left + i * slot + (slot - width) / 2), y: round(BARS.top + plotH - height), width, height };
  });
  return { bars, max };
}

/** Which axis labels to write: all of them when few, else about six evenly spaced plus the last. */
export function labelIndexes(n: number): number[] {
  if (n <= 8) return [...Array(n).keys()];
  const every = Math.ceil(n / 6);
  const out = [...Array(n).keys()].filter((i) => i % every === 0);
  if (out[out.length - 1] !== n - 1) {
    if (n - 1 - out[out.length - 1]! < every / 2) out.pop();
    out.push(n - 1);
  }
  return out;
}

/** Registrations per day (or any count per period) as bars, with the value over each bar when they fit. */
export function BarChart({ id, points, title, unit = 'registrations', header = ['Day', 'Registrations'] }: { id: string; points: readonly ChartPoint[]; title: string; unit?: string; header?: [string, string] }) {
  if (points.length === 0) return <p class="chart-empty">{`${title}: ${describeSeries(points, unit)}`}</p>;
  const { bars, max } = barGeometry(points);
  const desc = describeSeries(points, unit);
  const plotBottom = BARS.h - BARS.bottom;
  const showValues = points.length <= 31;
  const labels = new Set(labelIndexes(points.length));
  return (
    <figure class="chart-figure">
      <svg role="img" aria-labelledby={`${id}-title ${id}-desc`} viewBox={`0 0 ${BARS.w} ${BARS.h}`} width="100%" preserveAspectRatio="xMidYMid meet" class="chart" data-chart="bars">
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{desc}</desc>
        <Hatch id={`${id}-hatch`} />
        <g aria-hidden="true" font-size="11" fill="currentColor">
          <line x1={BARS.left} y1={BARS.top} x2={BARS.w - BARS.right} y2={BARS.top} stroke="currentColor" stroke-opacity="0.25" stroke-dasharray="3 3" />
          <text x={BARS.left - 6} y={BARS.top + 4} text-anchor="end" class="axis" data-axis-max={max}>
            {formatNumber(max)}
          </text>
          <text x={BARS.left - 6} y={plotBottom + 4} text-anchor="end" class="axis">
            0
          </text>
          <line x1={BARS.left} y1={plotBottom} x2={BARS.w - BARS.right} y2={plotBottom} stroke="currentColor" stroke-width="1" />
          {bars.map((b, i) => (
            <g data-key={b.key} data-value={b.value}>
              {b.height > 0 ? <rect x={b.x} y={b.y} width={b.width} height={b.height} fill={`url(#${id}-hatch)`} stroke="currentColor" stroke-width="1" /> : null}
              {showValues && b.value > 0 ? (
                <text x={round(b.x + b.width / 2)} y={b.y - 3} text-anchor="middle" font-size={points.length > 16 ? 8 : 11} class="bar-value">
                  {formatNumber(b.value)}
                </text>
              ) : null}
              {labels.has(i) ? (
                // The last label ends at its bar and the first starts at its bar, so neither runs off the picture.
                <text x={i === points.length - 1 && i > 0 ? round(b.x + b.width) : i === 0 && points.length > 1 ? b.x : round(b.x + b.width / 2)} y={plotBottom + 16} text-anchor={i === points.length - 1 && i > 0 ? 'end' : i === 0 && points.length > 1 ? 'start' : 'middle'} class="axis">
                  {points[i]!.label}
                </text>
              ) : null}
            </g>
          ))}
        </g>
      </svg>
      <figcaption>{desc}</figcaption>
      <NumbersTable points={points} caption={title} header={header} />
    </figure>
  );
}

// ---- progress ---------------------------------------------------------------------------------------

const PROGRESS = { w: 400, h: 20 };

/** The share as a whole percentage, rounded down so "100 %" means everyone; 0 when there is nothing to do. */
export function percent(value: number, max: number): number {
  if (max <= 0) return 0;
  return Math.min(100, Math.floor((100 * Math.max(0, value)) / max));
}

/** How far something has got (checked in of confirmed): a hatched bar in an outline, and the numbers in words beside it. */
export function ProgressBar({ id, value, max, label, unit }: { id: string; value: number; max: number; label: string; unit: string }) {
  const pct = percent(value, max);
  const text = max > 0 ? `${label}: ${formatNumber(value)} of ${formatNumber(max)} ${unit} (${pct} %)` : `${label}: nobody to count yet`;
  const fill = round((PROGRESS.w - 2) * (pct / 100));
  return (
    <div class="chart-progress">
      <svg role="img" aria-label={text} viewBox={`0 0 ${PROGRESS.w} ${PROGRESS.h}`} width="100%" height={PROGRESS.h} preserveAspectRatio="none" class="chart" data-chart="progress" data-value={value} data-max={max}>
        <title>{text}</title>
        <Hatch id={`${id}-hatch`} />
        <rect x="0.5" y="0.5" width={PROGRESS.w - 1} height={PROGRESS.h - 1} fill="none" stroke="currentColor" stroke-width="1" vector-effect="non-scaling-stroke" />
        {fill > 0 ? <rect x="1" y="1" width={fill} height={PROGRESS.h - 2} fill={`url(#${id}-hatch)`} stroke="currentColor" stroke-width="1" vector-effect="non-scaling-stroke" /> : null}
      </svg>
      <p class="chart-progress-text" aria-hidden="true">
        <strong>{formatNumber(value)}</strong> of {formatNumber(max)} {unit} ({pct} %)
      </p>
    </div>
  );
}

// ---- days --------------------------------------------------------------------------------------------

const dayShort = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
const dayLong = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

/** Counts per calendar day (`YYYY-MM-DD`, already in the event's zone) as chart points: "7 Dec" on the axis, "Mon, 7 Dec 2026" in the table. */
export function dayPoints(days: readonly { day: string; count: number }[]): ChartPoint[] {
  return days.map(({ day, count }) => {
    const d = new Date(`${day}T00:00:00Z`);
    return { key: day, label: dayShort.format(d), full: dayLong.format(d).replace(',', ''), value: count };
  });
}

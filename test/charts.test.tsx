/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { describe, expect, it } from 'vitest';
import { localDays } from '../src/events/local-days.ts';
import { BarChart, type ChartPoint, ProgressBar, Sparkline, barGeometry, dayPoints, describeSeries, labelIndexes, niceMax, percent, sparklinePath } from '../views/components/charts.tsx';

const html = async (node: unknown): Promise<string> => String(await (node as Promise<unknown>));
const pts = (values: number[]): ChartPoint[] => values.map((value, i) => ({ key: `k${i}`, label: `L${i}`, full: `Day ${i}`, value }));

/** What the bar chart's markup says each bar is, in order: data-value of each bar group, and the rects' heights. */
function barsOf(svg: string) {
  const groups = [...svg.matchAll(/<g data-key="([^"]+)" data-value="(\d+)">([\s\S]*?)<\/g>/g)];
  return groups.map((m) => ({ key: m[1], value: Number(m[2]), height: Number(/<rect [^>]*height="([\d.]+)"/.exec(m[3]!)?.[1] ?? 0), label: /<text[^>]*>([^<]+)<\/text>/.exec(m[3]!)?.[1] }));
}
const tableOf = (markup: string) => [...markup.matchAll(/<td data-value="(\d+)">([^<]+)<\/td>/g)].map((m) => ({ value: Number(m[1]), shown: m[2] }));

describe('charts helper', () => {
  it('draws one bar per point, its height proportional to the value, with the same numbers in the table', async () => {
    const values = [0, 3, 10, 7, 1];
    const out = await html(<BarChart id="t" points={pts(values)} title="Registrations per day" />);
    const bars = barsOf(out);
    expect(bars.map((b) => b.value)).toEqual(values);
    expect(bars.map((b) => b.key)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    // Height is proportional: the tallest bar (10) fills the plot (axis max 10), zero draws no rect.
    const unit = bars[2]!.height / 10;
    for (const b of bars) expect(b.height).toBeCloseTo(b.value * unit, 1);
    expect(out).toContain('data-axis-max="10"');
    // The value is written over each non-empty bar.
    expect(bars[1]!.label).toBe('3');
    expect(tableOf(out)).toEqual(values.map((v) => ({ value: v, shown: String(v) })));
    expect(out).toContain('data-total="21"');
    // A text alternative: role=img, labelled by a title and a description that give the numbers.
    expect(out).toMatch(/<svg role="img" aria-labelledby="t-title t-desc"/);
    expect(out).toContain('<desc id="t-desc">21 registrations from Day 0 to Day 4; the most, 10, on Day 2.</desc>');
    // Readable without colour: a hatch pattern and outlines in currentColor.
    expect(out).toContain('<pattern id="t-hatch"');
    expect(out).toContain('fill="url(#t-hatch)" stroke="currentColor"');
    expect(out).not.toContain('style=');
  });

  it('says so instead of drawing an empty chart, and handles a series of zeros', async () => {
    const empty = await html(<BarChart id="e" points={[]} title="Registrations per day" />);
    expect(empty).not.toContain('<svg');
    expect(empty).toContain('No registrations yet.');
    const zeros = await html(<BarChart id="z" points={pts([0, 0, 0])} title="Per day" />);
    expect(barsOf(zeros).map((b) => b.value)).toEqual([0, 0, 0]);
    expect(zeros).not.toContain('<rect x=');
    expect(zeros).toContain('0 registrations from Day 0 to Day 2.');
    expect(zeros).toContain('data-axis-max="1"');
  });

  it('draws a single point: one bar, and a flat sparkline across the width', async () => {
    const one = await html(<BarChart id="o" points={pts([4])} title="Per day" />);
    expect(barsOf(one)).toEqual([{ key: 'k0', value: 4, height: expect.any(Number), label: '4' }]);
    expect(one).toContain('4 registrations on Day 0; the most, 4, on Day 0.');
    expect(sparklinePath([4])).toEqual([
      [3, expect.any(Number)],
      [117, expect.any(Number)],
    ]);
    const spark = await html(<Sparkline points={pts([4])} label="Summit" />);
    expect(spark).toContain('data-values="4"');
    expect(spark).toContain('aria-label="Summit: 4 registrations on Day 0; the most, 4, on Day 0."');
    const none = await html(<Sparkline points={[]} label="Summit" />);
    expect(none).not.toContain('<polyline');
    expect(none).toContain('No registrations yet.');
  });

  it('writes large numbers with separators and picks a round axis maximum', async () => {
    const out = await html(<BarChart id="l" points={pts([1_234_567, 20, 999_999])} title="Per day" />);
    expect(barsOf(out).map((b) => b.value)).toEqual([1_234_567, 20, 999_999]);
    expect(tableOf(out).map((t) => t.shown)).toEqual(['1,234,567', '20', '999,999']);
    expect(out).toContain('data-axis-max="2000000"');
    expect(out).toContain('>2,000,000</text>');
    expect(out).toContain('data-total="2234586"');
    expect([niceMax(0), niceMax(1), niceMax(7), niceMax(11), niceMax(50), niceMax(51), niceMax(1_234_567)]).toEqual([1, 1, 10, 20, 50, 100, 2_000_000]);
  });

  it('keeps bars inside the plot and labels only a readable number of days', () => {
    const many = pts(Array.from({ length: 60 }, (_, i) => i % 7));
    const { bars, max } = barGeometry(many);
    expect(max).toBe(10);
    for (const b of bars) {
      expect(b.x).toBeGreaterThanOrEqual(44);
      expect(b.x + b.width).toBeLessThanOrEqual(632);
      expect(b.y + b.height).toBeCloseTo(186, 5);
    }
    const shown = labelIndexes(60);
    expect(shown[0]).toBe(0);
    expect(shown[shown.length - 1]).toBe(59);
    expect(shown.length).toBeLessThanOrEqual(8);
    expect(labelIndexes(5)).toEqual([0, 1, 2, 3, 4]);
    expect(labelIndexes(0)).toEqual([]);
  });

  it('shows progress as a share, with the numbers in words', async () => {
    expect([percent(3, 7), percent(7, 7), percent(9, 7), percent(5, 0), percent(-1, 5)]).toEqual([42, 100, 100, 0, 0]);
    const out = await html(<ProgressBar id="p" value={1234} max={5000} label="Checked in" unit="checked in" />);
    expect(out).toContain('aria-label="Checked in: 1,234 of 5,000 checked in (24 %)"');
    expect(out).toContain('data-value="1234" data-max="5000"');
    // The filled part is 24 % of the inner width (398).
    expect(out).toMatch(/<rect x="1" y="1" width="95.52"/);
    const nobody = await html(<ProgressBar id="q" value={0} max={0} label="Checked in" unit="checked in" />);
    expect(nobody).toContain('Checked in: nobody to count yet');
    expect(nobody).not.toContain('<rect x="1"');
  });

  it('turns calendar days into axis and table labels', () => {
    expect(dayPoints([{ day: '2026-12-07', count: 3 }])).toEqual([{ key: '2026-12-07', label: '7 Dec', full: 'Mon 7 Dec 2026', value: 3 }]);
    expect(describeSeries([], 'sign-ups')).toBe('No sign-ups yet.');
  });
});

describe('local days', () => {
  it('cuts days at local midnight, also across a daylight-saving change and in a zone 5:45 ahead', () => {
    // Europe/Zurich moves to summer time on 2026-03-29: that day has 23 hours.
    const zurich = localDays('Europe/Zurich', Date.parse('2026-03-28T12:00:00Z'), Date.parse('2026-03-30T12:00:00Z'));
    expect(zurich).toEqual([
      { day: '2026-03-28', from: '2026-03-27T23:00:00.000Z', to: '2026-03-28T23:00:00.000Z' },
      { day: '2026-03-29', from: '2026-03-28T23:00:00.000Z', to: '2026-03-29T22:00:00.000Z' },
      { day: '2026-03-30', from: '2026-03-29T22:00:00.000Z', to: '2026-03-30T22:00:00.000Z' },
    ]);
    const kathmandu = localDays('Asia/Kathmandu', Date.parse('2026-06-01T18:14:00Z'), Date.parse('2026-06-01T18:15:00Z'));
    expect(kathmandu.map((d) => d.day)).toEqual(['2026-06-01', '2026-06-02']);
    expect(kathmandu[1]!.from).toBe('2026-06-01T18:15:00.000Z');
    expect(localDays('UTC', 10, 5)).toEqual([]);
  });
});

import type { Figure } from './scenario.ts';

export interface ScenarioReport {
  name: string;
  title: string;
  figures: Figure[];
  notes: string[];
}

function format(f: Figure): string {
  if (f.unit === 'ratio') return f.value.toFixed(3);
  return Math.round(f.value).toLocaleString('en-US');
}

/** A plain-text table per scenario: figure name, value right-aligned, unit. */
export function renderTable(reports: ScenarioReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push('', `${r.title} [${r.name}]`);
    const nameWidth = Math.max(...r.figures.map((f) => f.name.length), 6);
    const values = r.figures.map(format);
    const valueWidth = Math.max(...values.map((v) => v.length), 5);
    r.figures.forEach((f, i) => {
      lines.push(`  ${f.name.padEnd(nameWidth)}  ${(values[i] ?? '').padStart(valueWidth)}  ${f.unit === 'ratio' ? '' : f.unit}`.trimEnd());
    });
    for (const n of r.notes) lines.push(`  note: ${n}`);
  }
  return lines.join('\n');
}

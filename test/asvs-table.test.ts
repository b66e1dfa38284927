import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTestNames } from './support/test-names.ts';

/**
 * docs/security/asvs.md cannot drift from the suite: every proof it names must exist, every
 * status must be one of the five, ids are unique, and the summary matches the rows. Pure file
 * reads; no test file is imported.
 */

const ROOT = path.resolve(import.meta.dirname, '..');
const TABLE = path.join(ROOT, 'docs/security/asvs.md');
const STATUSES = ['met', 'met (no test)', 'planned #23', 'not met', 'n/a'] as const;
type Status = (typeof STATUSES)[number];
const isStatus = (s: string): s is Status => (STATUSES as readonly string[]).includes(s);

interface Row {
  line: number;
  id: string;
  level: string;
  requirement: string;
  status: string;
  detail: string;
}

function cells(line: string): string[] {
  return line
    .replace(/^\|/, '')
    .replace(/\|\s*$/, '')
    .split('|')
    .map((c) => c.trim());
}

function readTable(text: string): { rows: Row[]; summary: Map<string, number>; bullets: Map<string, string> } {
  const lines = text.split('\n');
  const rows: Row[] = [];
  const summary = new Map<string, number>();
  const bullets = new Map<string, string>();
  let inSummary = false;
  lines.forEach((line, i) => {
    if (line.startsWith('## ')) inSummary = line.trim() === '## Summary';
    if (inSummary && line.startsWith('|')) {
      const [status, count] = cells(line);
      if (status !== undefined && count !== undefined && /^\d+$/.test(count)) summary.set(status, Number(count));
    }
    if (inSummary && line.startsWith('- ')) {
      const m = /^- (.+?): (.+)$/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) bullets.set(m[1], m[2]);
    }
    if (/^\| V\d+\.\d+\.\d+ \|/.test(line)) {
      const c = cells(line);
      rows.push({ line: i + 1, id: c[0] ?? '', level: c[1] ?? '', requirement: c[2] ?? '', status: c[3] ?? '', detail: c.slice(4).join('|') });
      if (c.length !== 5) rows[rows.length - 1]!.detail = `<${c.length} cells>`;
    }
  });
  return { rows, summary, bullets };
}

const testNameCache = new Map<string, Set<string> | null>();
/** The ' › '-joined chains of every describe and test in a file, or null when it does not exist. */
function chainsOf(file: string): Set<string> | null {
  if (!testNameCache.has(file)) {
    const abs = path.join(ROOT, file);
    testNameCache.set(
      file,
      fs.existsSync(abs) ? new Set(parseTestNames(fs.readFileSync(abs, 'utf8')).map((t) => t.chain.join(' › '))) : null,
    );
  }
  return testNameCache.get(file) ?? null;
}

const readmeHeadings = new Set(
  fs
    .readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    .split('\n')
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) => l.replace(/^#+ /, '').trim()),
);

/** Why a proof does not hold, or null when it names something that exists. */
function proofProblem(proof: string): string | null {
  if (proof.startsWith('README.md § ')) {
    const heading = proof.slice('README.md § '.length);
    return readmeHeadings.has(heading) ? null : `README has no heading "${heading}"`;
  }
  const [file, ...chain] = proof.split(' › ');
  if (file === undefined || chain.length === 0) return `not "<file> › <describe> › <test>": ${proof}`;
  if (!/^(test|src)\/.+\.test\.tsx?$/.test(file)) return `not a test file: ${file}`;
  const chains = chainsOf(file);
  if (chains === null) return `no such file: ${file}`;
  return chains.has(chain.join(' › ')) ? null : `no test named "${chain.join(' › ')}" in ${file}`;
}

const text = fs.readFileSync(TABLE, 'utf8');
const { rows, summary, bullets } = readTable(text);

describe('docs/security/asvs.md', () => {
  it('lists the Level 1 and 2 requirements, each id once', () => {
    expect(rows.length).toBeGreaterThan(200);
    const seen = new Map<string, number>();
    const dupes: string[] = [];
    for (const r of rows) {
      const before = seen.get(r.id);
      if (before !== undefined) dupes.push(`${r.id} on lines ${before} and ${r.line}`);
      seen.set(r.id, r.line);
    }
    expect(dupes).toEqual([]);
    expect(rows.filter((r) => r.level !== 'L1' && r.level !== 'L2').map((r) => `${r.id}: level ${r.level}`)).toEqual([]);
  });

  it('gives every row a valid status and a requirement, and a reason for every row that is not met with a proof', () => {
    const bad = rows.flatMap((r) => {
      const problems: string[] = [];
      if (!isStatus(r.status)) problems.push(`${r.id} (line ${r.line}): unknown status "${r.status}"`);
      if (r.requirement === '') problems.push(`${r.id}: no requirement text`);
      if (r.detail === '' || r.detail.startsWith('<')) problems.push(`${r.id}: no proof or reason (${r.detail || 'empty'})`);
      return problems;
    });
    expect(bad).toEqual([]);
  });

  it('names, for every met row, tests (or README sections) that exist', () => {
    const missing = rows
      .filter((r) => r.status === 'met')
      .flatMap((r) =>
        r.detail
          .split('<br>')
          .map((p) => proofProblem(p.trim()))
          .filter((p): p is string => p !== null)
          .map((p) => `${r.id} (line ${r.line}): ${p}`),
      );
    expect(missing).toEqual([]);
  });

  it('has a summary that matches the rows', () => {
    const counted = new Map<string, number>(STATUSES.map((s) => [s, 0]));
    for (const r of rows) counted.set(r.status, (counted.get(r.status) ?? 0) + 1);
    for (const s of STATUSES) expect(summary.get(s), `summary count of "${s}"`).toBe(counted.get(s));
    expect(summary.get('total')).toBe(rows.length);

    const met = rows.filter((r) => r.status === 'met');
    const tested = met.filter((r) => r.detail.split('<br>').some((p) => !p.trim().startsWith('README.md § '))).length;
    const applicable = rows.length - (counted.get('n/a') ?? 0);
    expect(bullets.get('Applicable (all but `n/a`)')).toBe(String(applicable));
    expect(bullets.get('Met with a named test')).toBe(String(tested));
    expect(bullets.get('Met by a documented README section')).toBe(String(met.length - tested));
    expect(bullets.get('Share of applicable requirements with a named test')).toBe(
      `${tested}/${applicable} = ${((tested / applicable) * 100).toFixed(1)}%`,
    );
  });
});

describe('parseTestNames', () => {
  it('reads nested describes, all three quote kinds and modifiers, and skips comments, strings, regexes and .each', () => {
    const src = [
      "import { describe, it } from 'vitest';",
      "// it('commented out', () => {})",
      "describe('outer', () => {",
      "  const re = /it\\('not a test'\\)[\"')]/;",
      "  const s = \"describe('not a describe', () => {\";",
      '  it("double \\"quoted\\"", () => {});',
      '  describe.sequential(`inner`, () => {',
      "    it.skip('skipped but named', async () => { await f(')'); });",
      '    it.each([1, 2])(\'each %s\', () => {});',
      "    test('with options', { timeout: 5 }, () => {});",
      '  });',
      "  it('after inner', () => {});",
      '});',
      "it('top level', () => {});",
    ].join('\n');
    expect(parseTestNames(src).map((t) => `${t.kind}: ${t.chain.join(' › ')}`)).toEqual([
      'describe: outer',
      'test: outer › double "quoted"',
      'describe: outer › inner',
      'test: outer › inner › skipped but named',
      'test: outer › inner › with options',
      'test: outer › after inner',
      'test: top level',
    ]);
  });
});

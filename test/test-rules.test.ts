import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Rules about the tests themselves, so that a test added later keeps the suite reliable on a
 * loaded machine: a fixed sleep either wastes time on a quiet machine or is too short on a busy
 * one. Wait for the condition instead (test/support/wait.ts, expect.poll, a helper's waitFor).
 */
const root = path.resolve(import.meta.dirname, '..');

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...testFiles(rel));
    else if (/\.tsx?$/.test(entry.name) && (rel.startsWith(`test${path.sep}`) || /\.test\.tsx?$/.test(entry.name))) out.push(rel);
  }
  return out;
}

const files = [...testFiles('test'), ...testFiles('src')];

/** A promise that resolves after a fixed time (zero-delay turns of the event loop are fine). */
const fixedSleep = /setTimeout\(\s*(r|res|resolve)\s*,\s*(?=\S)(?!0\s*\))|\bsleep\s*\(/;

/** Where a timer is the point: the poll interval of the one condition wait. */
const allowed: Record<string, string> = {
  [path.join('test', 'support', 'wait.ts')]: 'the poll interval of waitFor',
};

/** Lines the pattern must and must not match, kept as data so no test file holds a sleep. */
const samples = JSON.parse(fs.readFileSync(path.join(root, 'test', 'fixtures', 'sleep-samples.json'), 'utf8')) as { sleeps: string[]; notSleeps: string[] };

describe('test rules', () => {
  it('reads every test file (the scan is not vacuous)', () => {
    expect(files.length).toBeGreaterThan(80);
    expect(files).toContain(path.join('test', 'cli.test.ts'));
    expect(files).toContain(path.join('src', 'db', 'writer.test.ts'));
    expect(files).toContain(path.join('test', 'support', 'server.ts'));
  });

  it('the pattern finds a sleep and lets a zero-delay turn through', () => {
    expect(samples.sleeps.length).toBeGreaterThan(0);
    for (const line of samples.sleeps) expect(fixedSleep.test(line), line).toBe(true);
    for (const line of samples.notSleeps) expect(fixedSleep.test(line), line).toBe(false);
  });

  it('no test sleeps a fixed time: each waits for a condition', () => {
    const hits: string[] = [];
    for (const f of files) {
      if (f in allowed) continue;
      fs.readFileSync(path.join(root, f), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (fixedSleep.test(line) && !/^\s*(\/\/|\*)/.test(line)) hits.push(`${f}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(hits).toEqual([]);
  });
});

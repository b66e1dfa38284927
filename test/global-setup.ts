import fs from 'node:fs';
import path from 'node:path';

/**
 * Runs once per `vitest run`. Every test server writes its technical log under
 * test-artifacts/logs; after the run we prove no test person's email or name reached it.
 */
export const artifacts = path.resolve('test-artifacts');
const logDir = path.join(artifacts, 'logs');

export default async function setup(): Promise<() => Promise<void>> {
  fs.rmSync(logDir, { recursive: true, force: true });
  fs.mkdirSync(logDir, { recursive: true });
  process.env.TESSERA_TEST_LOG_DIR = logDir;
  return async () => {
    const leaks: string[] = [];
    for (const f of fs.readdirSync(logDir)) {
      const text = fs.readFileSync(path.join(logDir, f), 'utf8');
      // Test people all use these domains and this surname (see test/support/people.ts).
      for (const m of text.matchAll(/[\w.+-]+@(?:example\.test|tenant-[a-z]\.test)|Pseudonymova/g)) leaks.push(`${f}: ${m[0]}`);
    }
    if (leaks.length) throw new Error(`personal data found in technical logs:\n${leaks.slice(0, 20).join('\n')}`);
  };
}

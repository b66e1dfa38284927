import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from './temp.ts';

/**
 * The two ways an optional worker fails, as worker entries: a file that does not exist (it never
 * starts), and one that says it is ready and exits with `code` at its first message. Each comes
 * with whether the first call fails (the one the worker took down with it).
 */
export function brokenWorkers(code: number): (readonly [URL, boolean])[] {
  const dir = tempDir('tessera-broken-worker-');
  const dies = path.join(dir, 'dies.mjs');
  fs.writeFileSync(dies, `import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(${code}));\nparentPort.postMessage({ ready: true });\n`);
  return [
    [pathToFileURL(path.join(dir, 'missing.mjs')), false],
    [pathToFileURL(dies), true],
  ];
}

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/support/temp.ts';
import { threadNice } from '../test/support/threads.ts';

describe('lowerThreadPriority', () => {
  it.runIf(process.platform === 'linux')('lowers the calling worker thread only, never raises it back', async () => {
    const dir = tempDir('tessera-nice-');
    const script = path.join(dir, 'w.mjs');
    const mod = pathToFileURL(path.resolve(import.meta.dirname, 'thread-priority.ts')).href;
    fs.writeFileSync(
      script,
      `import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { lowerThreadPriority } from ${JSON.stringify(mod)};
const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
const first = lowerThreadPriority(7);
const second = lowerThreadPriority(3);
parentPort.postMessage({ tid, first, second });
setTimeout(() => undefined, 500);
`,
    );
    const base = threadNice(process.pid);
    const w = new Worker(script, { execArgv: [] });
    try {
      const m = await new Promise<{ tid: number; first: boolean; second: boolean }>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      expect(m.first).toBe(true);
      expect(m.tid).not.toBe(process.pid);
      // Asking for 3 after 7 keeps 7: a thread is never given more priority than it had.
      expect(threadNice(m.tid)).toBe(Math.max(7, base));
      expect(threadNice(process.pid)).toBe(base);
    } finally {
      await w.terminate();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/support/temp.ts';
import { WorkerRpc } from './worker-rpc.ts';

const dir = tempDir('tessera-rpc-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const script = path.join(dir, 'worker.mjs');
fs.writeFileSync(
  script,
  `import { parentPort } from 'node:worker_threads';
parentPort.on('message', (m) => {
  if (m.op === 'exit') process.exit(3);
  if (m.op === 'fail') parentPort.postMessage({ id: m.id, error: 'no such thing' });
  else parentPort.postMessage({ id: m.id, twice: m.n * 2 });
});
parentPort.postMessage({ ready: true });
`,
);

describe('WorkerRpc', () => {
  it('answers calls, passes errors on, and once the worker is gone fails every call instead of hanging', async () => {
    const rpc = new WorkerRpc<{ op?: string; n?: number }, { twice: number }>(() => pathToFileURL(script), 'unused');
    await rpc.started();
    expect((await rpc.call({ n: 21 })).twice).toBe(42);
    await expect(rpc.call({ op: 'fail' })).rejects.toThrow('no such thing');
    expect(rpc.failure).toBeUndefined();

    await expect(rpc.call({ op: 'exit' })).rejects.toThrow('worker exited (code 3)');
    expect(rpc.failure?.message).toBe('worker exited (code 3)');
    await expect(rpc.call({ n: 1 })).rejects.toThrow('worker exited (code 3)');
    await rpc.close();
  });
});

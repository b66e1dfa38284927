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
const cancels = [];
const held = [];
parentPort.on('message', (m) => {
  if (m.cancel !== undefined) return void cancels.push(m.cancel);
  if (m.op === 'slow') return void held.push(m.id);
  // Answers the held calls late, then this call: the port keeps the order, so no timer is needed.
  if (m.op === 'release') {
    for (const id of held.splice(0)) parentPort.postMessage({ id, twice: 0 });
    return void parentPort.postMessage({ id: m.id, twice: -1 });
  }
  if (m.op === 'cancels') return void parentPort.postMessage({ id: m.id, twice: 0, cancels });
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

  it('an aborted call rejects at once, tells the worker which call to cancel, and drops its late answer', async () => {
    const rpc = new WorkerRpc<{ op?: string; n?: number }, { twice: number; cancels?: number[] }>(() => pathToFileURL(script), 'unused');
    try {
      // Started first: an abort before the worker is up never reaches it (checked below).
      await rpc.started();
      const ac = new AbortController();
      const slow = rpc.call({ op: 'slow' }, [], ac.signal);
      // call() posts after awaiting the (settled) ready promise: one macrotask turn later it is sent.
      await new Promise((r) => setImmediate(r));
      ac.abort(new Error('stop now'));
      await expect(slow).rejects.toThrow('stop now');
      // The worker heard which call to drop; its late answer (sent before this reply) disturbs nothing.
      expect((await rpc.call({ op: 'release' })).twice).toBe(-1);
      const { cancels } = await rpc.call({ op: 'cancels' });
      expect(cancels).toHaveLength(1);
      expect((await rpc.call({ n: 4 })).twice).toBe(8);
      // An already aborted signal never reaches the worker.
      await expect(rpc.call({ n: 1 }, [], AbortSignal.abort(new Error('too late')))).rejects.toThrow('too late');
      expect((await rpc.call({ op: 'cancels' })).cancels).toHaveLength(1);
    } finally {
      await rpc.close();
    }
  });
});

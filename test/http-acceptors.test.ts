import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Acceptors, connectionOptions } from '../src/http/acceptors.ts';
import { type TestServer, startTestServer } from './support/server.ts';
import { tempDir } from './support/temp.ts';
import { waitFor } from './support/wait.ts';

const CONNECTIONS = 40;

/**
 * A child process opens CONNECTIONS connections and sends a request on each while this process
 * (the server) is kept from running, so all of them wait in the kernel's accept queues. Then
 * the server runs again, and each request notes the turn of the event loop that answered it.
 */
async function requestsPerTurn(acceptSockets: number): Promise<{ counts: number[]; answered: number }> {
  let turn = 0;
  const turns: number[] = [];
  const s: TestServer = await startTestServer({ acceptSockets }, { extendApp: (app) => app.get('/__test/turn', (c) => (turns.push(turn), c.text('ok'))) });
  const ready = path.join(tempDir(), 'ready');
  const script = `
    const net = require('node:net');
    let open = 0, answered = 0;
    for (let i = 0; i < ${CONNECTIONS}; i++) {
      const c = net.connect(${s.port}, '127.0.0.1', () => {
        c.write('GET /__test/turn HTTP/1.1\\r\\nHost: 127.0.0.1:${s.port}\\r\\n\\r\\n');
        if (++open === ${CONNECTIONS}) require('node:fs').writeFileSync(${JSON.stringify(ready)}, '');
      });
      c.on('data', () => { if (++answered === ${CONNECTIONS}) console.log(answered); });
    }
    process.stdin.on('end', () => process.exit(0)).resume();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  try {
    // Keep the event loop from running until every connection is made and its request sent.
    const lock = new Int32Array(new SharedArrayBuffer(4));
    const hangGuard = Date.now() + 60_000;
    while (!fs.existsSync(ready) && Date.now() < hangGuard) Atomics.wait(lock, 0, 0, 5);
    expect(fs.existsSync(ready)).toBe(true);
    let spinning = true;
    const spin = () => {
      turn++;
      if (spinning) setImmediate(spin);
    };
    spin();
    await waitFor(() => turns.length === CONNECTIONS && out.trim() === String(CONNECTIONS), { timeoutMs: 30_000 });
    spinning = false;
    const counts = new Map<number, number>();
    for (const t of turns) counts.set(t, (counts.get(t) ?? 0) + 1);
    return { counts: [...counts.values()], answered: Number(out.trim()) };
  } finally {
    child.stdin.end();
    await s.close();
  }
}

describe('accepting connections while the event loop is busy', () => {
  it('with several listening sockets, one turn of the event loop takes in several new connections', async () => {
    const { counts, answered } = await requestsPerTurn(8);
    expect(answered).toBe(CONNECTIONS);
    expect(Math.max(...counts)).toBeGreaterThan(1);
    // Far fewer turns than connections: the queue empties in a few turns.
    expect(counts.length).toBeLessThan(CONNECTIONS / 2);
  });

  it('with one socket, libuv takes in one new connection per turn (what the extra sockets are for)', async () => {
    const { counts, answered } = await requestsPerTurn(1);
    expect(answered).toBe(CONNECTIONS);
    expect(Math.max(...counts)).toBe(1);
  });
});

describe('the extra listening sockets treat connections as the server does', () => {
  it('copies Nagle and TCP keep-alive settings from the target server', () => {
    // http.Server turns Nagle off by default; a plain net.Server keeps it on.
    expect(connectionOptions(http.createServer())).toEqual({ noDelay: true, keepAlive: false, keepAliveInitialDelay: 0 });
    expect(connectionOptions(net.createServer({ keepAlive: true, keepAliveInitialDelay: 3000 }))).toEqual({ noDelay: false, keepAlive: true, keepAliveInitialDelay: 3000 });
  });

  it('every connection, whichever socket took it in, has Nagle off like the server\'s own', async () => {
    const target = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => target.listen({ host: '127.0.0.1', port: 0, reusePort: true }, resolve));
    const port = (target.address() as net.AddressInfo).port;
    const acceptors = await Acceptors.open(target, '127.0.0.1', port, 3, 16);
    // Node records on each socket what was applied to it (the same field it reads back).
    const noDelayOf = (s: net.Socket) => {
      const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'kSetNoDelay');
      return key ? (s as unknown as Record<symbol, unknown>)[key] : undefined;
    };
    const seen: unknown[] = [];
    target.on('connection', (socket: net.Socket) => seen.push(noDelayOf(socket)));
    try {
      // The kernel spreads new connections over the four sockets: 24 of them reach the extra
      // ones with overwhelming likelihood.
      for (let i = 0; i < 24; i++) expect(await (await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } })).text()).toBe('ok');
      await waitFor(() => seen.length === 24);
      expect(seen).toEqual(Array(24).fill(true));
    } finally {
      acceptors.close();
      target.closeAllConnections();
      await new Promise((resolve) => target.close(resolve));
    }
  });
});

/**
 * The machine's budget for an opening rush: bare node:http that spends a fixed amount of CPU on
 * every request before answering with fixed bytes, optionally with a second thread that spends
 * its own fixed amount on every POST first (a writer thread, taking requests in arrival order).
 * Run under the rush's open-loop load (bench/scenarios/rush-budget.ts) it shows how much work per
 * request this machine can do and still meet the rush gates, whatever that work is.
 * Usage: node --import tsx bench/budget-server.ts --port P --cpu-us N [--writer-cpu-us M]
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'cpu-us': { type: 'string', default: '0' }, 'writer-cpu-us': { type: 'string', default: '0' } } });
const port = Number(values.port);
const cpuMs = Number(values['cpu-us']) / 1000;
const writerMs = Number(values['writer-cpu-us']) / 1000;
if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`budget-server: invalid --port ${values.port ?? ''}`);
if (!(cpuMs >= 0) || !(writerMs >= 0)) throw new Error('budget-server: --cpu-us and --writer-cpu-us must be numbers >= 0');

// What the rush client reads from a registration's answer.
const body = Buffer.from(`<!doctype html><html><body><h1>You are registered</h1><p data-testid="attendee-code">ABCDEFGH</p>${'<p>page</p>'.repeat(300)}</body></html>`);
const headers = { 'content-type': 'text/html; charset=UTF-8', 'content-length': String(body.length) };

/** Busy for `ms` of wall time on this thread: the stand-in for real work. */
const spend = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};

let writer: Worker | undefined;
const waiting = new Map<number, () => void>();
let nextId = 0;
let batch: number[] = [];
if (writerMs > 0) {
  // Each batch costs writerMs per request in it, answered together, like a group commit.
  writer = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', (ids) => { const end = performance.now() + ${writerMs} * ids.length; while (performance.now() < end); parentPort.postMessage(ids); });`,
    { eval: true },
  );
  writer.on('message', (ids: number[]) => {
    for (const id of ids) {
      waiting.get(id)?.();
      waiting.delete(id);
    }
  });
}

const server = http.createServer((req, res) => {
  const answer = () => {
    res.writeHead(200, headers);
    res.end(body);
  };
  // The request's body is read before the work, as a real form handler does.
  req.resume();
  req.on('end', () => {
    spend(cpuMs);
    if (!writer || req.method !== 'POST') return answer();
    const id = nextId++;
    waiting.set(id, answer);
    if (batch.length === 0) {
      setImmediate(() => {
        writer?.postMessage(batch);
        batch = [];
      });
    }
    batch.push(id);
  });
});
server.listen(port, '127.0.0.1');

const stop = () => {
  void writer?.terminate();
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

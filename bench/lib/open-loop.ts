import http from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * An open-loop load: each request starts on its schedule whether or not earlier ones were
 * answered, as people arriving at an opening do, and its latency counts from the scheduled start
 * (so time spent waiting for a connection or behind a slow server is not hidden). A person who
 * gets the queue page asks again when its Refresh header says, with its cookie, until answered.
 */
export interface Arrival {
  /** ms after the start */
  at: number;
  email: string;
}

export interface Outcome {
  email: string;
  scheduledAt: number;
  /** ms from the scheduled start to the first answer (the result, or the queue page) */
  firstMs: number;
  firstStatus: number;
  /** ms from the scheduled start to the final answer */
  finalMs: number;
  finalStatus: number;
  queued: boolean;
  /** from the final page: what it told the person */
  told: 'confirmed' | 'waitlisted' | 'other';
  code: string | undefined;
  error?: string;
}

export interface OpenLoopResult {
  registrations: Outcome[];
  views: { ms: number[]; failures: number };
  /** ms from the start until the last answer */
  elapsedMs: number;
  /** requests sent again after a reused keep-alive connection was closed under them */
  retries: number;
}

const TIMEOUT_MS = 30_000;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One request. A keep-alive connection the server closed just as it was reused (its idle timer
 * fired) fails before any answer; browsers send the request again on a new connection, and so
 * does this (Node's documented `reusedSocket` check). Counted in `retries`.
 */
function request(agent: http.Agent, base: URL, method: string, path: string, headers: Record<string, string>, body: string | undefined, stats: { retries: number }, retry = true): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: base.hostname, port: base.port, method, path, headers: body ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (retry && req.reusedSocket && (e.code === 'ECONNRESET' || e.message === 'socket hang up')) {
        stats.retries++;
        resolve(request(agent, base, method, path, headers, body, stats, false));
      } else {
        reject(e);
      }
    });
    req.end(body);
  });
}

function told(body: string): Outcome['told'] {
  if (body.includes('You are registered')) return 'confirmed';
  if (body.includes('You are on the waiting list')) return 'waitlisted';
  return 'other';
}

export async function openLoop(opts: { url: string; slug: string; arrivals: Arrival[]; viewsPerSec: number; durationMs: number }): Promise<OpenLoopResult> {
  const base = new URL(opts.url);
  if (base.hostname !== '127.0.0.1') throw new Error('benchmarks only target 127.0.0.1');
  // Unlimited sockets: a request with no idle connection opens a new one, as a browser would.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const form = { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' };
  const t0 = performance.now() + 50;
  const outcomes: Promise<Outcome>[] = [];
  const viewMs: number[] = [];
  let viewFailures = 0;
  const views: Promise<void>[] = [];
  const stats = { retries: 0 };

  const register = async (a: Arrival): Promise<Outcome> => {
    const scheduledAt = t0 + a.at;
    const since = () => performance.now() - scheduledAt;
    const o: Outcome = { email: a.email, scheduledAt: a.at, firstMs: 0, firstStatus: 0, finalMs: 0, finalStatus: 0, queued: false, told: 'other', code: undefined };
    try {
      let r = await request(agent, base, 'POST', `/e/${opts.slug}/register`, form, `email=${encodeURIComponent(a.email)}&name=Rush+Attendee`, stats);
      o.firstMs = since();
      o.firstStatus = r.status;
      let cookie = '';
      while (r.status === 202) {
        o.queued = true;
        const set = r.headers['set-cookie']?.find((c) => c.startsWith('__Host-tessera_q_'));
        if (set) cookie = set.split(';')[0] ?? '';
        const wait = Number(r.headers.refresh ?? 2) * 1000;
        await new Promise((res) => setTimeout(res, wait));
        r = await request(agent, base, 'GET', `/e/${opts.slug}/queue`, { cookie }, undefined, stats);
      }
      o.finalMs = since();
      o.finalStatus = r.status;
      o.told = told(r.body);
      o.code = /data-testid="attendee-code">([A-Z2-9]{8})</.exec(r.body)?.[1];
    } catch (e) {
      o.error = (e as Error).message;
      o.finalMs = since();
      if (!o.firstMs) o.firstMs = o.finalMs;
    }
    return o;
  };

  const view = async (scheduledAt: number) => {
    try {
      const r = await request(agent, base, 'GET', `/e/${opts.slug}`, {}, undefined, stats);
      if (r.status !== 200) viewFailures++;
      viewMs.push(performance.now() - scheduledAt);
    } catch {
      viewFailures++;
    }
  };

  await new Promise<void>((done) => {
    let next = 0;
    let nextView = 0;
    const viewEvery = 1000 / opts.viewsPerSec;
    const tick = () => {
      const now = performance.now();
      while (next < opts.arrivals.length && t0 + (opts.arrivals[next] as Arrival).at <= now) outcomes.push(register(opts.arrivals[next++] as Arrival));
      while (opts.viewsPerSec > 0 && nextView * viewEvery < opts.durationMs && t0 + nextView * viewEvery <= now) views.push(view(t0 + nextView++ * viewEvery));
      if (next < opts.arrivals.length || (opts.viewsPerSec > 0 && nextView * viewEvery < opts.durationMs)) setTimeout(tick, 1);
      else done();
    };
    setTimeout(tick, 0);
  });
  const registrations = await Promise.all(outcomes);
  await Promise.all(views);
  const elapsedMs = performance.now() - t0;
  agent.destroy();
  return { registrations, views: { ms: viewMs, failures: viewFailures }, elapsedMs, retries: stats.retries };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

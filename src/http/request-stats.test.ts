import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestStats } from './request-stats.ts';

const BOUNDS = [0.001, 0.01, 0.1, 1];

/** Lines of a text exposition, sorted, without blank lines: the order of series is free. */
const lines = (text: string) => text.split('\n').filter(Boolean).sort();

describe('RequestStats', () => {
  it('prints exactly what prom-client prints for the same requests', async () => {
    const ours = new RequestStats(BOUNDS);
    const registry = new Registry();
    const requests = new Counter({ name: 'tessera_http_requests_total', help: 'HTTP requests by route pattern and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
    const latency = new Histogram({ name: 'tessera_http_request_duration_seconds', help: 'HTTP request latency by route pattern', labelNames: ['method', 'route'], buckets: BOUNDS, registers: [registry] });
    const seen: [string, string, number, number][] = [
      ['GET', '/e/:slug', 200, 0.0004],
      ['GET', '/e/:slug', 200, 0.001],
      ['GET', '/e/:slug', 404, 0.02],
      ['POST', '/e/:slug/register', 303, 0.5],
      ['POST', '/e/:slug/register', 200, 3],
      ['GET', '/odd "route"\\x', 500, 0.05],
    ];
    for (const [method, route, status, s] of seen) {
      ours.observe(method, route, status, s);
      requests.inc({ method, route, status: String(status) });
      latency.observe({ method, route }, s);
    }
    expect(lines(ours.exposition())).toEqual(lines(await registry.metrics()));
  });

  it('prints only the headers before the first request', () => {
    expect(lines(new RequestStats(BOUNDS).exposition())).toHaveLength(4);
  });
});

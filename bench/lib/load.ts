import autocannon from 'autocannon';

export interface LoadOptions {
  connections: number;
  /** seconds measured */
  duration: number;
  /** seconds of load thrown away first (JIT, caches, connection setup) */
  warmup: number;
}

export interface LoadSummary {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** completed requests in the measured run */
  requests: number;
  /** completed requests in the warm-up before it (CPU-per-request figures count both) */
  warmupRequests: number;
  /** connection errors + timeouts + non-2xx answers: a run with any is not a fair figure */
  failures: number;
}

/** Extra request shape for non-GET loads (registration POSTs with a fresh body each time). */
export type RequestShape = Pick<Parameters<typeof autocannon>[0], 'method' | 'headers' | 'requests'>;

/** Loads one URL from this process and boils autocannon's result down to what we print. */
export async function runLoad(url: string, opts: LoadOptions, shape: RequestShape = {}): Promise<LoadSummary> {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`refusing to load ${url}: benchmarks only target 127.0.0.1`);
  const warm = opts.warmup > 0 ? await autocannon({ url, connections: opts.connections, duration: opts.warmup, ...shape }) : undefined;
  const r = await autocannon({ url, connections: opts.connections, duration: opts.duration, ...shape });
  const requests = r.requests.total ?? 0;
  return {
    // Completed over wall time, rather than the mean of per-second samples, so a partial last
    // second does not skew it.
    reqPerSec: r.duration > 0 ? requests / r.duration : 0,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests,
    warmupRequests: warm?.requests.total ?? 0,
    failures: r.errors + r.timeouts + r.non2xx,
  };
}

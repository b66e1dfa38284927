// autocannon ships no types; this covers only the part of its programmatic API the bench uses.
declare module 'autocannon' {
  interface Options {
    url: string;
    connections?: number;
    /** seconds */
    duration?: number;
    pipelining?: number;
    /** seconds to wait for a response */
    timeout?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** per-request hooks; setupRequest may rewrite the body (unique emails per registration) */
    requests?: { method?: string; path?: string; headers?: Record<string, string>; setupRequest?: (req: { body?: string; headers?: Record<string, string> }) => { body?: string; headers?: Record<string, string> } }[];
  }

  interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total?: number;
    p50: number;
    p90: number;
    p99: number;
  }

  interface Result {
    /** seconds, as measured by autocannon */
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    resets: number;
    /** milliseconds, 2xx responses only */
    latency: Histogram & { totalCount: number };
    /** per-second samples; `total` counts completed requests */
    requests: Histogram & { sent: number };
    throughput: Histogram;
  }

  function autocannon(opts: Options): Promise<Result>;
  export default autocannon;
}

/**
 * Request count and latency per route, kept in plain arrays and turned into Prometheus metrics
 * only when /metrics is scraped. prom-client's labelled Counter and Histogram validate and hash
 * their label objects on every observation, a few percent of a cached public page's CPU; here
 * an observation is one Map lookup and a few additions. The exposition is what prom-client
 * would print for the same counter and histogram.
 */

interface RouteStats {
  method: string;
  route: string;
  /** status → requests */
  statuses: Map<number, number>;
  /** cumulative counts are built at scrape time; these are per bucket, the last one is +Inf */
  buckets: number[];
  sum: number;
  count: number;
}

/** Prometheus text-format label value: backslash, double quote and newline escaped. */
const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class RequestStats {
  private readonly routes = new Map<string, RouteStats>();

  constructor(private readonly bounds: readonly number[]) {}

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route}`;
    let r = this.routes.get(key);
    if (!r) {
      r = { method, route, statuses: new Map(), buckets: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.routes.set(key, r);
    }
    r.statuses.set(status, (r.statuses.get(status) ?? 0) + 1);
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] as number)) i++;
    r.buckets[i] = (r.buckets[i] as number) + 1;
    r.sum += seconds;
    r.count++;
  }

  /** Both metrics in Prometheus' text exposition format, as prom-client prints a counter and a histogram. */
  exposition(): string {
    const count = ['# HELP tessera_http_requests_total HTTP requests by route pattern and status', '# TYPE tessera_http_requests_total counter'];
    const latency = ['# HELP tessera_http_request_duration_seconds HTTP request latency by route pattern', '# TYPE tessera_http_request_duration_seconds histogram'];
    for (const r of this.routes.values()) {
      const labels = `method="${esc(r.method)}",route="${esc(r.route)}"`;
      for (const [status, n] of r.statuses) count.push(`tessera_http_requests_total{${labels},status="${status}"} ${n}`);
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += r.buckets[i] as number;
        latency.push(`tessera_http_request_duration_seconds_bucket{le="${le}",${labels}} ${cumulative}`);
      });
      latency.push(`tessera_http_request_duration_seconds_bucket{le="+Inf",${labels}} ${r.count}`);
      latency.push(`tessera_http_request_duration_seconds_sum{${labels}} ${r.sum}`);
      latency.push(`tessera_http_request_duration_seconds_count{${labels}} ${r.count}`);
    }
    return `${count.join('\n')}\n\n${latency.join('\n')}\n`;
  }
}

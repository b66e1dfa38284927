import ipaddr from 'ipaddr.js';

/**
 * Fixed-window counters for abuse limits on public forms and outgoing mail (registration,
 * invitations). Unlike the failed-login throttle (src/auth/throttle.ts, persisted in SQLite),
 * these counters live in memory, on purpose: registration is the hot path of an opening rush,
 * where one Map lookup per request is affordable and one more SQL write per registration is not.
 * A restart forgets the counts; that gives an abuser at most one more window, and only the
 * operator can restart the server.
 *
 * A fixed window can let up to twice the limit through around a window edge; for shaping abuse
 * (not for a security boundary such as password guessing) that is an acceptable price for one
 * counter per key.
 */
export interface Limit {
  /** hits allowed per window; 0 switches the limit off */
  max: number;
  windowMs: number;
}

export interface Hit {
  key: string;
  limit: Limit;
}

/**
 * `first` is true for the first refusal of a key in its window: callers audit that one only, so
 * a flood of refused requests costs no database writes.
 */
export type RateVerdict = { ok: true } | { ok: false; key: string; retryAfterMs: number; first: boolean };

interface Window {
  start: number;
  count: number;
  refused: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly networks = new Map<string, string | null>();

  constructor(
    private readonly now: () => number,
    /** bound on memory: past this many keys, expired windows are dropped, then the oldest */
    private readonly maxKeys = 200_000,
  ) {}

  /**
   * Counts one hit against every key, or against none when any of them is used up: a refused
   * request must not spend the budget of the other keys (a crowd's network budget is not
   * consumed by one person's repeated address).
   */
  take(hits: readonly Hit[]): RateVerdict {
    const t = this.now();
    const live: Window[] = [];
    for (const { key, limit } of hits) {
      if (limit.max <= 0) continue;
      let w = this.windows.get(key);
      if (!w || t - w.start >= limit.windowMs) {
        w = { start: t, count: 0, refused: 0 };
        this.windows.set(key, w);
      }
      if (w.count >= limit.max) return { ok: false, key, retryAfterMs: Math.max(1000, w.start + limit.windowMs - t), first: w.refused++ === 0 };
      live.push(w);
    }
    for (const w of live) w.count++;
    if (this.windows.size > this.maxKeys) this.prune(t);
    return { ok: true };
  }

  /** networkOf, remembering recent IPv6 addresses: a crowd sends the same ones again and again. */
  network(ip: string | null | undefined): string | null {
    if (!ip) return null;
    let net = this.networks.get(ip);
    if (net === undefined) {
      net = networkOf(ip);
      if (this.networks.size >= 10_000) this.networks.clear();
      this.networks.set(ip, net);
    }
    return net;
  }

  /** Number of keys held (for tests of the memory bound). */
  get size(): number {
    return this.windows.size;
  }

  private prune(t: number): void {
    // Windows are at most a day long: anything older is expired whatever its limit was.
    for (const [k, w] of this.windows) if (t - w.start >= 86_400_000) this.windows.delete(k);
    // Still too many (a flood of distinct keys): drop the oldest. Map iterates in insertion order.
    for (const k of this.windows.keys()) {
      if (this.windows.size <= this.maxKeys * 0.9) break;
      this.windows.delete(k);
    }
  }
}

/**
 * The network a client address belongs to, as a rate-limit key: an IPv4 address as it is, an
 * IPv6 address by its /64 (one subscriber usually gets a whole /64, so per-address counting
 * would let one person rotate through 2^64 addresses). Unknown or invalid: null (not limited by
 * network; the per-event and per-recipient limits still apply).
 */
export function networkOf(ip: string | null | undefined): string | null {
  if (!ip) return null;
  // The common case, a dotted IPv4 address, needs no parser (ipaddr.js costs several µs a call).
  return IPV4.test(ip) ? ip : parseNetwork(ip);
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function parseNetwork(ip: string): string | null {
  if (!ipaddr.isValid(ip)) return null;
  const a = ipaddr.process(ip);
  if (a.kind() === 'ipv4') return a.toString();
  const parts = (a as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}

export const retryAfterSeconds = (ms: number): string => String(Math.ceil(ms / 1000));

/** "3 minutes", "1 hour": how long to wait, for the pages that say so. */
export function waitText(ms: number): string {
  const min = Math.ceil(ms / 60_000);
  if (min <= 1) return 'a minute';
  if (min < 60) return `${min} minutes`;
  const h = Math.ceil(min / 60);
  return h === 1 ? 'an hour' : `${h} hours`;
}

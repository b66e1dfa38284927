import type { DB } from '../db/open.ts';
import ipaddr from 'ipaddr.js';
import { authRepo } from './repo.ts';

/**
 * Failed-attempt throttling for passwords and second factors (ASVS V6.1.1, V6.3): after a few
 * failures each further attempt must wait exponentially longer, and past a limit the key is
 * locked for a while. Only failures count; a success clears the account keys.
 *
 * Keys:
 * - `account:<userId>`: back-off only, from any network (slows guessing, never locks);
 * - `lock:<userId>@<network>`: the hard lock, per account *and* network (an IPv4 address or an
 *   IPv6 /64), so a stranger can lock an account only for their own network, never for its holder;
 * - `ip:<address>`: everything from one address, across accounts (spraying).
 */
export interface ThrottleRules {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  lockAfter: number;
  lockMs: number;
}

export const accountRules: ThrottleRules = { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 60_000, lockAfter: Number.POSITIVE_INFINITY, lockMs: 0 };
/** No delay of its own (the account key delays); only the lock. */
export const lockRules: ThrottleRules = { freeFailures: 10, baseDelayMs: 0, maxDelayMs: 0, lockAfter: 10, lockMs: 15 * 60_000 };
export const ipRules: ThrottleRules = { freeFailures: 20, baseDelayMs: 1000, maxDelayMs: 60_000, lockAfter: 100, lockMs: 15 * 60_000 };

/** The network an attempt came from: the IPv4 address, or the /64 of an IPv6 address (one subscriber's usual allocation). */
export function networkOf(ip: string | null | undefined): string {
  if (!ip || !ipaddr.isValid(ip)) return 'unknown';
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  if (addr.kind() === 'ipv4') return addr.toString();
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}

export const accountKey = (userId: string) => `account:${userId}`;
export const lockKey = (userId: string, ip: string | null | undefined) => `lock:${userId}@${networkOf(ip)}`;
const lockPrefix = (userId: string) => `lock:${userId}@`;

/** Counters older than this are forgotten. */
const WINDOW_MS = 60 * 60_000;

export type ThrottleVerdict = { allowed: true } | { allowed: false; locked: boolean; retryAfterMs: number };

export class Throttle {
  private readonly repo;
  constructor(
    db: DB,
    private readonly now: () => number,
  ) {
    this.repo = authRepo(db);
  }

  check(key: string): ThrottleVerdict {
    const row = this.repo.throttleGet(key);
    if (!row) return { allowed: true };
    const t = this.now();
    if (row.locked_until && t < row.locked_until) return { allowed: false, locked: true, retryAfterMs: row.locked_until - t };
    if (t < row.next_allowed_at) return { allowed: false, locked: false, retryAfterMs: row.next_allowed_at - t };
    return { allowed: true };
  }

  /** Records a failure; returns true when this failure locked the key. */
  fail(key: string, rules: ThrottleRules): boolean {
    const t = this.now();
    const row = this.repo.throttleGet(key);
    const stale = !row || t - row.last_failure_at > WINDOW_MS || (row.locked_until !== null && t >= row.locked_until);
    const failures = stale ? 1 : row.failures + 1;
    const over = failures - rules.freeFailures;
    const delay = over > 0 ? Math.min(rules.baseDelayMs * 2 ** (over - 1), rules.maxDelayMs) : 0;
    const lock = failures >= rules.lockAfter;
    this.repo.throttlePut({ key, failures: lock ? 0 : failures, last_failure_at: t, next_allowed_at: t + delay, locked_until: lock ? t + rules.lockMs : null });
    return lock;
  }

  clear(key: string): void {
    this.repo.throttleClear(key);
  }

  isLocked(key: string): boolean {
    const v = this.check(key);
    return !v.allowed && v.locked;
  }

  /** Clears the account's back-off and its locks from every network (an admin's unlock, a reset). */
  clearAccount(userId: string): void {
    this.repo.throttleClear(accountKey(userId));
    this.repo.throttleClearPrefix(lockPrefix(userId));
  }

  /** Whether the account is locked from any network (for the admin's users page). */
  accountLockedAnywhere(userId: string): boolean {
    return this.repo.throttleLockedWithPrefix(lockPrefix(userId), this.now());
  }
}

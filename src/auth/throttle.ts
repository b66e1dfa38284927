import type { DB } from '../db/open.ts';
import { authRepo } from './repo.ts';

/**
 * Failed-attempt throttling for passwords and second factors (ASVS V6.3 / V8): after a few
 * failures each further attempt must wait exponentially longer, and past a limit the key is
 * locked for a while. Keys are `account:<userId>` and `ip:<address>`. Only failures count;
 * a success clears the account key.
 */
export interface ThrottleRules {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  lockAfter: number;
  lockMs: number;
}

export const accountRules: ThrottleRules = { freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 60_000, lockAfter: 10, lockMs: 15 * 60_000 };
export const ipRules: ThrottleRules = { freeFailures: 20, baseDelayMs: 1000, maxDelayMs: 60_000, lockAfter: 100, lockMs: 15 * 60_000 };
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
}

/**
 * Waits for a condition instead of sleeping a fixed time and hoping (DESIGN §4): a passing test
 * takes as long as the condition needs, and the deadline only bounds how long a failing one
 * hangs, so it can be generous for a loaded machine without slowing the suite.
 */
export interface WaitOptions {
  /** Names the condition in the timeout error. */
  what?: string;
  timeoutMs?: number;
  everyMs?: number;
}

/** Polls until fn() returns a truthy value and returns it; throws after the deadline. */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      lastError = undefined;
    } catch (e) {
      // An assertion inside fn may hold only later; keep its message for the timeout error.
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${opts.timeoutMs ?? 30_000} ms waiting for ${opts.what ?? 'the condition'}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 20));
  }
}

import { randomBytes } from 'node:crypto';
import { TargetError } from './errors.ts';
import type { BackupTarget } from './targets/target.ts';

/** Outside generations/, keyrings/ and logs/: no listing that restore, retention or verify reads ever sees one. */
export const PROBE_PREFIX = 'probes/';

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/**
 * "Test connection": writes a small object through the same put() the shipper uses, reads it
 * back, compares, and deletes it. A check() alone (a listing) passes with a key that may read but
 * not write, which is the mistake that matters for a backup. Every failure is a TargetError whose
 * message names the target and the step, never a secret.
 */
export async function probeTarget(t: BackupTarget, timeoutMs: number, now: () => number = Date.now): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  const key = `${PROBE_PREFIX}${new Date(now()).toISOString().replace(/[-:.]/g, '')}-${randomBytes(6).toString('hex')}.probe`;
  const bytes = Buffer.from(`tessera connection test ${key}\n`);
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new TargetError('unreachable', `${t.label}: no answer within ${Math.round(timeoutMs / 1000)} s while trying to ${what}`)), { once: true })),
      ]);
    } catch (e) {
      if (e instanceof TargetError) throw e;
      throw new TargetError('other', `${t.label}: could not ${what} (${e instanceof Error ? e.message : String(e)})`);
    }
  };
  await step('open the target', () => t.check());
  await step('write a test object', () => t.put(key, { data: [bytes] }, signal));
  try {
    const back = await step('read the test object back', async () => readAll(await t.get(key, signal)));
    if (!back.equals(bytes)) throw new TargetError('other', `${t.label}: the test object came back different from what was written`);
  } catch (e) {
    // A probe left behind is harmless, but tidy is better; the read failure is what to report.
    await t.delete([key]).catch(() => undefined);
    throw e;
  }
  // Retention deletes old objects: a key that may write but not delete fills the bucket for ever.
  await step('delete the test object', () => t.delete([key]));
}

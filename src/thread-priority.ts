import fs from 'node:fs';
import os from 'node:os';

/**
 * Gives the calling thread a lower CPU priority (a higher nice value), on Linux, where a thread
 * has its own id and setpriority() on it changes that thread alone. The background workers
 * (checkpoints, sealing segments, uploads) call it: on a small machine, a worker woken beside
 * the event loop otherwise takes its core at once and requests queue behind it, while a lower
 * priority lets it run when the event loop waits. The backup keeps its budget: the work is a
 * small share of a core, which a nice value of 5 still grants under full load. Elsewhere, or if
 * the system refuses, nothing changes.
 */
/** The nice value of the background workers: CFS weight 335 against the event loop's 1024. */
export const BACKGROUND_NICE = 5;

export function lowerThreadPriority(nice: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    os.setPriority(tid, Math.max(os.getPriority(tid), nice));
    return true;
  } catch {
    return false;
  }
}

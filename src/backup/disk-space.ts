import { type Faults, isDiskFull } from '../db/faults.ts';

/**
 * The backup side of the shared disk-full state: a checkpoint or spool write that fails for lack
 * of space raises it, and the next one that goes through clears it (DESIGN: a full disk is a
 * state the server recovers from by itself, not a crash).
 */
export interface DiskSpaceReport {
  faults?: Faults;
}

/** A write went through: a full disk, if it was one, has space again. */
export function succeeded(r: DiskSpaceReport): void {
  r.faults?.clear('disk-full');
}

/** Raises disk-full when `e` says the disk is full; other errors are the caller's to report. */
export function failedFor(r: DiskSpaceReport, e: unknown, what: string): void {
  if (isDiskFull(e)) r.faults?.raise('disk-full', `the disk is full: ${what} could not be written`);
}

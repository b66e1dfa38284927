import type { DB } from '../db/open.ts';

/**
 * Seam for the privacy capability's erasure ledger (issue: access/erasure requests).
 *
 * A restore brings back the database as it was at some earlier moment, including people who
 * asked to be erased after that moment. Once the ledger exists, this function re-applies every
 * erasure recorded after the restored position, so a restore never resurrects erased personal
 * data. The ledger must therefore live outside the backed-up database's history (or be read from
 * the newest backup), which is the privacy work's decision to make.
 *
 * Until then it is a documented no-op: there is nothing to replay.
 */
export function replayErasureLedger(_db: DB): { replayed: number } {
  return { replayed: 0 };
}

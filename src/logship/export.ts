import type { BackupTarget } from '../backup/targets/target.ts';
import type { DataKey } from '../keys/keyring.ts';
import { GENESIS, LogObjectError, type Stream, decodeLogObject, parseLogKey, sha256Hex } from './format.ts';

export interface ExportReport {
  objects: number;
  lines: number;
  epochs: string[];
  /** lines the shipper recorded as lost before they were shipped */
  dropped: number;
  /** chain breaks and unreadable objects: each makes the export fail */
  problems: string[];
}

/**
 * Reads one stream's objects from a target in chain order, verifies each (authenticity, its name)
 * and its link to the one before, and hands every verified line to `emit`. A missing, replaced or
 * reordered object is reported, and reading goes on with the next object, so what survives is
 * still shown. The chain cannot see objects cut off at the end: compare the newest object's time
 * with when the host was last known good.
 */
export async function exportLogs(target: BackupTarget, stream: Stream, keys: { byId(id: string): DataKey | undefined }, emit: (line: string) => void): Promise<ExportReport> {
  const report: ExportReport = { objects: 0, lines: 0, epochs: [], dropped: 0, problems: [] };
  const objects = (await target.list(`logs/${stream}/`)).flatMap((o) => {
    const p = parseLogKey(o.key);
    return p?.stream === stream ? [{ key: o.key, ...p }] : [];
  });
  objects.sort((a, b) => (a.epoch === b.epoch ? a.index - b.index : a.epoch < b.epoch ? -1 : 1));
  let epoch: string | undefined;
  let expected = 0;
  let prev = GENESIS;
  for (const o of objects) {
    if (o.epoch !== epoch) {
      epoch = o.epoch;
      report.epochs.push(o.epoch);
      expected = 0;
      prev = GENESIS;
    }
    if (o.index !== expected) {
      report.problems.push(o.index - expected === 1 ? `${stream}: object ${expected} of chain ${o.epoch} is missing` : `${stream}: objects ${expected}–${o.index - 1} of chain ${o.epoch} are missing`);
      prev = '';
    }
    const parts: Buffer[] = [];
    for await (const c of await target.get(o.key)) parts.push(Buffer.from(c));
    const bytes = Buffer.concat(parts);
    expected = o.index + 1;
    let decoded;
    try {
      decoded = decodeLogObject(o.key, bytes, keys);
    } catch (e) {
      if (!(e instanceof LogObjectError)) throw e;
      report.problems.push(`${stream}: ${e.message}`);
      prev = '';
      continue;
    }
    // After a reported gap the next link cannot be checked; it starts the chain again.
    if (prev !== '' && decoded.header.prev !== prev) report.problems.push(`${stream}: object ${o.index} of chain ${o.epoch} does not continue the one before it (replaced or reordered)`);
    prev = sha256Hex(bytes);
    report.objects++;
    report.lines += decoded.lines.length;
    report.dropped += decoded.header.dropped;
    for (const l of decoded.lines) emit(l);
  }
  return report;
}

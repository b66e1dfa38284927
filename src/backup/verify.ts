import { Readable, Writable } from 'node:stream';
import type { KeyLookup } from './object-format.ts';
import { WalApplier } from './apply.ts';
import { type GenerationEntry, readCatalog } from './catalog.ts';
import { BackupError, BackupGapError, TamperedObjectError } from './errors.ts';
import { type SegmentHeader, type SnapshotHeader, readObject } from './object-format.ts';
import { type Progress, silentProgress } from './progress.ts';
import type { BackupTarget } from './targets/target.ts';

export type VerifyResult =
  | { ok: true; generations: number; objects: number; bytes: number; warnings: string[] }
  | { ok: false; object: string; message: string; objects: number; warnings: string[] };

/**
 * Downloads and authenticates every snapshot and segment of a target, and checks that segments
 * follow each other without a gap and continue the WAL checksum chain from the oldest snapshot
 * of their generation. Stops at the first bad object and names it.
 */
export async function verifyBackups(target: BackupTarget, keys: KeyLookup, progress: Progress = silentProgress): Promise<VerifyResult> {
  const cat = await readCatalog(target);
  const warnings: string[] = [];
  const total = cat.generations.reduce((n, g) => n + g.bytes, 0);
  const count = cat.generations.reduce((n, g) => n + g.snapshots.length + g.segments.length, 0);
  progress.start(total, count);
  let objects = 0;
  let current = '';
  try {
    for (const g of cat.generations) {
      objects += await verifyGeneration(target, keys, g, warnings, progress, (name) => (current = name));
    }
  } catch (e) {
    progress.done();
    if (e instanceof BackupError) return { ok: false, object: e instanceof TamperedObjectError ? e.object : current, message: e.message, objects, warnings };
    throw e;
  }
  progress.done();
  return { ok: true, generations: cat.generations.length, objects, bytes: total, warnings };
}

async function verifyGeneration(target: BackupTarget, keys: KeyLookup, g: GenerationEntry, warnings: string[], progress: Progress, visiting: (name: string) => void): Promise<number> {
  if (g.snapshots.length === 0) warnings.push(`generation ${g.id} has no snapshot (yet): its ${g.segments.length} segments cannot be restored on their own`);
  let chain: WalApplier | undefined;
  let n = 0;
  for (const [i, s] of g.snapshots.entries()) {
    visiting(s.key);
    const applier = new WalApplier(undefined);
    let header: SnapshotHeader | undefined;
    let seen = 0;
    const wal: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        const skip = Math.max(0, Math.min(chunk.length, (header as SnapshotHeader).dbBytes - seen));
        seen += chunk.length;
        if (skip < chunk.length) wal.push(Buffer.from(chunk.subarray(skip)));
        done();
      },
    });
    const h = await readObject(await target.get(s.key), sink, {
      name: s.key,
      keys,
      onHeader: (hd) => {
        if (hd.kind !== 'snapshot') throw new TamperedObjectError(s.key, 'not a snapshot');
        header = hd;
      },
    });
    applier.snapshot(s.key, h as SnapshotHeader, Buffer.concat(wal));
    if (i === 0) chain = applier;
    progress.advance(s.size, 1);
    n++;
  }
  const first = g.snapshots[0];
  let expected = g.segments[0]?.index ?? 0;
  for (const s of g.segments) {
    visiting(s.key);
    if (s.index !== expected) throw new BackupGapError(`segment ${expected} of generation ${g.id} is missing (the next one present is ${s.key})`);
    expected++;
    const parts: Buffer[] = [];
    for await (const c of await target.get(s.key)) parts.push(Buffer.from(c));
    const payload: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        payload.push(chunk);
        done();
      },
    });
    const h = await readObject(Readable.from([Buffer.concat(parts)]), sink, { name: s.key, keys });
    if (h.kind !== 'segment') throw new TamperedObjectError(s.key, 'not a segment');
    // Segments older than the oldest snapshot only authenticate; the rest must chain from it.
    if (chain && first && s.index >= first.nextSegment) chain.segment(s.key, h as SegmentHeader, Buffer.concat(payload));
    else WalApplier.checkAlone(s.key, h as SegmentHeader, Buffer.concat(payload));
    progress.advance(s.size, 1);
    n++;
  }
  return n;
}

/**
 * Worker thread that turns captured WAL frames into a sealed segment (see segment-sealer.ts): it
 * compresses and encrypts them and hands back the whole object in one shared buffer. Erasable
 * TypeScript importing only Node and modules that do the same, so Node runs it as is; the single
 * binary runs its bundle.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import zlib from 'node:zlib';
import { sealAllInto, sealedTotal } from './chunk-seal.ts';
import { BACKGROUND_NICE, lowerThreadPriority } from '../thread-priority.ts';

interface Job {
  id: number;
  /** the capture's memory: shared with the main thread (read in place) or moved here */
  buffers: ArrayBufferLike[];
  /** the payload in order (WAL header, then frames) as (buffer, offset, length) */
  pieces: [number, number, number][];
  preamble: Uint8Array;
  key: Uint8Array;
  codec: 'zstd' | 'gzip';
  /** memory to write the object into, if it is big enough (the main thread reuses it) */
  out?: SharedArrayBuffer;
}

/** The joined plaintext of the last segment, reused: fresh memory costs a page fault per 4 KiB. */
let scratch: Buffer | undefined;
/** A bigger segment (a bulk import) gets memory of its own, so the worker does not keep it. */
const SCRATCH_MAX = 64 * 1024 * 1024;

function joined(job: Job): Buffer {
  let total = 0;
  for (const [, , length] of job.pieces) total += length;
  let out: Buffer;
  if (total > SCRATCH_MAX) out = Buffer.allocUnsafeSlow(total);
  else {
    if (!scratch || scratch.length < total) scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.ceil(total / (1 << 22) + 1) * (1 << 22)));
    out = scratch;
  }
  let at = 0;
  for (const [i, offset, length] of job.pieces) {
    at += Buffer.from(job.buffers[i] as ArrayBuffer, offset, length).copy(out, at);
  }
  return out.subarray(0, total);
}

/**
 * The whole object (preamble, then the sealed chunks) in shared memory: the main thread spools it
 * and an upload worker sends it, and neither copies it or faults in fresh pages for it.
 */
function seal(job: Job): Buffer {
  const plain = joined(job);
  const packed = job.codec === 'zstd' ? zlib.zstdCompressSync(plain, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } }) : zlib.gzipSync(plain, { level: 1 });
  const preamble = Buffer.from(job.preamble.buffer, job.preamble.byteOffset, job.preamble.byteLength);
  const length = preamble.length + sealedTotal(packed.length);
  const out = Buffer.from(job.out && job.out.byteLength >= length ? job.out : new SharedArrayBuffer(length), 0, length);
  preamble.copy(out, 0);
  const end = sealAllInto(out, preamble.length, Buffer.from(job.key), createHash('sha256').update(preamble).digest(), packed);
  if (end !== out.length) throw new Error('sealed segment has an unexpected length');
  return out;
}

parentPort?.on('message', (job: Job) => {
  try {
    const out = seal(job);
    // The offered memory arrived here as another SharedArrayBuffer object over the same bytes, so
    // the main thread cannot tell by identity whether it was used: the reply says so.
    const inOffer = out.buffer === job.out;
    parentPort?.postMessage({ id: job.id, ...(inOffer ? {} : { object: out.buffer }), length: out.length });
  } catch (e) {
    parentPort?.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) });
  }
});
lowerThreadPriority(BACKGROUND_NICE);
parentPort?.postMessage({ ready: true });

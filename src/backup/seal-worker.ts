/**
 * Worker thread that seals segments (see segment-sealer.ts): compresses the joined WAL frames it
 * is handed and encrypts them into one buffer that goes back whole. Synchronous here, on purpose:
 * on Node's thread pool the compression queued behind the commits' fsyncs and took seconds under
 * a registration rush. Erasable TypeScript importing only Node and chunk-seal.ts, so Node runs it
 * as is; the single binary runs its bundle.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import zlib from 'node:zlib';
import { sealAllInto, sealedTotal } from './chunk-seal.ts';

interface Job {
  id: number;
  /** the payload (WAL header, then frames), moved here */
  plain: ArrayBuffer;
  preamble: Uint8Array;
  key: Uint8Array;
  codec: 'zstd' | 'gzip';
}

function seal(job: Job): Buffer {
  const plain = Buffer.from(job.plain);
  const packed = job.codec === 'zstd' ? zlib.zstdCompressSync(plain, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } }) : zlib.gzipSync(plain, { level: 1 });
  const preamble = Buffer.from(job.preamble.buffer, job.preamble.byteOffset, job.preamble.byteLength);
  // Its own memory (not Node's shared pool), so it can move back to the main thread whole.
  const out = Buffer.from(new ArrayBuffer(preamble.length + sealedTotal(packed.length)));
  preamble.copy(out, 0);
  const end = sealAllInto(out, preamble.length, Buffer.from(job.key), createHash('sha256').update(preamble).digest(), packed);
  if (end !== out.length) throw new Error('sealed segment has an unexpected length');
  return out;
}

parentPort?.on('message', (job: Job) => {
  try {
    const out = seal(job);
    parentPort?.postMessage({ id: job.id, object: out.buffer }, [out.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) });
  }
});
parentPort?.postMessage({ ready: true });

import { segmentWorkerAssetKey } from '../assets.ts';
import type { DataKey } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import { OptionalWorker } from '../worker-rpc.ts';
import { type HeaderInput, defaultCodec, objectPreamble, sealInMemory } from './object-format.ts';

interface Sealed {
  /** memory holding the whole object (preamble, then the sealed chunks) from byte 0 */
  object?: SharedArrayBuffer;
  length: number;
}

/**
 * Seals segments on a worker thread: compressing and encrypting a busy second's WAL (tens of
 * megabytes) cost the event loop several percent of its time under a registration rush, and the
 * buffers it allocated doubled the main heap's garbage collection. The worker reads the captured
 * frames in place (shared capture memory) and writes the whole object into shared memory, which
 * the spool and the S3 upload worker then read in place. If the worker cannot start, the same
 * work runs here (sealInMemory), as before.
 */
export class SegmentSealer {
  private readonly worker: OptionalWorker<object, Sealed>;

  /** `entry`: the worker's file (tests give another to see the fallback). */
  constructor(
    log: Logger,
    entry: () => URL = () => new URL('./segment-worker.ts', import.meta.url),
  ) {
    this.worker = new OptionalWorker(entry, segmentWorkerAssetKey, (why) => log.warn({ err: why }, 'backup: segment worker unavailable; segments are sealed on the main thread'));
  }

  /**
   * The sealed object for `payload` (WAL header and captured frames). Shared memory is read by
   * the worker in place; views of other memory bigger than Node's shared pool move to the worker
   * with that memory, and every view of it is empty here afterwards; small ones are copied.
   */
  async seal(input: HeaderInput, payload: Buffer[], key: DataKey): Promise<Buffer[]> {
    const rpc = await this.worker.get();
    if (!rpc) return (await sealInMemory(input, payload, key)).parts;
    const { preamble } = objectPreamble(input, key);
    const { buffers, transfer, pieces } = movable(payload);
    let r: Sealed;
    try {
      r = await rpc.call({ buffers, pieces, preamble, key: key.key, codec: defaultCodec }, transfer);
    } catch (e) {
      // This segment is lost to the backup (frames that were moved went with the worker): the
      // caller starts a new generation, and the next segments are sealed here.
      this.worker.checkAlive();
      throw e;
    }
    if (!r.object) throw new Error('the segment worker returned no object');
    return [Buffer.from(r.object, 0, r.length)];
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}

/**
 * The payload as whole buffers plus (buffer, offset, length) pieces, and which of them move.
 * Shared memory (CaptureBuffers) is passed as is: the worker reads it in place. Other memory
 * larger than the pool is never shared with other buffers, so moving it takes nothing from
 * anyone else; small buffers (the pool) are copied.
 */
export function movable(payload: Buffer[]): { buffers: ArrayBufferLike[]; transfer: ArrayBuffer[]; pieces: [number, number, number][] } {
  const buffers: ArrayBufferLike[] = [];
  const transfer: ArrayBuffer[] = [];
  const index = new Map<ArrayBufferLike, number>();
  const pieces: [number, number, number][] = [];
  for (const b of payload) {
    const shared = b.buffer instanceof SharedArrayBuffer;
    if (shared || (b.buffer instanceof ArrayBuffer && b.buffer.byteLength > Buffer.poolSize)) {
      let i = index.get(b.buffer);
      if (i === undefined) {
        i = buffers.push(b.buffer) - 1;
        index.set(b.buffer, i);
        if (!shared) transfer.push(b.buffer as ArrayBuffer);
      }
      pieces.push([i, b.byteOffset, b.length]);
    } else {
      const copy = Uint8Array.prototype.slice.call(b).buffer;
      transfer.push(copy);
      pieces.push([buffers.push(copy) - 1, 0, b.length]);
    }
  }
  return { buffers, transfer, pieces };
}

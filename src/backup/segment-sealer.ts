import { segmentWorkerAssetKey } from '../assets.ts';
import type { DataKey } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import { WorkerRpc } from '../worker-rpc.ts';
import { type HeaderInput, defaultCodec, objectPreamble, sealInMemory } from './object-format.ts';

interface Sealed {
  body: ArrayBuffer;
  byteOffset: number;
  byteLength: number;
}

/**
 * Seals segments on a worker thread: compressing and encrypting a busy second's WAL (tens of
 * megabytes) cost the event loop several percent of its time under a registration rush, and the
 * buffers it allocated doubled the main heap's garbage collection. The captured frames move to
 * the worker and the sealed body comes back, both without copies. If the worker cannot start,
 * the same work runs here (sealInMemory), as before.
 */
export class SegmentSealer {
  private rpc: WorkerRpc<object, Sealed> | undefined;
  private broken = false;

  constructor(private readonly log: Logger) {}

  /**
   * The sealed object for `payload` (WAL header and captured frames). Buffers that own their
   * memory whole (as readRange makes them) move to the worker without a copy and are empty here
   * afterwards; the others are copied.
   */
  async seal(input: HeaderInput, payload: Buffer[], key: DataKey): Promise<Buffer[]> {
    const { preamble } = objectPreamble(input, key);
    const rpc = this.worker();
    if (rpc) {
      try {
        await rpc.started();
      } catch (e) {
        this.failed(e);
      }
    }
    if (!this.rpc || this.broken) return (await sealInMemory(input, payload, key)).parts;
    const parts = payload.map((b) => (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer ? b.buffer : Uint8Array.prototype.slice.call(b).buffer));
    let r: Sealed;
    try {
      r = await this.rpc.call({ parts, preamble, key: key.key, codec: defaultCodec }, parts);
    } catch (e) {
      // A worker that died takes this segment's frames with it (they were moved there); the
      // caller starts a new generation, and the next segments are sealed here.
      if (this.rpc.failure) this.failed(e);
      throw e;
    }
    return [preamble, Buffer.from(r.body, r.byteOffset, r.byteLength)];
  }

  private worker(): WorkerRpc<object, Sealed> | undefined {
    if (this.broken) return undefined;
    try {
      this.rpc ??= new WorkerRpc(() => new URL('./segment-worker.ts', import.meta.url), segmentWorkerAssetKey);
    } catch (e) {
      this.failed(e);
    }
    return this.rpc;
  }

  private failed(e: unknown): void {
    if (!this.broken) this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'backup: segment worker unavailable; segments are sealed on the main thread');
    this.broken = true;
    void this.rpc?.close();
  }


  close(): Promise<void> {
    return this.rpc?.close() ?? Promise.resolve();
  }
}

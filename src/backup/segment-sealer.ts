import { sealWorkerAssetKey } from '../assets.ts';
import type { DataKey } from '../keys/keyring.ts';
import { WorkerRpc } from '../worker-rpc.ts';
import { type HeaderInput, objectPreamble } from './object-format.ts';

interface SealRequest {
  plain: ArrayBuffer;
  preamble: Uint8Array;
  key: Uint8Array;
  codec: 'zstd' | 'gzip';
}

/**
 * Seals segments on a worker thread, the one way segments are sealed. On the main thread,
 * compressing and encrypting took several percent of the event loop under a registration rush;
 * on Node's thread pool, the compression waited behind the commits' fsyncs: in the backup bench
 * the RPO p99 under registration load went from 1.4 s to 4-5 s without this worker. A worker
 * that fails or dies takes its segment with it (the caller starts a new generation); the next
 * segment starts a fresh one.
 */
export class SegmentSealer {
  private rpc: WorkerRpc<SealRequest, { object: ArrayBuffer }> | undefined;

  constructor(private readonly entry: () => URL = () => new URL('./seal-worker.ts', import.meta.url)) {}

  /** The sealed object for `payload` (WAL header and captured frames), as one buffer. */
  async seal(input: HeaderInput, payload: Buffer[], key: DataKey): Promise<Buffer[]> {
    const { header, preamble } = objectPreamble(input, key);
    // One copy into memory of its own, which then moves to the worker without another.
    let total = 0;
    for (const p of payload) total += p.length;
    const plain = Buffer.allocUnsafeSlow(total);
    let at = 0;
    for (const p of payload) at += p.copy(plain, at);
    const rpc = (this.rpc ??= new WorkerRpc(this.entry, sealWorkerAssetKey));
    try {
      const r = await rpc.call({ plain: plain.buffer as ArrayBuffer, preamble, key: key.key, codec: header.codec }, [plain.buffer as ArrayBuffer]);
      return [Buffer.from(r.object)];
    } catch (e) {
      // Whatever went wrong, the next segment gets a fresh worker.
      if (this.rpc === rpc) this.rpc = undefined;
      void rpc.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    const rpc = this.rpc;
    this.rpc = undefined;
    await rpc?.close();
  }
}

import { s3PutWorkerAssetKey } from '../../assets.ts';
import { WorkerRpc } from '../../worker-rpc.ts';
import type { ObjectBody } from './target.ts';

/** A body the upload worker reads itself: shared memory in place, or a range of a spool file. */
export type OffThreadBody = { shared: Uint8Array } | { file: string; offset: number; length: number };

export interface UploadRequest {
  url: string;
  method: string;
  headers: [string, string][];
  body: OffThreadBody;
  timeoutMs: number;
}

export interface UploadAnswer {
  status: number;
  etag?: string;
  text?: string;
}

/**
 * The bytes `offset..offset+length` of a body, if the worker can get them without a copy here: a
 * spooled file, or one buffer of shared memory (a segment from the segment worker). Anything else
 * (a keyring copy, segments sealed on the main thread) is small or rare and goes through fetch.
 */
export function offThreadBody(body: ObjectBody, offset: number, length: number): OffThreadBody | undefined {
  if ('file' in body) return { file: body.file, offset, length };
  const only = body.data.length === 1 ? body.data[0] : undefined;
  if (only && only.buffer instanceof SharedArrayBuffer) return { shared: only.subarray(offset, offset + length) };
  return undefined;
}

/**
 * The S3 upload worker (s3-put-worker.ts) of one target: requests are signed here (a few HMACs)
 * and sent there. undefined from worker() once it could not start or died: the target then
 * uploads through fetch on the main thread, as before.
 */
export class S3Uploader {
  private rpc: WorkerRpc<UploadRequest, UploadAnswer> | undefined;
  private broken = false;

  constructor(
    private readonly onBroken: (why: string) => void,
    private readonly entry: () => URL = () => new URL('./s3-put-worker.ts', import.meta.url),
  ) {}

  async worker(): Promise<WorkerRpc<UploadRequest, UploadAnswer> | undefined> {
    if (this.broken) return undefined;
    try {
      this.rpc ??= new WorkerRpc(this.entry, s3PutWorkerAssetKey);
      await this.rpc.started();
      return this.rpc;
    } catch (e) {
      this.fail(e);
      return undefined;
    }
  }

  /** After a failed call: if the worker itself is gone, later uploads go through fetch. */
  checkAlive(): void {
    if (this.rpc?.failure) this.fail(this.rpc.failure);
  }

  private fail(e: unknown): void {
    if (!this.broken) this.onBroken(e instanceof Error ? e.message : String(e));
    this.broken = true;
    void this.rpc?.close();
  }

  /** Ends the worker; a later upload starts a new one. */
  async close(): Promise<void> {
    const rpc = this.rpc;
    this.rpc = undefined;
    await rpc?.close();
  }
}

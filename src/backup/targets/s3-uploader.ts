import { s3PutWorkerAssetKey } from '../../assets.ts';
import { OptionalWorker } from '../../worker-rpc.ts';
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
 * The S3 upload worker (s3-put-worker.ts) of one target: requests are signed by the target (a few
 * HMACs) and sent there. Once it could not start or died, the target uploads through fetch on the
 * main thread, as before.
 */
export function s3UploadWorker(onLost: (why: string) => void, entry: () => URL = () => new URL('./s3-put-worker.ts', import.meta.url)): OptionalWorker<UploadRequest, UploadAnswer> {
  return new OptionalWorker(entry, s3PutWorkerAssetKey, onLost);
}

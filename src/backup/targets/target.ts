import fs from 'node:fs';

export interface ObjectInfo {
  /** key relative to the target's prefix, e.g. generations/…/segments/…seg */
  key: string;
  size: number;
}

/** An object's bytes: a file (spooled snapshots) or buffers in memory (segments, keyrings). */
export type ObjectBody = { file: string } | { data: Buffer[] };

export async function bodySize(body: ObjectBody): Promise<number> {
  return 'file' in body ? (await fs.promises.stat(body.file)).size : body.data.reduce((n, b) => n + b.length, 0);
}

/**
 * Where backup objects go: a directory (local disk, NFS, a mounted volume) or an S3-compatible
 * bucket. Keys are always relative to the target's own root or prefix; `label` names the target in
 * logs and errors and never holds a secret.
 */
export interface BackupTarget {
  readonly label: string;
  /** Stores the object under key; durable on the target when it resolves. Overwrites. */
  put(key: string, body: ObjectBody, signal?: AbortSignal): Promise<void>;
  /** The object's bytes; throws TargetError('not-found') when it does not exist. */
  get(key: string, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
  /** Every object whose key starts with prefix, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes the keys; a key that is already gone is not an error. */
  delete(keys: string[]): Promise<void>;
  /** Throws a TargetError with a clear line when the target cannot be used (unreachable, no bucket, refused). */
  check(): Promise<void>;
}

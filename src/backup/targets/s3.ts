import { AwsClient } from 'aws4fetch';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';
import { TargetError } from '../errors.ts';
import { type BackupTarget, type ObjectBody, type ObjectInfo, bodySize } from './target.ts';

/**
 * S3-compatible object storage through aws4fetch: it signs (SigV4) each request and we send it
 * with Node's fetch. The handful of calls a backup needs (PUT, GET, ListObjectsV2, DeleteObjects,
 * multipart upload for large snapshots) are written out here; retries belong to the caller,
 * which backs off per target (aws4fetch's own retries are switched off).
 */

export const s3ConfigSchema = z.object({
  /** https://s3.eu-central-1.amazonaws.com, https://<account>.r2.cloudflarestorage.com, http://127.0.0.1:9000 */
  endpoint: z.url({ protocol: /^https?$/ }),
  region: z.string().min(1),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name'),
  /** no leading or trailing slash; may be empty */
  prefix: z.string().regex(/^(?:[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*)?$/, 'may hold letters, digits, . _ - and / between parts'),
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
  /** MinIO, Garage and most self-hosted servers need path-style URLs (endpoint/bucket/key) */
  pathStyle: z.boolean(),
});
export type S3Config = z.infer<typeof s3ConfigSchema>;

/** Objects above this go up in parts; one PUT is limited to 5 GB and retries all of it. */
const MULTIPART_THRESHOLD = 64 * 1024 * 1024;
const PART_SIZE = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 60_000;

function xmlDecode(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}
const xmlEncode = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Text of every <tag>…</tag> in S3's flat response documents (no attributes, no nesting of the same tag). */
function tags(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  for (const m of xml.matchAll(re)) out.push(m[1] as string);
  return out;
}
const tag = (xml: string, t: string) => {
  const v = tags(xml, t)[0];
  return v === undefined ? undefined : xmlDecode(v);
};

const listEntrySchema = z.object({ key: z.string().min(1), size: z.coerce.number().int().min(0) });

/** fetch wants an ArrayBuffer-backed view; Buffers from slicing are typed as possibly shared. */
const asBody = (b: Buffer) => b as unknown as Uint8Array<ArrayBuffer>;

/** Byte ranges of a body, from a file (opened on first use) or from memory. */
async function rangeReader(body: ObjectBody): Promise<{ range: (off: number, len: number) => Promise<Buffer>; close: () => Promise<void> }> {
  if ('data' in body) {
    const all = body.data.length === 1 ? (body.data[0] as Buffer) : Buffer.concat(body.data);
    return { range: async (off, len) => all.subarray(off, off + len), close: async () => undefined };
  }
  let fh: fs.promises.FileHandle | undefined;
  return {
    range: async (off, len) => {
      fh ??= await fs.promises.open(body.file, 'r');
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, off);
      return buf;
    },
    close: async () => fh?.close(),
  };
}

export class S3Target implements BackupTarget {
  readonly label: string;
  private readonly client: AwsClient;
  private readonly endpoint: URL;

  private readonly multipartThreshold: number;
  private readonly partSize: number;

  constructor(
    private readonly cfg: S3Config,
    tuning: { multipartThreshold?: number; partSize?: number } = {},
  ) {
    this.multipartThreshold = tuning.multipartThreshold ?? MULTIPART_THRESHOLD;
    this.partSize = tuning.partSize ?? PART_SIZE;
    this.label = `s3://${cfg.bucket}${cfg.prefix ? `/${cfg.prefix}` : ''}`;
    this.endpoint = new URL(cfg.endpoint);
    this.client = new AwsClient({ accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey, service: 's3', region: cfg.region, retries: 0 });
  }

  private bucketUrl(): URL {
    const u = new URL(this.endpoint.toString());
    if (this.cfg.pathStyle) u.pathname = `${u.pathname.replace(/\/$/, '')}/${this.cfg.bucket}/`;
    else {
      u.hostname = `${this.cfg.bucket}.${u.hostname}`;
      u.pathname = `${u.pathname.replace(/\/$/, '')}/`;
    }
    return u;
  }

  private fullKey(key: string): string {
    return this.cfg.prefix ? `${this.cfg.prefix}/${key}` : key;
  }

  private objectUrl(key: string): URL {
    const u = this.bucketUrl();
    u.pathname += this.fullKey(key).split('/').map(encodeURIComponent).join('/');
    return u;
  }

  private async request(url: URL, init: RequestInit & { what: string; okStatuses?: number[] }): Promise<Response> {
    let res: Response;
    const signal = init.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) : AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    try {
      // Never follow a redirect: it would carry a signed request and backup bytes wherever it points (ASVS V15.3.2).
      res = await this.client.fetch(url.toString(), { ...init, signal, redirect: 'error' });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.name === 'TimeoutError' ? 'timed out' : (err.cause?.code ?? err.cause?.message ?? err.message);
      throw new TargetError('unreachable', `${this.label}: cannot reach ${this.endpoint.origin} (${why})`);
    }
    if (res.ok || init.okStatuses?.includes(res.status)) return res;
    const body = await res.text().catch(() => '');
    const code = tag(body, 'Code') ?? `HTTP ${res.status}`;
    throw this.errorFor(res.status, code, init.what);
  }

  private errorFor(status: number, code: string, what: string): TargetError {
    const where = `${this.label} at ${this.endpoint.origin}`;
    if (code === 'NoSuchBucket') return new TargetError('no-bucket', `bucket "${this.cfg.bucket}" does not exist at ${this.endpoint.origin}`);
    if (code === 'InvalidAccessKeyId') return new TargetError('auth', `${where}: the access key id was rejected (InvalidAccessKeyId)`);
    if (code === 'SignatureDoesNotMatch') return new TargetError('auth', `${where}: the secret access key was rejected (SignatureDoesNotMatch)`);
    // Real S3 answers a signature made for another region this way; the message names the setting.
    if (code === 'AuthorizationHeaderMalformed') return new TargetError('auth', `${where}: the request was signed for region "${this.cfg.region}", which this endpoint does not accept; check --backup-s3-region (AuthorizationHeaderMalformed)`);
    if (code === 'AccessDenied' || status === 403) return new TargetError('auth', `${where}: access denied (${code}) while trying to ${what}`);
    if (code === 'NoSuchKey' || status === 404) return new TargetError('not-found', `${where}: ${what}: not found`);
    return new TargetError('other', `${where}: ${what} failed (${code})`);
  }

  async put(key: string, body: ObjectBody, signal?: AbortSignal): Promise<void> {
    const size = await bodySize(body);
    const read = await rangeReader(body);
    try {
      if (size > this.multipartThreshold) return await this.putMultipart(key, read.range, size, signal);
      const url = this.objectUrl(key);
      const headers = { 'Content-Type': 'application/octet-stream' };
      await this.request(url, { method: 'PUT', body: asBody(await read.range(0, size)), headers, signal, what: `upload ${key}` });
    } finally {
      await read.close();
    }
  }

  private async putMultipart(key: string, range: (off: number, len: number) => Promise<Buffer>, size: number, signal?: AbortSignal): Promise<void> {
    const url = this.objectUrl(key);
    const create = new URL(url);
    create.search = 'uploads=';
    const xml = await (await this.request(create, { method: 'POST', signal, what: `start uploading ${key}` })).text();
    const uploadId = tag(xml, 'UploadId');
    if (!uploadId) throw new TargetError('other', `${this.label}: no UploadId in the answer to starting ${key}`);
    const partSize = Math.max(this.partSize, Math.ceil(size / 9000));
    const etags: string[] = [];
    try {
      for (let part = 1, off = 0; off < size; part++, off += partSize) {
        const len = Math.min(partSize, size - off);
        const u = new URL(url);
        u.search = `partNumber=${part}&uploadId=${encodeURIComponent(uploadId)}`;
        const res = await this.request(u, { method: 'PUT', body: asBody(await range(off, len)), signal, what: `upload part ${part} of ${key}` });
        const etag = res.headers.get('ETag') ?? undefined;
        if (!etag) throw new TargetError('other', `${this.label}: no ETag for part ${part} of ${key}`);
        etags.push(etag);
      }
      const done = new URL(url);
      done.search = `uploadId=${encodeURIComponent(uploadId)}`;
      const complete = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEncode(e)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
      const res = await this.request(done, { method: 'POST', body: complete, headers: { 'Content-Type': 'application/xml' }, signal, what: `finish uploading ${key}` });
      // S3 may answer 200 with an error document when completion fails late.
      const text = await res.text();
      if (/<Error>/.test(text)) throw new TargetError('other', `${this.label}: finishing ${key} failed (${tag(text, 'Code') ?? 'error'})`);
    } catch (e) {
      const abort = new URL(url);
      abort.search = `uploadId=${encodeURIComponent(uploadId)}`;
      await this.request(abort, { method: 'DELETE', what: `abort ${key}`, okStatuses: [404] }).catch(() => undefined);
      throw e;
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    let res: Response;
    try {
      res = await this.request(this.objectUrl(key), { method: 'GET', signal, what: `read ${key}` });
    } catch (e) {
      if (e instanceof TargetError && e.kind === 'not-found') throw new TargetError('not-found', `${key} does not exist in ${this.label}`);
      throw e;
    }
    if (!res.body) throw new TargetError('other', `${this.label}: empty answer for ${key}`);
    return res.body as AsyncIterable<Uint8Array>;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const full = this.fullKey(prefix);
    const strip = this.cfg.prefix ? this.cfg.prefix.length + 1 : 0;
    let token: string | undefined;
    do {
      const u = this.bucketUrl();
      const q = new URLSearchParams({ 'list-type': '2', prefix: full });
      if (token) q.set('continuation-token', token);
      u.search = q.toString();
      const xml = await (await this.request(u, { method: 'GET', what: `list ${prefix || 'objects'}` })).text();
      for (const c of tags(xml, 'Contents')) {
        const e = listEntrySchema.safeParse({ key: tag(c, 'Key'), size: tag(c, 'Size') });
        if (!e.success) throw new TargetError('other', `${this.label}: malformed listing (${e.error.issues[0]?.message})`);
        out.push({ key: e.data.key.slice(strip), size: e.data.size });
      }
      token = tag(xml, 'IsTruncated') === 'true' ? tag(xml, 'NextContinuationToken') : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        await this.deleteBatch(batch);
      } catch (e) {
        if (!(e instanceof TargetError) || e.kind !== 'other') throw e;
        // Some S3-compatible servers lack DeleteObjects or fail it under load (s3rver races on
        // concurrent deletes in one folder); one DELETE per key is slower but always works.
        for (const k of batch) await this.request(this.objectUrl(k), { method: 'DELETE', what: `delete ${k}`, okStatuses: [404] });
      }
    }
  }

  private async deleteBatch(batch: string[]): Promise<void> {
    const body = `<Delete><Quiet>true</Quiet>${batch.map((k) => `<Object><Key>${xmlEncode(this.fullKey(k))}</Key></Object>`).join('')}</Delete>`;
    const u = this.bucketUrl();
    u.search = 'delete=';
    const md5 = createHash('md5').update(body).digest('base64');
    const res = await this.request(u, { method: 'POST', body, headers: { 'Content-Type': 'application/xml', 'Content-MD5': md5 }, what: 'delete old objects' });
    const text = await res.text();
    const failed = tags(text, 'Error');
    if (failed.length) throw new TargetError('other', `${this.label}: could not delete ${tag(failed[0] as string, 'Key') ?? 'an object'} (${tag(failed[0] as string, 'Code') ?? 'error'})`);
  }

  async check(): Promise<void> {
    const u = this.bucketUrl();
    u.search = new URLSearchParams({ 'list-type': '2', 'max-keys': '1', prefix: this.fullKey('') }).toString();
    await (await this.request(u, { method: 'GET', what: 'list the bucket' })).text();
  }
}

import { createDecipheriv, createHash, createHmac } from 'node:crypto';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { z } from 'zod';
import type { DataKey } from '../keys/keyring.ts';
import { CHUNK, NONCE, TAG, chunkAad, sealChunk } from './chunk-seal.ts';
import { BackupKeyError, TamperedObjectError } from './errors.ts';
import { parseKey } from './layout.ts';

/**
 * One backup object = preamble + authenticated, encrypted chunks (FORMAT.md has the byte layout).
 *
 *   "TSBACKUP" | u16 version | u32 header length | header JSON
 *   then chunks: u32 length | u8 flags (1 = final) | 12-byte nonce | ciphertext | 16-byte tag
 *
 * The payload is compressed first, then cut into chunks of at most 1 MiB, each sealed with
 * AES-256-GCM under the backup key with its own random 96-bit nonce. Every chunk's associated
 * data binds SHA-256(preamble), the chunk's position and the final flag, so altering the header,
 * reordering, dropping or appending chunks all fail authentication, and nothing is decompressed or
 * written anywhere before its chunk has been authenticated. Chunking keeps a 1 GB snapshot
 * streamable without trusting unauthenticated bytes.
 */

const MAGIC = Buffer.from('TSBACKUP', 'latin1');
export const FORMAT_VERSION = 1;
const PREAMBLE_FIXED = MAGIC.length + 2 + 4;
const MAX_HEADER = 64 * 1024;

const u32 = z.number().int().min(0).max(0xffffffff);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`));

const common = {
  generation: z.string().min(1).max(64),
  index: count,
  /** ms since epoch: the point in time the object's content is current at */
  time: count,
  backupKeyId: z.string().regex(/^backup-[0-9]+$/),
  /** HMAC of a fixed string under the backup key: tells "wrong key" apart from "altered object" */
  backupKeyCheck: hex(8),
  /** the database key the pages inside are encrypted with (SQLCipher) */
  dbKeyId: z.string().regex(/^db-[0-9]+$/),
  codec: z.enum(['zstd', 'gzip']),
  pageSize: z.number().int().min(512).max(65536),
  /** WAL incarnation within the generation: +1 on every WAL restart */
  walIndex: count,
  walSalt: hex(8),
  /** frames [frameStart, frameEnd] of that incarnation (1-based, inclusive; frameEnd may be frameStart-1: none) */
  frameStart: count,
  frameEnd: count,
  /** the same range as byte offsets in the -wal file */
  walOffsetStart: count,
  walOffsetEnd: count,
  /** WAL checksum chain value before frameStart, so a segment is checkable on its own */
  checksumBefore: z.tuple([u32, u32]),
  /** payload length before compression */
  plainBytes: count,
};

export const snapshotHeaderSchema = z.strictObject({
  kind: z.literal('snapshot'),
  ...common,
  /** index of the first segment that continues this snapshot */
  nextSegment: count,
  /** payload = database file (dbBytes) followed by WAL header + frames 1..frameEnd (walBytes) */
  dbBytes: count,
  walBytes: count,
});
export const segmentHeaderSchema = z.strictObject({
  kind: z.literal('segment'),
  ...common,
  /**
   * true: the frames are only the last image of each page in frameStart..frameEnd (compactFrames
   * in wal.ts), with SQLite's own headers, so their checksums do not chain; continuity is then
   * checked with checksumBefore and checksumAfter, and the chunks' authentication covers the rest.
   */
  compacted: z.literal(true).optional(),
  /** WAL checksum chain value after frameEnd (compacted segments) */
  checksumAfter: z.tuple([u32, u32]).optional(),
});
export const objectHeaderSchema = z.discriminatedUnion('kind', [snapshotHeaderSchema, segmentHeaderSchema]);
export type SnapshotHeader = z.infer<typeof snapshotHeaderSchema>;
export type SegmentHeader = z.infer<typeof segmentHeaderSchema>;
export type ObjectHeader = z.infer<typeof objectHeaderSchema>;
export type HeaderInput = Omit<SnapshotHeader, 'backupKeyId' | 'backupKeyCheck' | 'codec'> | Omit<SegmentHeader, 'backupKeyId' | 'backupKeyCheck' | 'codec'>;

export function keyCheck(key: Buffer): string {
  return createHmac('sha256', key).update('tessera backup key check v1').digest('hex').slice(0, 16);
}

function preambleOf(header: ObjectHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const fixed = Buffer.alloc(PREAMBLE_FIXED);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt16BE(FORMAT_VERSION, MAGIC.length);
  fixed.writeUInt32BE(json.length, MAGIC.length + 2);
  return Buffer.concat([fixed, json]);
}

/** Cuts the compressed stream into sealed chunks; the last one (possibly empty) is flagged final. */
class Sealer extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;
  private readonly preambleHash: Buffer;
  constructor(
    private readonly key: Buffer,
    preamble: Buffer,
  ) {
    super();
    this.preambleHash = createHash('sha256').update(preamble).digest();
    this.push(preamble);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // Strictly more than a chunk: what remains at the end always becomes the final chunk.
    while (this.pendingBytes > CHUNK) {
      const all = Buffer.concat(this.pending);
      this.push(sealChunk(this.key, this.preambleHash, this.index++, false, all.subarray(0, CHUNK)));
      const rest = all.subarray(CHUNK);
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
    done();
  }
  override _flush(done: (e?: Error | null) => void): void {
    this.push(sealChunk(this.key, this.preambleHash, this.index++, true, Buffer.concat(this.pending)));
    done();
  }
}

const ZSTD_LEVEL = 1;

export const defaultCodec: 'zstd' | 'gzip' = typeof zlib.createZstdCompress === 'function' ? 'zstd' : 'gzip';

/**
 * Large zlib chunks: each chunk is one round trip to the thread pool and back through the event
 * loop, which in a busy server may take a millisecond or more; 16 KiB (the default) made a 20 MB
 * segment take seconds to compress under write load.
 */
const ZLIB_CHUNK = 1 << 20;

function compressor(codec: 'zstd' | 'gzip', chunkSize = ZLIB_CHUNK): Transform {
  // Pages are already SQLCipher-encrypted, so they hardly compress; the fastest level costs
  // little and still shrinks the zero-filled tails of pages and WAL headers.
  return codec === 'zstd'
    ? zlib.createZstdCompress({ chunkSize, params: { [zlib.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } })
    : zlib.createGzip({ level: 1, chunkSize });
}

function decompressor(codec: 'zstd' | 'gzip'): Transform {
  return codec === 'zstd' ? zlib.createZstdDecompress({ chunkSize: ZLIB_CHUNK }) : zlib.createGunzip({ chunkSize: ZLIB_CHUNK });
}

/** The complete header of an object sealed with `key`, and its preamble bytes. */
export function objectPreamble(input: HeaderInput, key: DataKey): { header: ObjectHeader; preamble: Buffer } {
  if (key.purpose !== 'backup') throw new BackupKeyError(`key ${key.id} is not a backup key`);
  const header = objectHeaderSchema.parse({ ...input, backupKeyId: key.id, backupKeyCheck: keyCheck(key.key), codec: defaultCodec });
  return { header, preamble: preambleOf(header) };
}

/** Streams one object into `out`; returns the full header that was written. */
export async function writeObject(
  out: Writable,
  input: HeaderInput,
  payload: Iterable<Buffer> | AsyncIterable<Buffer>,
  key: DataKey,
): Promise<ObjectHeader> {
  if (key.purpose !== 'backup') throw new BackupKeyError(`key ${key.id} is not a backup key`);
  const header = objectHeaderSchema.parse({ ...input, backupKeyId: key.id, backupKeyCheck: keyCheck(key.key), codec: defaultCodec });
  await pipeline(Readable.from(payload), compressor(header.codec), new Sealer(key.key, preambleOf(header)), out);
  return header;
}

/** Reads exact byte counts from an async stream of chunks. */
class ByteReader {
  private buf = Buffer.alloc(0);
  private done = false;
  private readonly it: AsyncIterator<Uint8Array>;
  constructor(src: AsyncIterable<Uint8Array>) {
    this.it = src[Symbol.asyncIterator]();
  }
  /** exactly n bytes, or undefined at a clean end of stream before the first byte */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : Buffer.from(r.value);
    }
    if (this.buf.length === 0 && this.done) return undefined;
    if (this.buf.length < n) throw new ShortRead();
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async atEnd(): Promise<boolean> {
    return (await this.read(1)) === undefined;
  }
  async close(): Promise<void> {
    await this.it.return?.();
  }
}
class ShortRead extends Error {}

export interface KeyLookup {
  byId(id: string): DataKey | undefined;
}

/** What the object's name promises; the authenticated header must say the same. */
function expectedFromName(name: string): { kind: 'snapshot' | 'segment'; generation: string; index: number; time: number; nextSegment?: number } {
  const p = parseKey(name);
  if (!p || p.kind === 'keyring') throw new TamperedObjectError(name, 'not a snapshot or segment name');
  return p;
}

export interface DecodeOptions {
  /** the object's key on its target: the header must match it */
  name: string;
  keys: KeyLookup;
  /** called once the header is authenticated, before the first payload byte reaches the sink */
  onHeader?: (h: ObjectHeader) => void;
}

/**
 * Authenticates and decodes one object, streaming the payload into `sink`. The header is
 * returned once every chunk has verified; a wrong key, an altered byte, a truncation or a name
 * that does not match the content all throw with the object's name.
 */
export async function readObject(src: AsyncIterable<Uint8Array>, sink: Writable, opts: DecodeOptions): Promise<ObjectHeader> {
  const { name } = opts;
  const reader = new ByteReader(src);
  try {
    const fixed = await reader.read(PREAMBLE_FIXED);
    if (!fixed || !fixed.subarray(0, MAGIC.length).equals(MAGIC)) throw new TamperedObjectError(name, 'not a Tessera backup object');
    const version = fixed.readUInt16BE(MAGIC.length);
    if (version !== FORMAT_VERSION) throw new TamperedObjectError(name, `format version ${version} is not supported by this binary`);
    const len = fixed.readUInt32BE(MAGIC.length + 2);
    if (len > MAX_HEADER) throw new TamperedObjectError(name, 'header too large');
    const json = await reader.read(len);
    if (!json) throw new TamperedObjectError(name, 'truncated header');
    let parsed: unknown;
    try {
      parsed = JSON.parse(json.toString('utf8'));
    } catch {
      throw new TamperedObjectError(name, 'header is not valid JSON');
    }
    const h = objectHeaderSchema.safeParse(parsed);
    if (!h.success) throw new TamperedObjectError(name, `header ${h.error.issues[0]?.path.join('.') || 'format'} is invalid`);
    const header = h.data;
    const key = opts.keys.byId(header.backupKeyId);
    if (!key) throw new BackupKeyError(`backup key ${header.backupKeyId} needed by ${name} is not in the keyring (wrong keyring or master key?)`);
    if (keyCheck(key.key) !== header.backupKeyCheck) {
      throw new BackupKeyError(`wrong backup key: ${name} was written with a different ${header.backupKeyId} than the one in this keyring`);
    }
    const preambleHash = createHash('sha256').update(Buffer.concat([fixed, json])).digest();
    const secret = key.key;
    let authenticated = false;

    async function* chunks(): AsyncGenerator<Buffer> {
      for (let index = 0; ; index++) {
        const head = await reader.read(5 + NONCE);
        if (!head) throw new TamperedObjectError(name, 'truncated: the final chunk is missing');
        const ctLen = head.readUInt32BE(0);
        const flags = head[4] as number;
        if (ctLen > CHUNK || flags > 1) throw new TamperedObjectError(name, `chunk ${index} has an invalid length or flags`);
        const body = await reader.read(ctLen + TAG);
        if (!body) throw new TamperedObjectError(name, `truncated in chunk ${index}`);
        const d = createDecipheriv('aes-256-gcm', secret, head.subarray(5));
        d.setAAD(chunkAad(preambleHash, index, flags === 1));
        d.setAuthTag(body.subarray(ctLen));
        let plain: Buffer;
        try {
          plain = Buffer.concat([d.update(body.subarray(0, ctLen)), d.final()]);
        } catch {
          throw new TamperedObjectError(name, index === 0 ? 'header or first chunk fails authentication' : `chunk ${index} fails authentication`);
        }
        if (index === 0) {
          authenticated = true;
          checkName(name, header);
          opts.onHeader?.(header);
        }
        yield plain;
        if (flags === 1) {
          if (!(await reader.atEnd())) throw new TamperedObjectError(name, 'data after the final chunk');
          return;
        }
      }
    }

    let produced = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _e, done) {
        produced += chunk.length;
        // Bounded by the authenticated header, so a crafted stream cannot fill the disk.
        if (produced > header.plainBytes) return done(new TamperedObjectError(name, 'payload longer than its header says'));
        done(null, chunk);
      },
    });
    try {
      await pipeline(chunks(), decompressor(header.codec), limit, sink);
    } catch (e) {
      if (e instanceof TamperedObjectError || e instanceof BackupKeyError) throw e;
      if (e instanceof ShortRead) throw new TamperedObjectError(name, 'truncated');
      if (authenticated && (e as { code?: string }).code?.startsWith('ERR_')) throw new TamperedObjectError(name, `payload does not decompress (${(e as Error).message})`);
      throw e;
    }
    if (produced !== header.plainBytes) throw new TamperedObjectError(name, `payload is ${produced} bytes, header says ${header.plainBytes}`);
    return header;
  } catch (e) {
    if (e instanceof ShortRead) throw new TamperedObjectError(name, 'truncated');
    throw e;
  } finally {
    await reader.close();
  }
}

function checkName(name: string, header: ObjectHeader): void {
  const want = expectedFromName(name);
  const same =
    want.kind === header.kind &&
    want.generation === header.generation &&
    want.index === header.index &&
    want.time === header.time &&
    (header.kind !== 'snapshot' || want.nextSegment === header.nextSegment);
  if (!same) throw new TamperedObjectError(name, `its content belongs to ${header.kind} ${header.index} of generation ${header.generation}: the object was renamed or swapped`);
}

/** A Writable that keeps everything in memory (segments are small). */
export function collect(): { sink: Writable; result: () => Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      parts.push(chunk);
      done();
    },
  });
  return { sink, result: () => Buffer.concat(parts) };
}

export async function decodeBuffer(data: Buffer, opts: DecodeOptions): Promise<{ header: ObjectHeader; payload: Buffer }> {
  const c = collect();
  const header = await readObject(Readable.from([data]), c.sink, opts);
  return { header, payload: c.result() };
}

export async function encodeBuffer(input: HeaderInput, payload: Buffer[], key: DataKey): Promise<{ header: ObjectHeader; bytes: Buffer }> {
  const c = collect();
  const header = await writeObject(c.sink, input, payload, key);
  return { header, bytes: c.result() };
}

import { createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { z } from 'zod';
import { CHUNK, NONCE, TAG, chunkAad, sealChunk } from '../backup/chunk-seal.ts';
import { compactTime, parseCompactTime } from '../backup/layout.ts';
import type { DataKey } from '../keys/keyring.ts';

/**
 * A shipped log object: a batch of audit or access-log lines, sealed with the backup format's
 * chunk primitive (AES-256-GCM, chunk AAD binding the preamble) and linked to the object before
 * it by SHA-256. The layout is in README "Log shipping":
 *
 *   "TSLOGS01" | u32 header length | header JSON | sealed chunks of the gzipped lines
 *
 * The key is derived (HKDF) from the audit key, not the backup key: audit keys are never pruned,
 * so an object stays readable as long as the audit log itself, while retired backup keys are
 * dropped once no backup needs them.
 */

export const STREAMS = ['audit', 'access'] as const;
export type Stream = (typeof STREAMS)[number];

const MAGIC = Buffer.from('TSLOGS01', 'latin1');
const MAX_HEADER = 16 * 1024;
export const GENESIS = '0'.repeat(64);
const TIME = String.raw`\d{8}T\d{9}Z`;
const KEY_RE = new RegExp(`^logs/(audit|access)/(\\d{4}-\\d{2}-\\d{2})/(${TIME}-[0-9a-f]{8})/(\\d{10})-(${TIME})\\.log$`);

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const cursorSchema = z.union([
  z.strictObject({ seq: count }),
  z.strictObject({ day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), offset: count }),
]);
export type Cursor = z.infer<typeof cursorSchema>;

export const logHeaderSchema = z.strictObject({
  kind: z.literal('logs'),
  stream: z.enum(STREAMS),
  epoch: z.string().regex(new RegExp(`^${TIME}-[0-9a-f]{8}$`)),
  index: count,
  /** ms since epoch when the object was cut */
  time: count,
  /** SHA-256 (hex) of the previous object's bytes in this epoch; GENESIS for index 0 */
  prev: z.string().regex(/^[0-9a-f]{64}$/),
  /** where reading resumes after this object (audit: last seq; access: day file and byte offset) */
  cursor: cursorSchema,
  lines: count,
  /** lines known lost just before this object (a bound overflowed, a file was pruned unshipped) */
  dropped: count,
  keyId: z.string().regex(/^audit-[0-9]+$/),
  keyCheck: z.string().regex(/^[0-9a-f]{16}$/),
  plainBytes: count,
});
export type LogHeader = z.infer<typeof logHeaderSchema>;
export type LogHeaderInput = Omit<LogHeader, 'kind' | 'keyId' | 'keyCheck' | 'plainBytes'>;

export class LogObjectError extends Error {
  override name = 'LogObjectError';
  constructor(
    readonly object: string,
    reason: string,
  ) {
    super(`log object ${object} is damaged or was altered: ${reason}`);
  }
}

/**
 * `logs/<stream>/<UTC day>/<chain>/<index>-<time>.log`: the day folder lets a restart find the
 * newest object by listing a day or two, not a year of objects; the chain (epoch) and its index
 * continue across days.
 */
export function logObjectKey(h: Pick<LogHeader, 'stream' | 'epoch' | 'index' | 'time'>): string {
  return `${dayPrefix(h.stream, h.time)}${h.epoch}/${String(h.index).padStart(10, '0')}-${compactTime(h.time)}.log`;
}

export const dayPrefix = (stream: Stream, time: number) => `logs/${stream}/${new Date(time).toISOString().slice(0, 10)}/`;

export function parseLogKey(key: string): { stream: Stream; day: string; epoch: string; index: number; time: number } | undefined {
  const m = KEY_RE.exec(key);
  if (!m) return undefined;
  const p = { stream: m[1] as Stream, day: m[2] as string, epoch: m[3] as string, index: Number(m[4]), time: parseCompactTime(m[5] as string) };
  return new Date(p.time).toISOString().slice(0, 10) === p.day ? p : undefined;
}

export const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function sealKey(audit: DataKey): Buffer {
  if (audit.purpose !== 'audit') throw new Error(`key ${audit.id} is not an audit key`);
  return Buffer.from(hkdfSync('sha256', audit.key, Buffer.alloc(0), 'tessera log shipping v1', 32));
}
const keyCheck = (k: Buffer) => createHmac('sha256', k).update('tessera log key check v1').digest('hex').slice(0, 16);

function preamble(header: LogHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([MAGIC, len, json]);
}

const gzip = promisify(zlib.gzip);

/**
 * Seals lines (each without its newline) into one object; returns its key, header and bytes.
 * Compression runs on the thread pool: at level 1 a 1000-line audit object took about 37 ms
 * here (level 6: 69 ms, for 5% smaller objects), too long for the event loop of a busy server.
 */
export async function encodeLogObject(input: LogHeaderInput, lines: string[], audit: DataKey): Promise<{ key: string; header: LogHeader; bytes: Buffer }> {
  const k = sealKey(audit);
  const plain = Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8');
  const header = logHeaderSchema.parse({ kind: 'logs', ...input, keyId: audit.id, keyCheck: keyCheck(k), plainBytes: plain.length });
  const pre = preamble(header);
  const hash = createHash('sha256').update(pre).digest();
  const packed = await gzip(plain, { level: 1 });
  const parts = [pre];
  const n = Math.max(1, Math.ceil(packed.length / CHUNK));
  for (let i = 0; i < n; i++) parts.push(sealChunk(k, hash, i, i === n - 1, packed.subarray(i * CHUNK, (i + 1) * CHUNK)));
  return { key: logObjectKey(header), header, bytes: Buffer.concat(parts) };
}

/**
 * Authenticates one object and returns its header and lines. A wrong key, an altered byte, a
 * truncation or a name that does not match the header all throw LogObjectError naming the object.
 */
export function decodeLogObject(name: string, bytes: Buffer, keys: { byId(id: string): DataKey | undefined }): { header: LogHeader; lines: string[] } {
  const fail = (why: string) => new LogObjectError(name, why);
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw fail('not a Tessera log object');
  const len = bytes.readUInt32BE(MAGIC.length);
  if (len > MAX_HEADER || MAGIC.length + 4 + len > bytes.length) throw fail('header length is invalid');
  const preEnd = MAGIC.length + 4 + len;
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.subarray(MAGIC.length + 4, preEnd).toString('utf8'));
  } catch {
    throw fail('header is not valid JSON');
  }
  const h = logHeaderSchema.safeParse(parsed);
  if (!h.success) throw fail(`header ${h.error.issues[0]?.path.join('.') || 'format'} is invalid`);
  const header = h.data;
  const audit = keys.byId(header.keyId);
  if (!audit) throw new Error(`audit key ${header.keyId} needed by ${name} is not in the keyring (wrong keyring or master key?)`);
  const k = sealKey(audit);
  if (keyCheck(k) !== header.keyCheck) throw new Error(`wrong key: ${name} was sealed with a different ${header.keyId} than the one in this keyring`);
  const hash = createHash('sha256').update(bytes.subarray(0, preEnd)).digest();
  const packed: Buffer[] = [];
  let at = preEnd;
  for (let i = 0; ; i++) {
    if (at + 5 + NONCE > bytes.length) throw fail('truncated: the final chunk is missing');
    const ctLen = bytes.readUInt32BE(at);
    const flags = bytes[at + 4] as number;
    if (ctLen > CHUNK || flags > 1 || at + 5 + NONCE + ctLen + TAG > bytes.length) throw fail(`chunk ${i} is truncated or invalid`);
    const d = createDecipheriv('aes-256-gcm', k, bytes.subarray(at + 5, at + 5 + NONCE));
    d.setAAD(chunkAad(hash, i, flags === 1));
    const ct = bytes.subarray(at + 5 + NONCE, at + 5 + NONCE + ctLen);
    d.setAuthTag(bytes.subarray(at + 5 + NONCE + ctLen, at + 5 + NONCE + ctLen + TAG));
    try {
      packed.push(Buffer.concat([d.update(ct), d.final()]));
    } catch {
      throw fail(i === 0 ? 'header or first chunk fails authentication' : `chunk ${i} fails authentication`);
    }
    at += 5 + NONCE + ctLen + TAG;
    if (flags === 1) break;
  }
  if (at !== bytes.length) throw fail('data after the final chunk');
  const want = parseLogKey(name);
  if (!want || want.stream !== header.stream || want.epoch !== header.epoch || want.index !== header.index || want.time !== header.time) {
    throw fail(`its content belongs to ${header.stream} object ${header.index} of epoch ${header.epoch}: the object was renamed or swapped`);
  }
  // Bounded by the authenticated header, so a crafted object cannot inflate without limit.
  const plain = zlib.gunzipSync(Buffer.concat(packed), { maxOutputLength: Math.max(1, header.plainBytes) });
  if (plain.length !== header.plainBytes) throw fail(`payload is ${plain.length} bytes, header says ${header.plainBytes}`);
  const text = plain.toString('utf8');
  const lines = text === '' ? [] : text.slice(0, -1).split('\n');
  if (lines.length !== header.lines) throw fail(`holds ${lines.length} lines, header says ${header.lines}`);
  return { header, lines };
}

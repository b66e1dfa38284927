import { randomFillSync, randomUUID } from 'node:crypto';

/**
 * Ids for rows written in bursts under a TEXT primary key. SQLite keeps such a key in a B-tree,
 * and with fully random ids every row of a group commit lands on a different leaf page: each
 * such page is then encrypted into the WAL and again at the checkpoint, which was the largest
 * single cost of a registration. Ids that sort together share pages instead.
 */

/**
 * Random bytes drawn from a pool filled 4 KiB at a time: each randomBytes() call costs a few
 * microseconds whatever its size, which for six bytes per registration was 3% of the main thread.
 * Every byte is handed out once; the view is only valid until the next call (callers may write
 * into it).
 */
const bytePool = Buffer.alloc(4096);
let poolAt = bytePool.length;

function freshBytes(n: number): Buffer {
  if (poolAt + n > bytePool.length) {
    randomFillSync(bytePool);
    poolAt = 0;
  }
  poolAt += n;
  return bytePool.subarray(poolAt - n, poolAt);
}

const dashed = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits, so new rows append
 * to the last page. The creation time can be read back: only for ids that never leave the
 * server (outbox rows), never for ids handed to people.
 */
export function timeOrderedId(nowMs: number = Date.now()): string {
  const b = freshBytes(16);
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = ((b[6] as number) & 0x0f) | 0x70;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  return dashed(b.toString('hex'));
}

let prefix: string | undefined;

/**
 * A random UUIDv4 whose first 32 bits are shared by every id made in the same synchronous run
 * of code (one group commit), so that run's rows sit on one or two leaf pages. All bits stay
 * random: the id reveals no time and no count, only that two ids were written together. Still
 * 90 random bits per id, plus the random shared prefix: ids remain unguessable.
 */
export function groupedId(): string {
  if (prefix === undefined) {
    prefix = freshBytes(4).toString('hex');
    queueMicrotask(() => {
      prefix = undefined;
    });
  }
  return prefix + randomUUID().slice(8);
}

let codePrefix: string | undefined;

/**
 * A code of `length` characters from a 32-character alphabet (5 random bits each), whose first
 * `shared` characters are common to every code made in the same synchronous run (one group
 * commit), for the same reason as groupedId: a unique index on random codes otherwise puts every
 * row of a batch on its own leaf page. The shared characters are random too, so a code still
 * reveals no time or count; it only has `length - shared` characters that its batch neighbours
 * do not share.
 */
export function groupedCode(alphabet: string, length: number, shared: number): string {
  if (alphabet.length !== 32) throw new Error('groupedCode needs a 32-character alphabet');
  if (codePrefix === undefined || codePrefix.length !== shared) {
    codePrefix = randomCode(alphabet, shared);
    queueMicrotask(() => {
      codePrefix = undefined;
    });
  }
  return codePrefix + randomCode(alphabet, length - shared);
}

function randomCode(alphabet: string, length: number): string {
  const bytes = freshBytes(length);
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[(bytes[i] as number) & 31];
  return s;
}

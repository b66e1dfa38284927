import { newGenerationId } from '../backup/layout.ts';
import type { BackupTarget } from '../backup/targets/target.ts';
import type { DataKey } from '../keys/keyring.ts';
import type { Logger } from '../log.ts';
import { type Cursor, GENESIS, type LogHeader, dayPrefix, decodeLogObject, encodeLogObject, parseLogKey, sha256Hex } from './format.ts';
import type { LogSource, SourceLine } from './sources.ts';

export interface LaneOptions {
  target: BackupTarget;
  source: LogSource;
  keys: { active(): DataKey; byId(id: string): DataKey | undefined };
  log: Logger;
  now: () => number;
  /** most lines in one object */
  maxLines: number;
  /** an object is cut at most this long after its oldest line was written */
  intervalMs: number;
}

/** What a destination reports for /readyz and /metrics. */
export interface LaneStatus {
  destination: string;
  stream: string;
  /** age of the oldest line not yet shipped (0: caught up) */
  lagSeconds: number;
  shippedLines: number;
  droppedLines: number;
  lastShippedAt: string | null;
  error: string | null;
}

interface ChainState {
  epoch: string;
  index: number;
  prev: string;
  cursor: Cursor;
}

const HOUR = 3_600_000;
/** days listed one by one at start before falling back to listing every object of the stream */
const LOOKBACK_DAYS = 7;

/**
 * One stream to one backup target as a chain of sealed objects. Where the chain stands (epoch,
 * next index, hash of the last object, source cursor) is read back from the target itself at
 * start, so nothing on the host has to be trusted or kept to continue it. Objects are only ever
 * added: an object is cut when it holds `maxLines`, when its oldest line is `intervalMs` old, and
 * never across a UTC hour.
 */
export class ObjectLane {
  private state: ChainState | undefined;
  private pendingDropped = 0;
  private oldestUnshipped: number | undefined;
  private failures = 0;
  private retryAt = 0;
  /** when the target started failing (cleared by the next success) */
  private failingSince: number | undefined;
  shippedLines = 0;
  droppedLines = 0;
  lastShippedAt: number | undefined;
  error: string | undefined;

  constructor(private readonly o: LaneOptions) {}

  get destination(): string {
    return this.o.target.label;
  }

  get stream(): string {
    return this.o.source.stream;
  }

  status(): LaneStatus {
    const now = this.o.now();
    return {
      destination: this.destination,
      stream: this.stream,
      // Before the chain could be resumed nothing is known of what waits: a target that has been
      // failing since then counts as behind for that long, so its gap is still noticed.
      lagSeconds: this.oldestUnshipped !== undefined ? Math.max(0, (now - this.oldestUnshipped) / 1000) : this.state === undefined && this.failingSince !== undefined ? (now - this.failingSince) / 1000 : 0,
      shippedLines: this.shippedLines,
      droppedLines: this.droppedLines,
      lastShippedAt: this.lastShippedAt === undefined ? null : new Date(this.lastShippedAt).toISOString(),
      error: this.error ?? null,
    };
  }

  /** Ships what is due (everything when `force`); never throws: a failure is kept as state and retried with backoff. */
  async step(force = false): Promise<void> {
    const now = this.o.now();
    if (now < this.retryAt && !force) return;
    try {
      this.state ??= await this.resume();
      for (let round = 0; round < 100; round++) {
        if (!(await this.shipOnce(force))) break;
      }
      this.failures = 0;
      this.error = undefined;
      this.failingSince = undefined;
    } catch (e) {
      this.failures++;
      this.failingSince ??= now;
      this.error = (e as Error).message;
      this.retryAt = now + Math.min(60_000, 500 * 2 ** Math.min(this.failures, 7));
      this.o.log.warn({ target: this.destination, stream: this.stream, err: this.error }, 'log shipping: cannot ship to the target; retrying');
    }
  }

  /** One object if one is due; true when another may be due right away. */
  private async shipOnce(force: boolean): Promise<boolean> {
    const st = this.state as ChainState;
    // Lines already seen and not yet due: no need to read (and format) them again each tick.
    const seen = this.oldestUnshipped;
    const now = this.o.now();
    if (!force && seen !== undefined && now - seen < this.o.intervalMs && Math.floor(now / HOUR) === Math.floor(seen / HOUR)) return false;
    const read = this.o.source.read(st.cursor, this.o.maxLines);
    if (read.dropped > 0) {
      this.pendingDropped += read.dropped;
      this.droppedLines += read.dropped;
      this.o.log.error({ target: this.destination, stream: this.stream, lines: read.dropped }, 'log shipping: lines were removed from the host before they were shipped');
      // Past the gap, so the next read does not count the same loss again.
      st.cursor = read.from;
    }
    if (read.lines.length === 0) {
      st.cursor = read.cursor;
      this.oldestUnshipped = undefined;
      return false;
    }
    const first = read.lines[0] as SourceLine;
    this.oldestUnshipped = first.time;
    // An object never spans two UTC hours: the lines of the first hour go alone.
    const hour = Math.floor(first.time / HOUR);
    let take = read.lines.findIndex((l) => Math.floor(l.time / HOUR) !== hour);
    const hourClosed = take >= 0 || Math.floor(this.o.now() / HOUR) !== hour;
    if (take < 0) take = read.lines.length;
    const due = force || take >= this.o.maxLines || hourClosed || this.o.now() - first.time >= this.o.intervalMs;
    if (!due) return false;
    const lines = read.lines.slice(0, take);
    const time = this.o.now();
    const { key, header, bytes } = await encodeLogObject(
      { stream: this.o.source.stream, epoch: st.epoch, index: st.index, time, prev: st.prev, cursor: (lines.at(-1) as SourceLine).after, lines: lines.length, dropped: this.pendingDropped },
      lines.map((l) => l.text),
      this.o.keys.active(),
    );
    await this.o.target.put(key, { data: [bytes] });
    this.state = { epoch: st.epoch, index: st.index + 1, prev: sha256Hex(bytes), cursor: header.cursor };
    this.pendingDropped = 0;
    this.shippedLines += lines.length;
    this.lastShippedAt = this.o.now();
    this.oldestUnshipped = undefined;
    return true;
  }

  /** The newest object of this stream: today's folder, then the days before; a full listing last. */
  private async newestObject(): Promise<{ key: string } | undefined> {
    const stream = this.o.source.stream;
    const newest = (keys: { key: string }[]) => {
      const parsed = keys.flatMap((o) => {
        const p = parseLogKey(o.key);
        return p?.stream === stream ? [{ key: o.key, ...p }] : [];
      });
      parsed.sort((a, b) => (a.epoch === b.epoch ? a.index - b.index : a.epoch < b.epoch ? -1 : 1));
      return parsed.at(-1);
    };
    const today = this.o.now();
    for (let d = 0; d < LOOKBACK_DAYS; d++) {
      const found = newest(await this.o.target.list(dayPrefix(stream, today - d * 86_400_000)));
      if (found) return found;
    }
    return newest(await this.o.target.list(`logs/${stream}/`));
  }

  /** Continues the chain the target holds; a new epoch when there is none or its end cannot be read. */
  private async resume(): Promise<ChainState> {
    const last = await this.newestObject();
    const fresh = (why: string): ChainState => {
      const epoch = newGenerationId(this.o.now());
      this.o.log.info({ target: this.destination, stream: this.stream, epoch, why }, 'log shipping: starting a new chain');
      return { epoch, index: 0, prev: GENESIS, cursor: this.o.source.start() };
    };
    if (!last) return fresh('the target holds no shipped logs yet');
    const parts: Buffer[] = [];
    for await (const c of await this.o.target.get(last.key)) parts.push(Buffer.from(c));
    const bytes = Buffer.concat(parts);
    let header: LogHeader;
    try {
      header = decodeLogObject(last.key, bytes, this.o.keys).header;
    } catch (e) {
      this.o.log.error({ target: this.destination, object: last.key, err: (e as Error).message }, 'log shipping: the last shipped object cannot be read');
      return fresh('the last shipped object cannot be read');
    }
    const end = this.o.source.end();
    if ('seq' in header.cursor && 'seq' in end && header.cursor.seq > end.seq) return fresh('the audit log is behind what was shipped (restored from a backup?)');
    return { epoch: header.epoch, index: header.index + 1, prev: sha256Hex(bytes), cursor: header.cursor };
  }
}

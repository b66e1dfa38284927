import fs from 'node:fs';
import path from 'node:path';

export interface AccessLogEntry {
  time: string;
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  userId: string | null;
  ip: string | null;
}

/**
 * HTTP access log, kept apart from the application database: one JSON line per request in
 * `<dataDir>/access-log/YYYY-MM-DD.jsonl` (UTC days). It holds the route pattern, never the
 * query string, so tokens in links do not land here.
 */
export class AccessLogWriter {
  private day = '';
  private stream: fs.WriteStream | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly dir: string;
  private closed = false;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'access-log');
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Lines are buffered and written together at most every 100 ms (or per 64 KiB): one write
   * per request cost an eighth of a busy page's CPU. A crash loses at most those 100 ms of lines.
   */
  write(entry: AccessLogEntry): void {
    // A request cut by the shutdown timeout can still finish after close(): it must not reopen
    // a file (the data directory may be gone by then).
    if (this.closed) return;
    const day = entry.time.slice(0, 10);
    if (day !== this.day) {
      this.flush();
      this.stream?.end();
      this.day = day;
      this.stream = fs.createWriteStream(path.join(this.dir, `${day}.jsonl`), { flags: 'a', mode: 0o600 });
    }
    const line = JSON.stringify(entry) + '\n';
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= 65_536) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 100).unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || !this.stream) return;
    this.stream.write(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Deletes day files older than `days` days; returns the names removed. */
  prune(days: number, now: Date = new Date()): string[] {
    const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10);
    const removed: string[] = [];
    for (const f of fs.readdirSync(this.dir)) {
      const m = /^(\d{4}-\d{2}-\d{2})\.jsonl$/.exec(f);
      if (m && (m[1] as string) < cutoff) {
        fs.rmSync(path.join(this.dir, f));
        removed.push(f);
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flush();
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve) => s.end(resolve));
  }
}

export interface AccessLogQuery {
  /** YYYY-MM-DD (UTC) */
  day: string;
  /** an exact status ("404") or a class ("4xx") */
  status?: string;
  /** part of the route pattern */
  route?: string;
  userId?: string;
  /** matching lines already shown, newest first */
  skip?: number;
}

/** The day files present, newest first. */
export function accessLogDays(dir: string): string[] {
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return files
    .map((f) => /^(\d{4}-\d{2}-\d{2})\.jsonl$/.exec(f)?.[1])
    .filter((d): d is string => !!d)
    .sort()
    .reverse();
}

/**
 * One page of a day's access log for the instance admin viewer, newest first. A day file is at
 * most tens of MB (one short line per request), read whole; a line that does not parse (a crash
 * mid-write) is skipped, never an error.
 */
export async function readAccessLog(dir: string, q: AccessLogQuery, limit: number): Promise<{ entries: AccessLogEntry[]; more: boolean }> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(q.day)) return { entries: [], more: false };
  let text: string;
  try {
    text = await fs.promises.readFile(path.join(dir, `${q.day}.jsonl`), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], more: false };
    throw e;
  }
  const lines = text.split('\n');
  const statusOk = (s: number) => !q.status || (/^[1-5]xx$/.test(q.status) ? String(s)[0] === q.status[0] : String(s) === q.status);
  const entries: AccessLogEntry[] = [];
  let skip = q.skip ?? 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line) continue;
    let e: AccessLogEntry;
    try {
      e = JSON.parse(line) as AccessLogEntry;
    } catch {
      continue;
    }
    if (!statusOk(e.status) || (q.route && !e.route.includes(q.route)) || (q.userId && e.userId !== q.userId)) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    if (entries.length === limit) return { entries, more: true };
    entries.push(e);
  }
  return { entries, more: false };
}

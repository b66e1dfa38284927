import fs from 'node:fs';
import path from 'node:path';
import type { AuditRow } from '../audit/repo.ts';
import type { Cursor, Stream } from './format.ts';

/** One log line and where reading resumes after it. */
export interface SourceLine {
  text: string;
  /** ms since epoch: when the line was written */
  time: number;
  after: Cursor;
}

export interface SourceRead {
  lines: SourceLine[];
  /** where reading resumes when `lines` is empty (a day file ended, a pruned file was skipped) */
  cursor: Cursor;
  /** lines known lost between the cursor and the first line (at least one per pruned day file) */
  dropped: number;
  /** where `lines` begin: past the lost ones, so a reader that moves there counts them once */
  from: Cursor;
}

/**
 * Where shipped lines come from. Reading is by cursor and has no side effects, so each
 * destination keeps its own place and a slow one never holds up another: the audit table and the
 * access-log files are the buffer, bounded only by their retention.
 */
export interface LogSource {
  readonly stream: Stream;
  /** the oldest line still kept: a destination with no history starts here */
  start(): Cursor;
  /** just after the newest line: a destination that only wants what comes next starts here */
  end(): Cursor;
  read(cursor: Cursor, max: number): SourceRead;
}

/** Audit rows in chain order, as JSON lines with the MAC, so a copy can be checked against the chain. */
export class AuditSource implements LogSource {
  readonly stream = 'audit' as const;
  constructor(private readonly repo: { auditAfter(seq: number, limit: number): AuditRow[]; auditHead(): number; auditTail(): number }) {}

  /** Just before the oldest row kept: rows retention removed before shipping began are not a gap. */
  start(): Cursor {
    return { seq: Math.max(0, this.repo.auditTail() - 1) };
  }

  end(): Cursor {
    return { seq: this.repo.auditHead() };
  }

  read(cursor: Cursor, max: number): SourceRead {
    const from = 'seq' in cursor ? cursor.seq : 0;
    const rows = this.repo.auditAfter(from, max);
    // Rows removed by retention before they were shipped are a gap in the copy: counted, not hidden.
    const dropped = rows.length > 0 ? (rows[0] as AuditRow).seq - from - 1 : 0;
    return {
      lines: rows.map((r) => ({ text: auditLine(r), time: Date.parse(r.at), after: { seq: r.seq } })),
      cursor: { seq: rows.at(-1)?.seq ?? from },
      dropped,
      from: { seq: rows.length > 0 ? (rows[0] as AuditRow).seq - 1 : from },
    };
  }
}

export function auditLine(r: AuditRow): string {
  let details: unknown = r.details;
  try {
    details = JSON.parse(r.details);
  } catch {
    // kept as the stored text
  }
  return JSON.stringify({
    seq: r.seq, at: r.at, org_id: r.org_id, actor_type: r.actor_type, actor_id: r.actor_id, action: r.action, target_type: r.target_type, target_id: r.target_id,
    result: r.result, ip: r.ip, user_agent: r.user_agent, request_id: r.request_id, details, key_id: r.key_id, mac: r.mac.toString('hex'),
  });
}

type DayCursor = { day: string; offset: number };

const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.jsonl$/;
const READ_BYTES = 1 << 20;
/** A day file is complete once a later one exists and it has not changed for this long. */
const SETTLE_MS = 2000;

/** The access log's day files (data/access-log/YYYY-MM-DD.jsonl), tailed by byte offset. */
export class AccessSource implements LogSource {
  readonly stream = 'access' as const;
  constructor(
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  private days(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.flatMap((n) => DAY_FILE.exec(n)?.[1] ?? []).sort();
  }

  private size(day: string): number {
    try {
      return fs.statSync(this.file(day)).size;
    } catch {
      return 0;
    }
  }

  private file(day: string): string {
    return path.join(this.dir, `${day}.jsonl`);
  }

  start(): Cursor {
    const first = this.days()[0];
    return { day: first ?? new Date(this.now()).toISOString().slice(0, 10), offset: 0 };
  }

  end(): Cursor {
    const last = this.days().at(-1);
    return last ? { day: last, offset: this.size(last) } : { day: new Date(this.now()).toISOString().slice(0, 10), offset: 0 };
  }

  read(cursor: Cursor, max: number): SourceRead {
    let at: DayCursor = 'day' in cursor ? cursor : (this.start() as DayCursor);
    const days = this.days();
    let dropped = 0;
    if (!days.includes(at.day)) {
      const later = days.find((d) => d > at.day);
      if (!later) return { lines: [], cursor: at, dropped: 0, from: at };
      // The file was pruned (or lost) before it was shipped: at least one line is gone.
      if (at.offset > 0 || days.some((d) => d < later)) dropped = 1;
      at = { day: later, offset: 0 };
    }
    const lines: SourceLine[] = [];
    let buf: Buffer;
    const fd = fs.openSync(this.file(at.day), 'r');
    try {
      buf = Buffer.alloc(READ_BYTES);
      buf = buf.subarray(0, fs.readSync(fd, buf, 0, READ_BYTES, at.offset));
    } finally {
      fs.closeSync(fd);
    }
    let pos = 0;
    while (lines.length < max) {
      const nl = buf.indexOf(0x0a, pos);
      // A line still being written has no newline yet: it waits for the next read.
      if (nl < 0) break;
      const text = buf.subarray(pos, nl).toString('utf8');
      pos = nl + 1;
      if (text === '') continue;
      lines.push({ text, time: lineTime(text, this.now()), after: { day: at.day, offset: at.offset + pos } });
    }
    const next = { day: at.day, offset: at.offset + pos };
    if (lines.length === 0) {
      const later = days.find((d) => d > at.day);
      const st = fs.statSync(this.file(at.day));
      if (later && next.offset >= st.size && this.now() - st.mtimeMs > SETTLE_MS) return { lines, cursor: { day: later, offset: 0 }, dropped, from: at };
    }
    return { lines, cursor: next, dropped, from: at };
  }
}

function lineTime(text: string, fallback: number): number {
  const m = /"time":"([^"]+)"/.exec(text);
  const t = m ? Date.parse(m[1] as string) : Number.NaN;
  return Number.isNaN(t) ? fallback : t;
}
